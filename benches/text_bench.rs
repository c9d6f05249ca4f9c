//! Text extraction's benchmark, driven by `scripts/bench-text.sh`: the reader the
//! extraction job runs (`attachments::text::extract`), on files made here, timed and
//! with the process's peak memory, one file per process so each peak is its own.
//!
//!   text_bench pdf PAGES     a PDF of PAGES pages of text (Helvetica, 45 lines each)
//!   text_bench docx PARAGRAPHS   a DOCX of PARAGRAPHS paragraphs, deflated as Word does
//!
//! Prints the file's size, the pages and characters read, the time, pages and
//! characters a second, and the peak resident memory before and after reading (VmHWM).

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

fn main() {
    // `cargo bench` appends `--bench`; the script runs the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let count: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
    let (kind, bytes) = match args.get(1).map(String::as_str) {
        Some("pdf") => ("application/pdf", pdf(count)),
        Some("docx") => (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx(count),
        ),
        _ => {
            eprintln!("usage: text_bench pdf PAGES | docx PARAGRAPHS");
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
