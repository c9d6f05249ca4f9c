//! The text of attached files, read by a job after the upload: plain text by pages,
//! HTML without its markup, a PDF's text layer, a DOCX's runs, an image through OCR
//! (a real Tesseract); a malformed file ends as `failed` with its reason, an old Word
//! file as `unsupported`; the text is found by the contract search and each outcome is
//! an event; existing contracts come in from files.

use std::io::Write;

use super::*;

/// The text's status once the extraction job (and OCR, for a scan) has run.
pub(super) async fn read_text(clm: &Clm, attachment: &str) -> Value {
    let path = format!("/api/v1/attachments/{attachment}/text");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, body) = clm.json(Method::GET, &path, &clm.viewer, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["state"] != "pending" && body["state"] != "recognizing" {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "never read: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub(super) async fn pages(clm: &Clm, attachment: &str) -> Vec<String> {
    walk(
        clm,
        &format!("/api/v1/attachments/{attachment}/text/pages"),
        1,
        "text",
    )
    .await
    .iter()
    .map(|text| text.as_str().unwrap().to_owned())
    .collect()
}

/// The first page of an attachment's text pages, as a viewer reads them: the text and
/// confidence of each.
pub(super) async fn first_pages(clm: &Clm, attachment: &str) -> Vec<Value> {
    let (code, pages) = clm
        .json(
            Method::GET,
            &format!("/api/v1/attachments/{attachment}/text/pages"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{pages}");
    pages["items"].as_array().unwrap().clone()
}

pub(super) async fn attach(
    clm: &Clm,
    contract: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> String {
    let response = upload(clm, HOST, &clm.member, contract, name, mime, bytes).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A minimal DOCX: the one part Word needs for its text, stored uncompressed.
fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t>{p}</w:t></w:r></w:p>"))
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The ids the contract search finds for `q`, sorted.
pub(super) async fn found(clm: &Clm, q: &str) -> Vec<String> {
    let mut ids = listed(clm, &format!("q={q}"), "id").await;
    ids.sort();
    ids
}

/// A contract whose body names `word`, and its PDF export.
pub(super) async fn contract_about(clm: &Clm, word: &str) -> (String, Vec<u8>) {
    let id = clm
        .create(
            &clm.member,
            json!({"title": format!("{word} licence"), "contract_type": "nda", "body": format!("The licensee feeds the {word} daily.")}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{id}/pdf"),
            &clm.member,
            None,
        )
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    (id, pdf)
}

#[tokio::test]
async fn attached_files_are_read_by_a_job_and_found_by_the_contract_search() {
    let clm = Clm::new().await;
    let holder = clm.create(&clm.member, nda("Supply agreement")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Plain text, two pages.
    let text = attach(
        &clm,
        &holder,
        "notes.txt",
        "text/plain",
        b"Renewal notes: quokka\x0cSecond page: wombat".to_vec(),
    )
    .await;
    let status = read_text(&clm, &text).await;
    assert_eq!(status["state"], "extracted", "{status}");
    assert_eq!(status["pages"], 2);
    assert_eq!(
        pages(&clm, &text).await,
        ["Renewal notes: quokka", "Second page: wombat"]
    );

    // HTML: the visible text, not the markup or the script.
    let html = attach(
        &clm,
        &holder,
        "terms.html",
        "text/html",
        b"<html><script>var hidden = 'numbat';</script><p>Fees &amp; platypus</p></html>".to_vec(),
    )
    .await;
    assert_eq!(read_text(&clm, &html).await["state"], "extracted");
    let html_text = pages(&clm, &html).await.join("");
    assert!(html_text.contains("Fees & platypus"), "{html_text}");
    assert!(!html_text.contains("numbat"), "{html_text}");

    // A PDF's text layer: the contract PDF of another contract, attached here.
    let (source, pdf) = contract_about(&clm, "axolotl").await;
    let pdf = attach(&clm, &holder, "licence.pdf", "application/pdf", pdf).await;
    let status = read_text(&clm, &pdf).await;
    assert_eq!(status["state"], "extracted", "{status}");
    assert!(
        pages(&clm, &pdf).await.join(" ").contains("axolotl"),
        "the PDF's text layer"
    );

    // A DOCX.
    let word = attach(
        &clm,
        &holder,
        "side letter.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        docx(&["Side letter", "The bilby clause &amp; more"]),
    )
    .await;
    assert_eq!(read_text(&clm, &word).await["state"], "extracted");
    assert_eq!(
        pages(&clm, &word).await,
        ["Side letter\nThe bilby clause & more\n"]
    );

    // What cannot be read says why; nothing else changes.
    let broken = attach(
        &clm,
        &holder,
        "broken.pdf",
        "application/pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".to_vec(),
    )
    .await;
    let status = read_text(&clm, &broken).await;
    assert_eq!(status["state"], "failed", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("PDF"),
        "{status}"
    );
    assert!(pages(&clm, &broken).await.is_empty());
    let old_word = attach(
        &clm,
        &holder,
        "old.doc",
        "application/msword",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old Word file".to_vec(),
    )
    .await;
    assert_eq!(read_text(&clm, &old_word).await["state"], "unsupported");

    // The contract search finds a contract by the text of its files, beside the
    // contracts whose own text matches.
    assert_eq!(found(&clm, "quokka").await, [holder.as_str()]);
    assert_eq!(found(&clm, "bilby").await, [holder.as_str()]);
    let mut both = [holder.clone(), source.clone()];
    both.sort();
    assert_eq!(found(&clm, "axolotl").await, both);
    assert!(
        found(&clm, "numbat").await.is_empty(),
        "scripts are not text"
    );

    // Each outcome is an event.
    let events = clm
        .app
        .settled_events(
            HOST,
            &clm.admin,
            "/api/v1/events?entity=attachment&limit=100",
            12,
        )
        .await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in [
        "attachment.text_extracted",
        "attachment.text_failed",
        "attachment.text_unsupported",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }

    // Deleting the file takes its text along.
    let (status, _) = clm
        .json(
            Method::DELETE,
            &format!("/api/v1/attachments/{text}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = clm
        .json(
            Method::GET,
            &format!("/api/v1/attachments/{text}/text"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(found(&clm, "quokka").await.is_empty());
}

/// `POST /api/v1/contracts/import?<query>` with `files` as `file` fields.
pub(super) async fn import(
    clm: &Clm,
    token: &str,
    query: &str,
    files: &[(&str, &str, Vec<u8>)],
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, mime, bytes) in files {
        let part = reqwest::multipart::Part::bytes(bytes.clone())
            .file_name((*name).to_owned())
            .mime_str(mime)
            .unwrap();
        form = form.part("file", part);
    }
    let response = clm
        .app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/contracts/import?{query}"),
        )
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The contract once its body has been filled from its file.
async fn filled(clm: &Clm, contract: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, body) = clm
            .json(
                Method::GET,
                &format!("/api/v1/contracts/{contract}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["body"].as_str().is_some_and(|b| !b.is_empty()) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "never filled: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn existing_contracts_come_in_from_files_as_drafts_filled_from_their_text() {
    let clm = Clm::new().await;
    let (status, globex) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.manager,
            Some(json!({"name": "Globex Corporation"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{globex}");
    let count = "select count(*) from t_acme.contracts";
    let before = clm.count(count).await;

    // A file that is not what it says refuses the whole form: nothing is made.
    let (status, body) = import(
        &clm,
        &clm.member,
        "contract_type=nda",
        &[
            ("supply.txt", "text/plain", b"Supply terms".to_vec()),
            (
                "fake.pdf",
                "application/pdf",
                b"MZ\x90\x00not a pdf".to_vec(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = import(
        &clm,
        &clm.member,
        "contract_type=no_such_type",
        &[("supply.txt", "text/plain", b"Supply terms".to_vec())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = import(
        &clm,
        &clm.viewer,
        "contract_type=nda",
        &[("supply.txt", "text/plain", b"Supply terms".to_vec())],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(clm.count(count).await, before, "nothing made by a refusal");

    // Two files, two drafts; bodies and counterparty come from the text.
    let (status, report) = import(
        &clm,
        &clm.member,
        "contract_type=nda",
        &[
            (
                "Supply agreement.txt",
                "text/plain",
                b"This agreement is between Acme and GLOBEX corporation.".to_vec(),
            ),
            (
                "services.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx(&[
                    "Master services agreement",
                    "Initech shall provide services.",
                ]),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{report}");
    assert_eq!(files[0]["filename"], "Supply agreement.txt");

    let supply = filled(&clm, files[0]["contract_id"].as_str().unwrap()).await;
    assert_eq!(supply["title"], "Supply agreement");
    assert_eq!(supply["status"], "draft");
    assert_eq!(
        supply["body"],
        "This agreement is between Acme and GLOBEX corporation."
    );
    assert_eq!(supply["counterparty_id"], globex["id"], "named in the text");
    assert_eq!(supply["tags"], json!(["imported"]));
    let services = filled(&clm, files[1]["contract_id"].as_str().unwrap()).await;
    assert_eq!(
        services["body"],
        "Master services agreement\nInitech shall provide services.\n"
    );
    assert!(services["counterparty_id"].is_null(), "no account named");
    // The file stays attached to its draft.
    let attachments = walk(
        &clm,
        &format!(
            "/api/v1/contracts/{}/attachments",
            supply["id"].as_str().unwrap()
        ),
        10,
        "id",
    )
    .await;
    assert_eq!(attachments, [files[0]["attachment_id"].clone()]);
}

/// A grey PNG of `side` by `side` white pixels: a small file that decodes to
/// `side * side` bytes.
fn png_bomb(side: u32) -> Vec<u8> {
    fn chunk(png: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut row = vec![0xffu8; side as usize + 1];
    row[0] = 0; // no filter
    let mut pixels = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..side {
        pixels.write_all(&row).unwrap();
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &pixels.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Installs Tesseract and poppler's tools if they are missing (`scripts/ocr.sh`).
pub(super) fn ocr_tools() {
    let tools = std::process::Command::new("bash")
        .arg(crate::support::workspace_root().join("scripts/ocr.sh"))
        .output()
        .expect("scripts/ocr.sh runs");
    assert!(
        tools.status.success(),
        "{}",
        String::from_utf8_lossy(&tools.stderr)
    );
}

/// A page of a PDF as a PNG at 150 dpi, as a scanner would make it (poppler's
/// `pdftoppm`, installed with Tesseract by `scripts/ocr.sh`).
pub(super) fn scanned(pdf: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("pactum-scan-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.pdf"), pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(dir.join("in.pdf"))
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm runs");
    assert!(status.success());
    let png = std::fs::read(dir.join("page.png")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    png
}

#[tokio::test]
async fn an_image_is_read_by_ocr_with_its_confidence_and_found_by_the_search() {
    ocr_tools();
    let clm = Clm::new().await;
    let holder = clm.create(&clm.member, nda("Scanned agreement")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (source, pdf) = contract_about(&clm, "pangolin").await;
    let scan = attach(&clm, &holder, "scan.png", "image/png", scanned(&pdf)).await;
    let status = read_text(&clm, &scan).await;
    assert_eq!(status["state"], "extracted", "{status}");
    assert_eq!(status["method"], "ocr");
    let pages = first_pages(&clm, &scan).await;
    let page = &pages[0];
    assert!(
        page["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("pangolin"),
        "{page}"
    );
    assert!(page["confidence"].as_f64().unwrap() > 50.0, "{page}");
    let mut both = [holder.clone(), source.clone()];
    both.sort();
    assert_eq!(
        found(&clm, "pangolin").await,
        both,
        "the scan's words find its contract"
    );

    // An image that is not one fails with the recogniser's reason.
    let broken = attach(
        &clm,
        &holder,
        "broken.png",
        "image/png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
    )
    .await;
    let status = read_text(&clm, &broken).await;
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["method"], "ocr");
    assert_eq!(status["searchable_pdf"], false);
    assert!(
        status["error"].as_str().unwrap().contains("cannot be read"),
        "{status}"
    );

    // A decompression bomb: 0.4 MB of PNG that is 400 MB of pixels, which Tesseract
    // unbounded reads in 1.5 GB. Bounded in memory, it fails on it instead.
    let bomb = attach(&clm, &holder, "bomb.png", "image/png", png_bomb(20_000)).await;
    let status = read_text(&clm, &bomb).await;
    assert_eq!(status["state"], "failed", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("too large"),
        "{status}"
    );
}

/// A ZIP archive with `parts` (name, content), deflated.
fn archive(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, content) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn office_files_that_are_decompression_bombs_or_escape_their_root_are_refused() {
    let clm = Clm::new().await;
    let holder = clm.create(&clm.member, nda("Supply agreement")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let before = clm.count("select count(*) from t_acme.attachments").await;
    for (name, bytes, why) in [
        (
            "bomb.docx",
            archive(&[("word/document.xml", vec![b'0'; 64 * 1024 * 1024])]),
            "hundreds of times",
        ),
        (
            "escape.docx",
            archive(&[("../../evil.xml", b"<x/>".to_vec())]),
            "outside the archive",
        ),
    ] {
        let response = upload(&clm, HOST, &clm.member, &holder, name, docx_type, bytes).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unsafe_archive", "{name}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{name}: {body}"
        );
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.attachments").await,
        before,
        "nothing stored"
    );
    let folders: Vec<_> = std::fs::read_dir(&clm.app.upload_dir)
        .map(|dir| dir.flatten().collect())
        .unwrap_or_default();
    for folder in folders {
        let left = std::fs::read_dir(folder.path()).unwrap().count();
        assert_eq!(left, 0, "no partial upload left behind");
    }
}
