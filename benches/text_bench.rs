//! Text extraction's benchmark, driven by `scripts/bench-text.sh`: the reader the
//! extraction job runs (`attachments::text::extract`), on files made here, timed and
//! with the process's peak memory, one file per process so each peak is its own.
//!
//!   text_bench pdf PAGES     a PDF of PAGES pages of text (Helvetica, 45 lines each)
//!   text_bench docx PARAGRAPHS   a DOCX of PARAGRAPHS paragraphs, deflated as Word does
//!
//!   text_bench ocr PAGES WORKERS   OCR of a PDF of PAGES pages, as the page jobs read
//!                                  them (`attachments::ocr::read_page`: rendered to
//!                                  A4 at 300 dpi, read by Tesseract), WORKERS at once
//!
//! Prints the file's size, the pages and characters read, the time, pages and
//! characters a second, and the peak resident memory before and after reading (VmHWM);
//! for OCR, seconds a page, pages a minute and the mean confidence.

use std::io::Write;
use std::time::Instant;

use pactum::attachments::text::{extract, Extracted};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

const LINE: &str = "The supplier shall deliver the goods described in schedule 4 on time.";

fn pdf(pages: usize) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let mut next = 4;
    let mut kids = Vec::new();
    for page in 0..pages {
        let (page_id, content_id) = (Ref::new(next), Ref::new(next + 1));
        next += 2;
        kids.push(page_id);
        let mut content = Content::new();
        content.begin_text();
        content.set_font(Name(b"F1"), 10.0);
        content.next_line(56.0, 800.0);
        content.set_leading(16.0);
        for line in 0..45 {
            content.show(Str(format!("{} {LINE} {line}", page + 1).as_bytes()));
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
        let mut p = pdf.page(page_id);
        p.parent(tree)
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .contents(content_id);
        p.resources().fonts().pair(Name(b"F1"), font);
        p.finish();
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(kids.iter().copied())
        .count(kids.len() as i32);
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    pdf.finish()
}

fn docx(paragraphs: usize) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>",
    );
    for n in 0..paragraphs {
        xml.push_str(&format!("<w:p><w:r><w:t>{n} {LINE}</w:t></w:r></w:p>"));
    }
    xml.push_str("</w:body></w:document>");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The process's peak resident memory so far, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Reads every page of a `pages`-page PDF by OCR, `workers` pages at a time.
fn ocr(pages: usize, workers: usize) {
    use pactum::attachments::ocr::{read_page, PageRead};
    let dir = std::env::temp_dir().join(format!("pactum-ocr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = dir.join("scan.pdf");
    std::fs::write(&original, pdf(pages)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let results = runtime.block_on(async {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(workers));
        let mut tasks = tokio::task::JoinSet::new();
        for page in 1..=pages as i32 {
            let (slots, original, dir) = (slots.clone(), original.clone(), dir.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire().await.unwrap();
                let began = Instant::now();
                let read = read_page(&original, "application/pdf", page, &dir, &["eng".into()])
                    .await
                    .expect("the page is read");
                (began.elapsed().as_secs_f64(), read)
            });
        }
        tasks.join_all().await
    });
    let wall = started.elapsed().as_secs_f64();
    let mut confidence = 0.0;
    let mut characters = 0;
    for (_, read) in &results {
        match read {
            PageRead::Read {
                text,
                confidence: c,
            } => {
                confidence += f64::from(*c);
                characters += text.chars().count();
            }
            PageRead::Unreadable(reason) => panic!("a page was not read: {reason}"),
        }
    }
    let each: f64 = results.iter().map(|(s, _)| s).sum::<f64>() / pages as f64;
    println!(
        "ocr {pages} pages, {workers} workers: {wall:.1} s, {:.2} s a page of wall time \
         ({:.1} pages/min), {each:.2} s for each page's own work; {characters} characters, \
         mean confidence {:.1}",
        wall / pages as f64,
        pages as f64 * 60.0 / wall,
        confidence / pages as f64
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn main() {
    // `cargo bench` appends `--bench`; the script runs the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let count: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
    if args.get(1).map(String::as_str) == Some("ocr") {
        let workers = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
        ocr(count, workers);
        return;
    }
    let (kind, bytes) = match args.get(1).map(String::as_str) {
        Some("pdf") => ("application/pdf", pdf(count)),
        Some("docx") => (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx(count),
        ),
        _ => {
            eprintln!("usage: text_bench pdf PAGES | docx PARAGRAPHS | ocr PAGES WORKERS");
            std::process::exit(2);
        }
    };
    let before = peak_mib();
    let started = Instant::now();
    let extracted = extract(kind, &bytes);
    let seconds = started.elapsed().as_secs_f64();
    let Extracted::Pages { pages, truncated } = extracted else {
        eprintln!("not read: {extracted:?}");
        std::process::exit(1);
    };
    let characters: usize = pages.iter().map(|p| p.chars().count()).sum();
    println!(
        "{} {count}: {:.2} MB file, {} pages, {characters} characters{} read in {seconds:.3} s \
         ({:.0} pages/s, {:.1} M characters/s); peak memory {before:.0} MiB before, {:.0} MiB after",
        args[1],
        bytes.len() as f64 / 1e6,
        pages.len(),
        if truncated { " (the cap)" } else { "" },
        pages.len() as f64 / seconds,
        characters as f64 / 1e6 / seconds,
        peak_mib()
    );
}
