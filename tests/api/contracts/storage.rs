//! Attachments kept in an S3-compatible bucket, through a real server (`s3s-fs`, which
//! checks signatures): uploads go up under the tenant's prefix and never stay on local
//! disk, downloads stream back and are broken off when the object was changed, text
//! and OCR read from the bucket and OCR's searchable PDF goes there too, presigned
//! links work without credentials, and deletes leave no object behind.

use super::reading::{attach, ocr_tools, read_text};
use super::scanning::searchable_pdf;
use super::*;

#[tokio::test]
async fn attachments_live_in_the_bucket_under_their_tenant_and_leave_nothing_behind() {
    // It reads a scan with OCR below: the tools are installed first, not left to
    // whichever other test happens to install them sooner.
    ocr_tools();
    let s3 = crate::s3::S3Server::start();
    let settings = s3.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let clm = Clm::with_env(&env).await;
    let tenant = clm.tenant_id().await;
    let contract = clm.create(&clm.member, nda("Bucketed")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let bytes = b"Terms kept in the bucket.".to_vec();
    let id = attach(&clm, &contract, "terms.txt", "text/plain", bytes.clone()).await;
    let object = s3.object(tenant, &id);
    assert_eq!(
        std::fs::read(&object).unwrap(),
        bytes,
        "the object is the file"
    );
    let scratch = clm.app.upload_dir.join(tenant.to_string());
    assert!(
        !scratch.join(&id).exists(),
        "nothing of it stays on local disk"
    );

    // Read back through the API, its text read from the bucket by the job.
    let download = format!("/api/v1/attachments/{id}");
    let response = clm.send(Method::GET, &download, &clm.viewer, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    let status = read_text(&clm, &id).await;
    assert_eq!(status["state"], "extracted", "{status}");

    // A presigned link downloads it without credentials.
    let (status, link) = clm
        .json(
            Method::GET,
            &format!("{download}/link?expires_in=120"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.contains(&format!("tenants/{tenant}/{id}")), "{url}");
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
    let forged = url.replace(&id, &uuid::Uuid::new_v4().to_string());
    assert_ne!(
        reqwest::get(&forged).await.unwrap().status(),
        StatusCode::OK,
        "the signature covers the key"
    );
    assert_eq!(
        clm.status(
            Method::GET,
            &format!("{download}/link?expires_in=5"),
            &clm.viewer,
            None
        )
        .await,
        StatusCode::BAD_REQUEST
    );

    // A changed object is never served whole.
    std::fs::write(&object, b"Terms changed in the bucket.").unwrap();
    let sent = clm
        .app
        .request(Method::GET, HOST, &download)
        .bearer_auth(&clm.viewer)
        .send()
        .await;
    let broken = match sent {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(
        broken,
        "the download is broken off when the hash does not match"
    );

    // A scan goes through OCR from the bucket, and its searchable PDF goes there.
    let sample = std::fs::read(
        crate::support::workspace_root().join("docs/samples/scanned-supply-agreement.pdf"),
    )
    .unwrap();
    let scan = attach(&clm, &contract, "scan.pdf", "application/pdf", sample).await;
    let status = read_text(&clm, &scan).await;
    assert_eq!(status["state"], "extracted", "{status}");
    assert_eq!(status["searchable_pdf"], true);
    assert!(s3
        .object(tenant, &format!("{scan}.searchable.pdf"))
        .exists());
    let response = searchable_pdf(&clm, &scan).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().starts_with(b"%PDF"));

    // Deletes take the objects with them.
    for file in [&id, &scan] {
        assert_eq!(
            clm.status(
                Method::DELETE,
                &format!("/api/v1/attachments/{file}"),
                &clm.member,
                None
            )
            .await,
            StatusCode::NO_CONTENT
        );
    }
    assert!(!object.exists());
    assert!(!s3.object(tenant, &scan).exists());
    assert!(!s3
        .object(tenant, &format!("{scan}.searchable.pdf"))
        .exists());
}

#[tokio::test]
async fn files_on_the_servers_disk_have_no_presigned_links() {
    let clm = Clm::new().await;
    let contract = clm.create(&clm.member, nda("On disk")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = attach(&clm, &contract, "a.txt", "text/plain", b"Terms.".to_vec()).await;
    let (status, error) = clm
        .json(
            Method::GET,
            &format!("/api/v1/attachments/{id}/link"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("links_unavailable"))
    );
}

/// A server killed while receiving an upload (or a worker while writing a searchable
/// PDF) leaves that file in progress in the tenant's scratch folder, where no record
/// names it and nothing else would ever remove it. The next server to start on the
/// folder removes what nothing has written for a day; a live process's work in
/// progress and the stored files stay.
#[tokio::test]
async fn a_starting_server_removes_what_a_killed_process_left_in_progress() {
    use std::time::{Duration, SystemTime};

    let clm = Clm::new().await;
    let contract = clm.create(&clm.member, nda("Swept")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = attach(&clm, &contract, "a.txt", "text/plain", b"Terms.".to_vec()).await;
    let folder = clm.app.upload_dir.clone();
    let scratch = folder.join(clm.tenant_id().await.to_string());
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    let written_at = |path: &std::path::Path, when: SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    };
    let left = |name: String, when: SystemTime| {
        let path = scratch.join(name);
        std::fs::write(&path, b"half a file").unwrap();
        written_at(&path, when);
        path
    };
    let killed_upload = left(format!(".upload-{}", uuid::Uuid::new_v4()), two_days_ago);
    let killed_pdf = left(
        format!("{}.searchable.pdf.part", uuid::Uuid::new_v4()),
        two_days_ago,
    );
    let receiving = left(
        format!(".upload-{}", uuid::Uuid::new_v4()),
        SystemTime::now(),
    );
    let stored = scratch.join(&id);
    written_at(&stored, two_days_ago);

    let folder_text = folder.display().to_string();
    let restarted = crate::app::spawn_app(&clm.db, &[("PACTUM_UPLOAD_DIR", &folder_text)]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while killed_upload.exists() || killed_pdf.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "left in progress after the restart: {:?}",
            std::fs::read_dir(&scratch)
                .unwrap()
                .flatten()
                .map(|f| f.file_name())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        receiving.exists(),
        "another process's upload in progress stays"
    );
    let download = restarted
        .call(
            Method::GET,
            HOST,
            &format!("/api/v1/attachments/{id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"Terms.");
}
