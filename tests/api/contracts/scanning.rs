//! Scanned PDFs through a real Tesseract: the pages without text of their own are read
//! by OCR page by page (the tenant's languages), progress and confidence show through
//! the API, the words are found by the contract search, a searchable PDF is kept
//! beside the original and goes with it, and the uploader is told when it is done.

use std::io::Write;

use super::reading::{attach, contract_about, first_pages, found, ocr_tools, read_text};
use super::*;

/// An image-only PDF of `pdf`'s pages, as a scanner makes one: each page rendered to
/// grey pixels at 150 dpi (poppler's `pdftoppm`) and embedded as the page's one image,
/// with no text anywhere in the file.
pub(super) fn image_only(pdf: &[u8]) -> Vec<u8> {
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
    let dir = std::env::temp_dir().join(format!("pactum-scan-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.pdf"), pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray"])
        .arg(dir.join("in.pdf"))
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm runs");
    assert!(status.success());
    let mut rendered: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    rendered.sort();
    let mut out = Pdf::new();
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    out.catalog(catalog).pages(tree);
    let ids: Vec<Ref> = (0..rendered.len())
        .map(|i| Ref::new(3 + 3 * i as i32))
        .collect();
    out.pages(tree)
        .kids(ids.iter().copied())
        .count(ids.len() as i32);
    for (path, page_id) in rendered.iter().zip(&ids) {
        // PGM (P5): "P5\nW H\n255\n" then one byte a pixel.
        let pgm = std::fs::read(path).unwrap();
        let header: Vec<&[u8]> = pgm.splitn(4, |b| b.is_ascii_whitespace()).collect();
        let width: i32 = std::str::from_utf8(header[1]).unwrap().parse().unwrap();
        let height: i32 = std::str::from_utf8(header[2]).unwrap().parse().unwrap();
        let pixels = &pgm[pgm.len() - (width * height) as usize..];
        let mut deflated = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
        deflated.write_all(pixels).unwrap();
        let deflated = deflated.finish().unwrap();
        let (image_id, content_id) = (Ref::new(page_id.get() + 1), Ref::new(page_id.get() + 2));
        let (w, h) = (width as f32 * 72.0 / 150.0, height as f32 * 72.0 / 150.0);
        let mut page = out.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, w, h))
            .parent(tree)
            .contents(content_id);
        page.resources().x_objects().pair(Name(b"Scan"), image_id);
        page.finish();
        let mut image = out.image_xobject(image_id, &deflated);
        image.filter(Filter::FlateDecode);
        image.width(width).height(height).bits_per_component(8);
        image.color_space().device_gray();
        image.finish();
        let mut content = Content::new();
        content.save_state();
        content.transform([w, 0.0, 0.0, h, 0.0, 0.0]);
        content.x_object(Name(b"Scan"));
        content.restore_state();
        out.stream(content_id, &content.finish());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    out.finish()
}

/// The searchable PDF of `attachment`, as a viewer downloads it.
pub(super) async fn searchable_pdf(clm: &Clm, attachment: &str) -> reqwest::Response {
    let path = format!("/api/v1/attachments/{attachment}/searchable-pdf");
    clm.send(Method::GET, &path, &clm.viewer, None).await
}

