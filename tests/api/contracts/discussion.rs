//! Comments with mentions, the calendar, and files: upload, download, limits, tenant
//! isolation.

use super::reading::import;
use super::*;

#[tokio::test]
async fn comments_record_mentions_and_the_calendar_shows_dates() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, json!({"title": "Lease", "contract_type": "lease",
        "start_date": "2026-03-01", "end_date": "2026-12-31", "auto_renew": true, "renewal_notice_days": 61}))
        .await["id"].as_str().unwrap().to_owned();
    let (status, comment) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{id}/comments"),
            &clm.member,
            Some(json!({"body": "@manager@example.com please review; cc @nobody@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let manager_id = clm
        .json(Method::GET, "/api/v1/auth/me", &clm.manager, None)
        .await
        .1["id"]
        .clone();
    assert_eq!(comment["mentions"], json!([manager_id]));
    let (_, events) = clm
        .json(
            Method::GET,
            "/api/v1/calendar?from=2026-01-01&to=2026-12-31",
            &clm.viewer,
            None,
        )
        .await;
    let events: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("2026-03-01".to_owned(), "start".to_owned()),
            ("2026-10-31".to_owned(), "renewal_notice".to_owned()),
            ("2026-12-31".to_owned(), "end".to_owned()),
        ]
    );
    let (status, _) = clm
        .json(
            Method::GET,
            "/api/v1/calendar?from=2026-01-01&to=2035-01-01",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn attachments_upload_download_and_stay_inside_their_tenant() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, nda("With files")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = b"%PDF-1.7\n% a tiny file\n".to_vec();
    let response = upload(
        &clm,
        HOST,
        &clm.member,
        &id,
        "../../secret/Vertrag \u{e4}.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(
        stored["filename"], "Vertrag \u{e4}.pdf",
        "path parts are dropped"
    );
    assert_eq!(stored["size_bytes"], pdf.len());
    let attachment = stored["id"].as_str().unwrap().to_owned();

    let download = clm
        .send(
            Method::GET,
            &format!("/api/v1/attachments/{attachment}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''Vertrag%20%C3%A4.pdf"));
    let etag = download.headers()["etag"].clone();
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);
    // Streamed downloads honour ranges and conditional requests.
    let download_with = |name: &'static str, value: reqwest::header::HeaderValue| {
        clm.app
            .request(
                Method::GET,
                HOST,
                &format!("/api/v1/attachments/{attachment}"),
            )
            .bearer_auth(&clm.viewer)
            .header(name, value)
            .send()
    };
    let part = download_with("range", "bytes=0-7".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().to_vec(), pdf[..8].to_vec());
    let unchanged = download_with("if-none-match", etag).await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let (_, listed) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{id}/attachments"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // Refusals store nothing: wrong role, a type we do not take, content that lies about
    // its type.
    let before = clm.count("select count(*) from t_acme.attachments").await;
    let refusals = [
        (
            upload(
                &clm,
                HOST,
                &clm.viewer,
                &id,
                "a.pdf",
                "application/pdf",
                pdf.clone(),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.other_member,
                &id,
                "a.pdf",
                "application/pdf",
                pdf.clone(),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "a.exe",
                "application/x-msdownload",
                b"MZ\x90\x00".to_vec(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "a.pdf",
                "application/pdf",
                b"MZ\x90\x00 not a pdf".to_vec(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "empty.txt",
                "text/plain",
                Vec::new(),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            clm.app
                .request(
                    Method::POST,
                    HOST,
                    &format!("/api/v1/contracts/{id}/attachments"),
                )
                .bearer_auth(&clm.member)
                .json(&json!({"file": "not a form"}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (i, (response, status)) in refusals.into_iter().enumerate() {
        assert_eq!(response.status(), status, "refusal {i}");
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.attachments").await,
        before
    );
    let tenant_folders: Vec<_> = std::fs::read_dir(&clm.app.upload_dir).unwrap().collect();
    assert_eq!(tenant_folders.len(), 1, "one folder, acme's");
    let files: Vec<String> = std::fs::read_dir(tenant_folders[0].as_ref().unwrap().path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        std::slice::from_ref(&attachment),
        "no partial uploads left behind"
    );

    // A file damaged on disk is not served as the one uploaded; restored, it is.
    let stored = tenant_folders[0].as_ref().unwrap().path().join(&attachment);
    let original = std::fs::read(&stored).unwrap();
    let mut damaged = original.clone();
    damaged[original.len() / 2] ^= 0xff;
    std::fs::write(&stored, &damaged).unwrap();
    let download = format!("/api/v1/attachments/{attachment}");
    let (status, body) = clm.json(Method::GET, &download, &clm.viewer, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("internal_error")),
        "{body}"
    );
    std::fs::write(&stored, &original).unwrap();
    assert_eq!(
        clm.status(Method::GET, &download, &clm.viewer, None).await,
        StatusCode::OK
    );

    // Another tenant's host never reaches the file, whatever id or path it is given.
    tenant_with_admin(&clm.db, "globex", PASSWORD).await;
    let globex = clm
        .app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    for path in [
        format!("/api/v1/attachments/{attachment}"),
        format!("/api/v1/attachments/..%2F{attachment}"),
        format!("/api/v1/contracts/{id}/attachments"),
    ] {
        let response = clm
            .app
            .call(Method::GET, "globex.localhost", &path, &globex, None)
            .await;
        assert!(
            matches!(
                response.status(),
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "{path}: {}",
            response.status()
        );
    }
    let foreign = upload(
        &clm,
        "globex.localhost",
        &globex,
        &id,
        "a.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    let deleted = clm
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{attachment}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read_dir(tenant_folders[0].as_ref().unwrap().path())
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn uploads_over_the_size_limit_are_413_and_leave_nothing() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[("PACTUM_MAX_UPLOAD_BYTES", "1024")]).await;
    let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let created: Value = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/contracts",
            &admin,
            Some(nda("Small files only")),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(300_000, b'x');
    let part = reqwest::multipart::Part::bytes(big)
        .file_name("big.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let response = app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/contracts/{id}/attachments"),
        )
        .bearer_auth(&admin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    let client = db.client().await;
    let rows: i64 = client
        .query_one("select count(*) from t_acme.attachments", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let leftovers: usize = std::fs::read_dir(&app.upload_dir)
        .map(|folders| {
            folders
                .map(|f| std::fs::read_dir(f.unwrap().path()).unwrap().count())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "the partial file is removed");
}

#[tokio::test]
async fn a_tenants_own_bounds_on_file_size_and_count_are_kept_and_refusals_store_nothing() {
    let clm = Clm::new().await;
    let contract = clm.create(&clm.member, nda("Bounded files")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = json!({"ocr_languages": ["eng"], "max_file_bytes": 2000, "max_files": 2, "original_role": "manager"});
    let (status, body) = clm
        .json(
            Method::PUT,
            "/api/v1/document-settings",
            &clm.admin,
            Some(settings.clone()),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &settings));
    let attach = |bytes: Vec<u8>| {
        upload(
            &clm,
            HOST,
            &clm.member,
            &contract,
            "a.txt",
            "text/plain",
            bytes,
        )
    };

    // Over the tenant's size, under the server's: 413, nothing kept.
    assert_eq!(
        code(attach(vec![b'a'; 2001]).await).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    assert_eq!(attach(vec![b'a'; 2000]).await.status(), StatusCode::CREATED);
    assert_eq!(attach(vec![b'b'; 10]).await.status(), StatusCode::CREATED);
    // The third file is one too many, for an upload and for an import alike.
    assert_eq!(
        code(attach(vec![b'c'; 10]).await).await,
        (StatusCode::CONFLICT, "file_quota_reached".into())
    );
    let (status, refusal) = import(
        &clm,
        &clm.member,
        "contract_type=nda",
        &[("terms.txt", "text/plain", b"Terms.".to_vec())],
    )
    .await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (StatusCode::CONFLICT, Some("file_quota_reached"))
    );
    let client = clm.db.client().await;
    let (files, contracts): (i64, i64) = {
        let row = client
            .query_one(
                "select (select count(*) from t_acme.attachments), (select count(*) from t_acme.contracts)",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((files, contracts), (2, 1), "refusals kept nothing");

    // Lifting the bound lets files in again.
    let (status, _) = clm
        .json(
            Method::PUT,
            "/api/v1/document-settings",
            &clm.admin,
            Some(json!({"ocr_languages": ["eng"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(attach(vec![b'c'; 3000]).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn uploads_with_malware_are_refused_by_clamav_audited_and_leave_nothing() {
    let mut clamav = crate::clamav::ClamAv::start();
    let url = clamav.url();
    let clm = Clm::with_env(&[("PACTUM_CLAMD_URL", url.as_str())]).await;
    let contract = clm.create(&clm.member, nda("Scanned files")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attach = |bytes: Vec<u8>| {
        upload(
            &clm,
            HOST,
            &clm.member,
            &contract,
            "notes.txt",
            "text/plain",
            bytes,
        )
    };
    let stored = || async {
        let client = clm.db.client().await;
        let row = client
            .query_one(
                "select (select count(*) from t_acme.attachments), (select count(*) from t_acme.contracts)",
                &[],
            )
            .await
            .unwrap();
        let files: usize = std::fs::read_dir(&clm.app.upload_dir)
            .map(|folders| {
                folders
                    .map(|f| std::fs::read_dir(f.unwrap().path()).unwrap().count())
                    .sum()
            })
            .unwrap_or(0);
        (row.get::<_, i64>(0), row.get::<_, i64>(1), files)
    };

    let response = attach(crate::clamav::EICAR.to_vec()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["error"], "malware_found", "{refusal}");
    assert_eq!(
        refusal["details"]["signature"],
        "Eicar-Test-Signature.UNOFFICIAL"
    );
    assert_eq!(stored().await, (0, 1, 0), "nothing of it is kept");
    let audited: i64 = clm
        .db
        .client()
        .await
        .query_one(
            "select count(*) from t_acme.audit_logs where action = 'malware_refused' \
             and changes ->> 'signature' like 'Eicar-Test-Signature%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);

    // An import with one infected file among clean ones makes nothing.
    let (status, refusal) = import(
        &clm,
        &clm.member,
        "contract_type=nda",
        &[
            ("clean.txt", "text/plain", b"Clean terms.".to_vec()),
            ("eicar.txt", "text/plain", crate::clamav::EICAR.to_vec()),
        ],
    )
    .await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("malware_found"))
    );
    assert_eq!(stored().await, (0, 1, 0));

    // A clean file goes through the same scan.
    assert_eq!(
        attach(b"Plain terms.".to_vec()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(stored().await, (1, 1, 1));

    // Without a verdict nothing is stored unscanned.
    clamav.stop();
    let response = attach(b"More terms.".to_vec()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(stored().await, (1, 1, 1));
}

#[tokio::test]
async fn a_deleted_files_bytes_are_removed_by_a_job_even_when_the_request_could_not() {
    // No workers here: the job waits in the queue for the second server.
    let clm = Clm::with_env(&[("PACTUM_JOB_WORKERS", "0")]).await;
    let contract = clm.create(&clm.member, nda("Short-lived file")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = upload(
        &clm,
        HOST,
        &clm.member,
        &contract,
        "a.txt",
        "text/plain",
        b"Terms.".to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let folder = std::fs::read_dir(&clm.app.upload_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = folder.join(&id);
    assert!(file.exists());
    assert_eq!(
        clm.status(
            Method::DELETE,
            &format!("/api/v1/attachments/{id}"),
            &clm.member,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert!(
        !file.exists(),
        "the request removes the bytes after its commit"
    );
    let queued: i64 = clm
        .db
        .client()
        .await
        .query_one(
            "select count(*) from public.jobs where kind = 'attachments.remove_files' \
             and args -> 'attachments' ? $1 and state <> 'cancelled'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 1, "the removal is queued with the delete");

    // As if the process had stopped between its commit and the removal: the bytes are
    // still there. A server with workers runs the queued removal.
    std::fs::write(&file, b"Terms.").unwrap();
    let upload_dir = clm.app.upload_dir.display().to_string();
    let _worker = spawn_app(&clm.db, &[("PACTUM_UPLOAD_DIR", upload_dir.as_str())]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never removed the file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
