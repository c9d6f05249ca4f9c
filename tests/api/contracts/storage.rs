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

/// Reservations for uploads not yet recorded: the removals enqueued before they went
/// into the store.
const UNRECORDED: &str = "select count(*) from public.jobs \
     where kind = 'attachments.remove_files' and state = 'scheduled' \
       and unique_key like 'unrecorded:%'";

/// A bucket that stops answering holds up the uploads waiting on it and nothing else:
/// no pooled connection and no lock is held while a file goes up. With more uploads
/// hanging than the pool has connections, the same tenant's reads, the settings the
/// quota locks, and another tenant are answered while the bucket is still frozen;
/// once it answers again every upload is recorded, once.
#[tokio::test]
async fn a_bucket_that_hangs_holds_no_connection_and_no_lock_while_files_go_up() {
    use std::time::Duration;

    let s3 = crate::s3::S3Server::start();
    let mut settings = s3.settings();
    settings.push(("PACTUM_DB_POOL_SIZE", "2".into()));
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let clm = Clm::with_env(&env).await;
    tenant_with_admin(&clm.db, "globex", PASSWORD).await;
    let globex = clm
        .app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    let tenant = clm.tenant_id().await;
    let contract = clm.create(&clm.member, nda("Hung")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = 4;

    s3.freeze();
    let names: Vec<String> = (0..files).map(|i| format!("hung-{i}.txt")).collect();
    let uploads = futures::future::join_all(names.iter().map(|name| {
        let bytes = format!("{name}, kept in a bucket that hung.").into_bytes();
        super::upload(
            &clm,
            HOST,
            &clm.member,
            &contract,
            name,
            "text/plain",
            bytes,
        )
    }));
    let meanwhile = async {
        // An upload is going up, and the others are on their way.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while s3.connections() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the uploads never reached the bucket"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Well inside the bucket client's 30-second request timeout: each of these is
        // answered while the uploads still hang.
        let answered = |what: &'static str, call: reqwest::Response| {
            assert_eq!(
                call.status(),
                StatusCode::OK,
                "{what} while the bucket hangs"
            );
        };
        let within = Duration::from_secs(20);
        let list = clm.send(Method::GET, "/api/v1/contracts", &clm.viewer, None);
        answered(
            "the tenant's contracts",
            tokio::time::timeout(within, list).await.expect("answered"),
        );
        let (status, current) = clm
            .json(Method::GET, "/api/v1/document-settings", &clm.admin, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{current}");
        let put = clm.send(
            Method::PUT,
            "/api/v1/document-settings",
            &clm.admin,
            Some(current),
        );
        answered(
            "the tenant's document settings, which the quota locks",
            tokio::time::timeout(within, put).await.expect("answered"),
        );
        let other = clm.app.call(
            Method::GET,
            "globex.localhost",
            "/api/v1/auth/me",
            &globex,
            None,
        );
        answered(
            "another tenant",
            tokio::time::timeout(within, other).await.expect("answered"),
        );
        assert_eq!(
            clm.count("select count(*) from t_acme.attachments").await,
            0,
            "nothing is recorded before its bytes are stored"
        );
        s3.thaw();
    };
    let (uploaded, ()) = tokio::join!(uploads, meanwhile);
    for response in uploaded {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap();
        assert!(s3.object(tenant, id).exists(), "{id} is in the bucket");
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.attachments").await,
        files
    );
    assert_eq!(clm.count(UNRECORDED).await, 0, "every reservation claimed");
}

/// A server killed after an upload went into the store and before its record
/// committed leaves a file that no record names: the removal it enqueued before the
/// upload went up takes it away once its hour has passed, and a recorded file stays.
#[tokio::test]
async fn a_file_stored_by_a_server_killed_before_recording_it_is_removed_an_hour_on() {
    use std::time::Duration;

    pactum::webhooks::delivery::install_tls_provider();
    let db = crate::support::TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let folder = std::env::temp_dir().join(format!("pactum-test-uploads-{}", uuid::Uuid::new_v4()));
    let port = crate::support::free_port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
        .env("PACTUM_BIND", format!("127.0.0.1:{port}"))
        .env("PACTUM_PUBLIC_HOST", "localhost")
        .env("PACTUM_UPLOAD_DIR", &folder)
        .env("PACTUM_JOB_WORKERS", "0")
        .env("PACTUM_METRICS_BIND", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the pactum binary starts");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let host = format!("{HOST}:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while http
        .get(url("/healthz"))
        .header("host", "localhost")
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "the server started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: &str, token: &str, body: Value| {
        let sent = http
            .post(url(path))
            .header("host", &host)
            .bearer_auth(token)
            .json(&body)
            .send();
        async move { sent.await.unwrap().json::<Value>().await.unwrap() }
    };
    let credentials = json!({"email": "admin@example.com", "password": PASSWORD});
    let login = post("/api/v1/auth/login", "", credentials).await;
    let token = login["access_token"]
        .as_str()
        .expect("logged in")
        .to_owned();
    let contract = post("/api/v1/contracts", &token, nda("Killed mid-upload")).await;
    let attach = |name: &'static str| {
        let part = reqwest::multipart::Part::bytes(format!("The file {name}.").into_bytes())
            .file_name(name)
            .mime_str("text/plain")
            .unwrap();
        http.post(url(&format!(
            "/api/v1/contracts/{}/attachments",
            contract["id"].as_str().unwrap()
        )))
        .header("host", &host)
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
    };
    let recorded: Value = attach("recorded.txt").await.unwrap().json().await.unwrap();
    let recorded = recorded["id"].as_str().expect("recorded").to_owned();
    let tenant: uuid::Uuid = db
        .client()
        .await
        .query_one("select id from public.tenants where slug = 'acme'", &[])
        .await
        .unwrap()
        .get(0);
    let scratch = folder.join(tenant.to_string());

    // The record's insert waits behind a lock the test holds, after the file is stored.
    let mut holder = db.client().await;
    let lock = holder.transaction().await.unwrap();
    lock.batch_execute("lock table t_acme.attachments in share mode")
        .await
        .unwrap();
    let pending = tokio::spawn(attach("unrecorded.txt"));
    let stored_files = || -> Vec<String> {
        std::fs::read_dir(&scratch)
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.parse::<uuid::Uuid>().is_ok())
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let unrecorded = loop {
        if let Some(name) = stored_files().into_iter().find(|name| *name != recorded) {
            break name;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload reached the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = pending.await;
    lock.rollback().await.unwrap();
    let client = db.client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("select count(*) from t_acme.attachments").await, 1);
    assert_eq!(count(UNRECORDED).await, 1, "its removal waits");

    // Before its hour, a server leaves it; an hour on, the removal takes it.
    let folder_text = folder.display().to_string();
    let clock = pactum::kernel::clock::ManualClock::starting_at(chrono::Utc::now());
    let restarted = crate::app::spawn_app_with_clock(
        &db,
        &[
            ("PACTUM_UPLOAD_DIR", &folder_text),
            ("PACTUM_JOB_POLL_MS", "50"),
        ],
        clock.clone(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(scratch.join(&unrecorded).exists(), "kept within its hour");
    clock.advance(chrono::Duration::minutes(61));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scratch.join(&unrecorded).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the unrecorded file was removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(scratch.join(&recorded).exists(), "the recorded file stays");
    assert_eq!(count(UNRECORDED).await, 0);
    drop(restarted);
}