/// The PDFs given, one after another (poppler's `pdfunite`).
fn joined(parts: &[&[u8]]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("pactum-join-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = std::process::Command::new("pdfunite");
    for (i, part) in parts.iter().enumerate() {
        let path = dir.join(format!("{i}.pdf"));
        std::fs::write(&path, part).unwrap();
        command.arg(path);
    }
    assert!(command.arg(dir.join("out.pdf")).status().unwrap().success());
    let joined = std::fs::read(dir.join("out.pdf")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    joined
}

/// The text layer of a PDF, as any reader extracts it.
fn text_layer(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf)
        .unwrap()
        .to_lowercase()
}

#[tokio::test]
async fn a_scanned_pdf_is_read_by_ocr_page_by_page_and_kept_as_a_searchable_pdf() {
    ocr_tools();
    let clm = Clm::new().await;

    // Languages are the tenant's, checked against what Tesseract has installed.
    let settings = "/api/v1/document-settings";
    let (status, current) = clm.json(Method::GET, settings, &clm.viewer, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["ocr_languages"], json!(["eng"]));
    for (body, why) in [
        (json!({"ocr_languages": ["qqq"]}), "not installed"),
        (json!({"ocr_languages": ["eng", "eng"]}), "twice"),
        (json!({"ocr_languages": []}), "none"),
        (json!({"ocr_languages": ["../eng"]}), "not a name"),
        (
            json!({"ocr_languages": ["eng"], "max_files": -1}),
            "negative",
        ),
    ] {
        let (status, error) = clm
            .json(Method::PUT, settings, &clm.admin, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {error}");
        assert_eq!(error["error"], "invalid_input", "{why}");
    }
    let two = json!({"ocr_languages": ["eng", "deu"]});
    assert_eq!(
        clm.status(Method::PUT, settings, &clm.manager, Some(two.clone()))
            .await,
        StatusCode::FORBIDDEN,
        "admins set them"
    );
    let (status, _) = clm.json(Method::PUT, settings, &clm.admin, Some(two)).await;
    assert_eq!(status, StatusCode::OK);

    // Page 1 has its own text, page 2 is a scan.
    let holder = clm.create(&clm.member, nda("Scanned lease")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, typed) = contract_about(&clm, "wombat").await;
    let (_, paper) = contract_about(&clm, "pangolin").await;
    let mixed = joined(&[&typed, &image_only(&paper)]);
    assert!(
        !text_layer(&mixed).contains("pangolin"),
        "the scan has no text"
    );
    let scan = attach(&clm, &holder, "lease.pdf", "application/pdf", mixed).await;

    let status = read_text(&clm, &scan).await;
    assert_eq!(status["state"], "extracted", "{status}");
    assert_eq!(status["method"], "ocr");
    assert_eq!(status["pages"], 2);
    assert_eq!(
        status["ocr_pages_total"], 1,
        "only the scanned page is OCRed"
    );
    assert_eq!(status["ocr_pages_done"], 1);
    assert_eq!(status["ocr_languages"], json!(["eng", "deu"]));
    assert_eq!(status["searchable_pdf"], true);
    let pages = first_pages(&clm, &scan).await;
    assert!(pages[0]["text"].as_str().unwrap().contains("wombat"));
    assert!(pages[0]["confidence"].is_null(), "its own text");
    assert!(
        pages[1]["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("pangolin"),
        "{}",
        pages[1]
    );
    assert!(pages[1]["confidence"].as_f64().unwrap() > 50.0);
    assert!(found(&clm, "pangolin").await.contains(&holder));

    // The searchable PDF has both pages' words in its text layer.
    let response = searchable_pdf(&clm, &scan).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("lease.searchable.pdf"));
    let searchable = response.bytes().await.unwrap();
    let layer = text_layer(&searchable);
    assert!(
        layer.contains("wombat") && layer.contains("pangolin"),
        "{layer}"
    );

    // The uploader is told (by the notifier's job, once the text is stored).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let told = loop {
        let (_, inbox) = clm
            .json(Method::GET, "/api/v1/notifications", &clm.member, None)
            .await;
        let told: Vec<Value> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "ocr_finished")
            .cloned()
            .collect();
        if !told.is_empty() || std::time::Instant::now() > deadline {
            break told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["entity_id"], json!(scan));

    // A file with its own text has no searchable PDF.
    let plain = attach(&clm, &holder, "typed.pdf", "application/pdf", typed).await;
    assert_eq!(read_text(&clm, &plain).await["method"], "text");
    let (status, error) = clm
        .json(
            Method::GET,
            &format!("/api/v1/attachments/{plain}/searchable-pdf"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");

    // Deleting the file takes its searchable PDF with it.
    let tenant = clm.tenant_id().await;
    let folder = clm.app.upload_dir.join(tenant.to_string());
    let kept = folder.join(format!("{scan}.searchable.pdf"));
    assert!(kept.exists());
    assert_eq!(
        clm.status(
            Method::DELETE,
            &format!("/api/v1/attachments/{scan}"),
            &clm.member,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert!(!kept.exists());
    assert!(!folder.join(format!("{scan}.ocr")).exists());
}

#[tokio::test]
async fn a_page_that_keeps_failing_ends_unreadable_on_its_last_attempt_not_pending() {
    ocr_tools();
    // No workers here: the text job waits until the folder OCR works in is blocked.
    let clm = Clm::with_env(&[("PACTUM_JOB_WORKERS", "0")]).await;
    let contract = clm.create(&clm.member, nda("Stubborn scan")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sample = std::fs::read(
        crate::support::workspace_root().join("docs/samples/scanned-supply-agreement.pdf"),
    )
    .unwrap();
    let scan = attach(&clm, &contract, "scan.pdf", "application/pdf", sample).await;
    // A file where OCR's work folder would go: every attempt at the page fails.
    let scratch = clm.app.upload_dir.join(clm.tenant_id().await.to_string());
    std::fs::write(scratch.join(format!("{scan}.ocr")), b"in the way").unwrap();
    let upload_dir = clm.app.upload_dir.display().to_string();
    let _worker = spawn_app(&clm.db, &[("PACTUM_UPLOAD_DIR", upload_dir.as_str())]).await;

    let status = read_text(&clm, &scan).await;
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["ocr_pages_done"], 1, "the page is settled");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{status}"
    );
    let attempts: i32 = clm
        .db
        .client()
        .await
        .query_one(
            "select attempt from public.jobs where kind = 'attachments.recognize_page'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 3, "every attempt was spent first");
}
