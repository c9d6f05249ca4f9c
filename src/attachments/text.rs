//! Reading the text out of a file, page by page: PDF (its text layer), DOCX, HTML and
//! plain text. Pure and blocking: the extraction job runs it on a blocking thread, with
//! the whole file in memory (uploads are bounded by `PACTUM_MAX_UPLOAD_BYTES`) and the
//! decompressed parts of a DOCX bounded here, so a zip bomb stops at the bound. Images
//! and the older Office formats have no text to read without OCR: `Unsupported`.

use std::io::Read;

/// The most text kept from one file; what follows is dropped and said so.
pub const MAX_TEXT_CHARS: usize = 5_000_000;
/// The most pages kept from one file.
pub const MAX_PAGES: usize = 5_000;
/// The most bytes a DOCX's main part may decompress to.
const MAX_DOCX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// What reading a file came to.
#[derive(Debug, PartialEq)]
pub enum Extracted {
    /// The text of each page (one page for formats without pages), without NUL
    /// characters; `truncated` when the file held more than is kept.
    Pages { pages: Vec<String>, truncated: bool },
    /// A kind of file whose text cannot be read yet.
    Unsupported,
    /// The file cannot be read (malformed, encrypted, too large once decompressed).
    Failed(String),
}

/// The pages (numbered from 1) with no text of their own: not one letter or digit, as
/// a scanned page is. OCR reads them.
pub fn blank_pages(pages: &[String]) -> Vec<i32> {
    (1..)
        .zip(pages)
        .filter(|(_, text)| !text.chars().any(char::is_alphanumeric))
        .map(|(number, _)| number)
        .collect()
}

/// Whether a file of `content_type` is read by OCR rather than for its own text.
pub fn needs_ocr(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/tiff")
}

/// The text and mean word confidence (0-100) of Tesseract's TSV output: its words
/// (level 5) in order, a space between the words of a line and a newline between lines.
pub fn recognized(tsv: &str) -> (String, f32) {
    let mut text = String::new();
    let mut line = None;
    let (mut sum, mut words) = (0.0f64, 0u32);
    for row in tsv.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns.len() < 12 || columns[0] != "5" {
            continue;
        }
        let word = columns[11].trim();
        if word.is_empty() {
            continue;
        }
        let this_line = (columns[2], columns[3], columns[4]);
        match line {
            Some(previous) if previous == this_line => text.push(' '),
            Some(_) => text.push('\n'),
            None => {}
        }
        line = Some(this_line);
        text.push_str(word);
        if let Ok(confidence) = columns[10].parse::<f64>() {
            if confidence >= 0.0 {
                sum += confidence;
                words += 1;
            }
        }
    }
    let text: String = text
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT_CHARS)
        .collect();
    let confidence = if words == 0 {
        0.0
    } else {
        (sum / f64::from(words)) as f32
    };
    (text, confidence)
}

/// The text of `bytes`, read as `content_type`.
pub fn extract(content_type: &str, bytes: &[u8]) -> Extracted {
    let pages = match content_type {
        "text/plain" => Ok(plain(bytes)),
        "text/html" => Ok(vec![html(&String::from_utf8_lossy(bytes))]),
        "application/pdf" => pdf(bytes),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            docx(bytes).map(|text| vec![text])
        }
        _ => return Extracted::Unsupported,
    };
    match pages {
        Ok(pages) => bounded(pages),
        Err(reason) => Extracted::Failed(reason),
    }
}

/// Pages as kept: NUL characters (which PostgreSQL text cannot hold) removed, at most
/// [`MAX_PAGES`] pages and [`MAX_TEXT_CHARS`] characters.
fn bounded(pages: Vec<String>) -> Extracted {
    let mut kept = Vec::with_capacity(pages.len().min(MAX_PAGES));
    let mut budget = MAX_TEXT_CHARS;
    let mut truncated = pages.len() > MAX_PAGES;
    for page in pages.into_iter().take(MAX_PAGES) {
        let page: String = page.chars().filter(|c| *c != '\0').collect();
        let count = page.chars().count();
        if count > budget {
            kept.push(page.chars().take(budget).collect());
            truncated = true;
            break;
        }
        budget -= count;
        kept.push(page);
    }
    Extracted::Pages {
        pages: kept,
        truncated,
    }
}

/// Plain text: pages split at form feeds, as `pdftotext` and printers write them.
fn plain(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\u{c}')
        .map(str::to_owned)
        .collect()
}

fn pdf(bytes: &[u8]) -> Result<Vec<String>, String> {
    // The PDF reader panics on some malformed files rather than returning an error;
    // a panic here is a file that cannot be read, not a dead worker.
    let read = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
    match read {
        Ok(Ok(pages)) => Ok(pages),
        Ok(Err(error)) => Err(format!("the PDF cannot be read: {error}")),
        Err(_) => Err("the PDF cannot be read: it is malformed".into()),
    }
}

/// A DOCX's body text: the `w:t` runs of `word/document.xml`, a line per paragraph,
/// tabs and breaks kept.
fn docx(bytes: &[u8]) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the DOCX is not a readable ZIP archive: {e}"))?;
    let part = archive
        .by_name("word/document.xml")
        .map_err(|_| "the DOCX has no word/document.xml".to_owned())?;
    let mut xml = Vec::new();
    part.take(MAX_DOCX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| format!("the DOCX cannot be decompressed: {e}"))?;
    if xml.len() as u64 > MAX_DOCX_XML_BYTES {
        return Err(format!(
            "the DOCX's text part decompresses to more than {} MiB",
            MAX_DOCX_XML_BYTES / 1024 / 1024
        ));
    }
    Ok(wordprocessing_text(&String::from_utf8_lossy(&xml)))
}

/// The text of WordprocessingML: what sits inside `<w:t>` elements, with a newline
/// at each paragraph's end and a tab or newline for `<w:tab/>` and `<w:br/>`.
fn wordprocessing_text(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    let mut in_text = false;
    while let Some(open) = rest.find('<') {
        if in_text {
            out.push_str(&unescape(&rest[..open]));
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        match (name, tag.starts_with('/'), tag.ends_with('/')) {
            ("w:t", false, false) => in_text = true,
            ("w:t", true, _) => in_text = false,
            ("w:p", true, _) => out.push('\n'),
            ("w:tab", _, _) => out.push('\t'),
            ("w:br" | "w:cr", _, _) => out.push('\n'),
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// HTML's visible text: tags dropped, `script` and `style` with their content, a
/// newline at each block's end and each `<br>`, entities decoded.
fn html(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    let mut skipping: Option<&str> = None;
    loop {
        // A script or style is raw text up to its own end tag, `<` and all.
        if let Some(skipped) = skipping.take() {
            let lower = rest.to_ascii_lowercase();
            let Some(end) = lower.find(&format!("</{skipped}")) else {
                return out;
            };
            let Some(close) = rest[end..].find('>') else {
                return out;
            };
            rest = &rest[end + close + 1..];
            continue;
        }
        let Some(open) = rest.find('<') else {
            break;
        };
        out.push_str(&unescape(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !closing && (name == "script" || name == "style") {
            skipping = Some(if name == "script" { "script" } else { "style" });
        } else if name == "br"
            || (closing
                && matches!(
                    name.as_str(),
                    "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                ))
        {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&unescape(rest));
    out
}

/// XML and HTML character references: the five named ones, `&nbsp;` and numeric ones.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|n| n.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(extracted: Extracted) -> Vec<String> {
        match extracted {
            Extracted::Pages { pages, .. } => pages,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_text_splits_at_form_feeds_and_loses_nul() {
        assert_eq!(
            pages(extract("text/plain", b"one\x00\x0ctwo")),
            ["one", "two"]
        );
    }

    #[test]
    fn html_keeps_visible_text_only() {
        let text = html(
            "<html><head><style>p{}</style><script>alert('x<y')</script></head>\
             <body><h1>Master&nbsp;Agreement</h1><p>Fees &amp; terms</p>&#169; 2026</body>",
        );
        assert_eq!(text, "Master\u{a0}Agreement\nFees & terms\n© 2026");
        assert!(!text.contains("alert"));
    }

    #[test]
    fn wordprocessing_runs_become_lines() {
        let xml = r#"<w:document><w:body><w:p><w:r><w:t>Supply</w:t></w:r><w:r><w:t xml:space="preserve"> agreement</w:t></w:r></w:p><w:p><w:r><w:t>A</w:t><w:tab/><w:t>B &lt;C&gt;</w:t></w:r></w:p></w:body></w:document>"#;
        assert_eq!(wordprocessing_text(xml), "Supply agreement\nA\tB <C>\n");
    }

    #[test]
    fn a_docx_that_is_not_a_zip_fails_with_a_reason() {
        let kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        match extract(kind, b"PK\x03\x04 not really") {
            Extracted::Failed(reason) => assert!(reason.contains("ZIP"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_malformed_pdf_fails_and_images_are_unsupported() {
        assert!(matches!(
            extract("application/pdf", b"%PDF-1.7\n garbage"),
            Extracted::Failed(_)
        ));
        assert_eq!(
            extract("image/png", b"\x89PNG\r\n\x1a\n"),
            Extracted::Unsupported
        );
    }

    #[test]
    fn long_text_is_cut_and_said_to_be() {
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        match extract("text/plain", long.as_bytes()) {
            Extracted::Pages { pages, truncated } => {
                assert!(truncated);
                assert_eq!(pages[0].len(), MAX_TEXT_CHARS);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tesseract_words_become_lines_with_their_mean_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   4\t1\t1\t1\t1\t0\t0\t0\t1\t1\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tThe\n\
                   5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\taxolotl\n\
                   5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tdaily.\n";
        assert_eq!(recognized(tsv), ("The axolotl\ndaily.".into(), 80.0));
    }

    #[test]
    fn pages_without_a_letter_or_digit_are_the_ones_ocr_reads() {
        let pages: Vec<String> = ["Terms", "", " \n\u{c} ", "- 3 -", "...", "Ünterschrift"]
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(blank_pages(&pages), vec![2, 3, 5]);
    }

    #[test]
    fn character_references_decode_and_stray_ampersands_stay() {
        assert_eq!(
            unescape("a &amp; b &#x41;&#66; &bogus; & c"),
            "a & b AB &bogus; & c"
        );
    }
}
