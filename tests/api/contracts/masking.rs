//! What hangs off a redacted contract, through the real server: once a copy restricts
//! the original, the readers it stands in for read the comments, tasks, logged
//! activities and file names on the contract (in their lists, their account's timeline
//! and a task's notification) with what the copy removed masked, wherever it is
//! written again (and each word of it the copy shows nowhere), and more of the kinds
//! it redacted; its owner and the readers of originals read them as written.

use super::redaction::{codename_pattern, read, redact_first_finding};
use super::*;

#[tokio::test]
async fn what_hangs_off_a_redacted_contract_is_masked_for_the_readers_of_its_copy() {
    let clm = Clm::new().await;
    codename_pattern(&clm).await;
    let (_, account) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Nordic Freight"})),
        )
        .await;
    let contract = clm
        .create(
            &clm.member,
            json!({"title": "Shipping terms", "contract_type": "nda",
                   "counterparty_id": account["id"],
                   "body": "Project Zebrafish is run by zoe@lindqvist.example, paid to \
                            IBAN GB82 WEST 1234 5698 7654 32. The project team meets \
                            weekly."}),
        )
        .await;
    let id = contract["id"].as_str().unwrap().to_owned();
    let comments = format!("/api/v1/contracts/{id}/comments");
    let said = "Project  zebrafish is late: mail ZOE@lindqvist.example or \
                ops@lindqvist.example. Project Koala next, paid to \
                IBAN GB82 WEST 1234 5698 7654 32. Zebrafish alone, for the project team.";
    let (status, _) = clm
        .json(
            Method::POST,
            &comments,
            &clm.member,
            Some(json!({"body": said})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    super::reading::attach(
        &clm,
        &id,
        "Project Zebrafish plan.txt",
        "text/plain",
        b"Plan".to_vec(),
    )
    .await;

    // The owner redacts the codename and the address, and keeps the IBAN.
    let (_, preview) = read(
        &clm,
        &clm.member,
        &format!("/api/v1/contracts/{id}/redaction-preview"),
    )
    .await;
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for finding in preview["findings"].as_array().unwrap() {
        match finding["kind"].as_str().unwrap() {
            "iban" => rejected.push(finding["id"].clone()),
            _ => accepted.push(finding["id"].clone()),
        }
    }
    assert_eq!((accepted.len(), rejected.len()), (2, 1), "{preview}");
    let (status, copy) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{id}/redactions"),
            &clm.member,
            Some(json!({"version": 1, "accepted": accepted, "rejected": rejected})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    // Said after the copy, by someone who reads the original.
    let (status, _) = clm
        .json(
            Method::POST,
            &comments,
            &clm.manager,
            Some(json!({"body": "Signed off on PROJECT ZEBRAFISH."})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let bodies = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let original = [
        said.to_owned(),
        "Signed off on PROJECT ZEBRAFISH.".to_owned(),
    ];
    for reader in [&clm.member, &clm.manager, &clm.admin] {
        let (status, page) = read(&clm, reader, &comments).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bodies(&page), original);
    }
    let masked = [
        "[redacted: custom] is late: mail [redacted: email] or [redacted: email]. \
         [redacted: custom] next, paid to IBAN GB82 WEST 1234 5698 7654 32. \
         [redacted: custom] alone, for the project team."
            .to_owned(),
        "Signed off on [redacted: custom].".to_owned(),
    ];
    for reader in [&clm.viewer, &clm.other_member] {
        let (status, page) = read(&clm, reader, &comments).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(bodies(&page), masked);
        // Page by page, the same.
        let (_, first) = read(&clm, reader, &format!("{comments}?limit=1")).await;
        assert_eq!(bodies(&first), masked[..1]);
    }
    // The copy keeps what it removed, never served with it: masking reads that, not the
    // contract's text. A copy made before that was kept is read from its source, alike.
    let (status, view) = read(
        &clm,
        &clm.member,
        &format!("/api/v1/redactions/{}", copy["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(view["body"]
        .as_str()
        .unwrap()
        .contains("[redacted: custom]"));
    assert!(
        !view.to_string().to_lowercase().contains("zebrafish"),
        "{view}"
    );
    let db = clm.db.client().await;
    let kept = db
        .query_one("select removed::text from t_acme.contract_redactions", &[])
        .await
        .unwrap();
    assert!(kept.get::<_, String>(0).contains("zebrafish"));
    db.batch_execute("update t_acme.contract_redactions set removed = null")
        .await
        .unwrap();
    let (_, page) = read(&clm, &clm.viewer, &comments).await;
    assert_eq!(bodies(&page), masked);

    // The names of its files, likewise (the files themselves are refused them).
    let files = format!("/api/v1/contracts/{id}/attachments");
    for (reader, name) in [
        (&clm.member, "Project Zebrafish plan.txt"),
        (&clm.viewer, "[redacted: custom] plan.txt"),
    ] {
        let (status, page) = read(&clm, reader, &files).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["items"][0]["filename"], name, "{page}");
    }

    // Tasks and logged activities on it, and the task's notification, likewise.
    let (_, colleague) = read(&clm, &clm.other_member, "/api/v1/auth/me").await;
    let (status, task) = clm
        .json(
            Method::POST,
            "/api/v1/tasks",
            &clm.member,
            Some(json!({"target_kind": "contract", "target_id": id,
                        "title": "Chase Project Zebrafish",
                        "notes": "Ask zoe@lindqvist.example", "assignee_id": colleague["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(
        task["title"], "Chase Project Zebrafish",
        "its owner's answer"
    );
    let (status, logged) = clm
        .json(
            Method::POST,
            "/api/v1/activities",
            &clm.member,
            Some(
                json!({"target_kind": "contract", "target_id": id, "kind": "call",
                        "subject": "Called zoe@lindqvist.example",
                        "body": "Project Zebrafish slips a week"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{logged}");
    let task_path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let activity_path = format!("/api/v1/activities/{}", logged["id"].as_str().unwrap());
    let tasks_on = format!("/api/v1/tasks?target_kind=contract&target_id={id}");
    let activities_on = format!("/api/v1/activities?target_kind=contract&target_id={id}");
    for (reader, task_title, activity_subject) in [
        (
            &clm.manager,
            "Chase Project Zebrafish",
            "Called zoe@lindqvist.example",
        ),
        (
            &clm.viewer,
            "Chase [redacted: custom]",
            "Called [redacted: email]",
        ),
        (
            &clm.other_member,
            "Chase [redacted: custom]",
            "Called [redacted: email]",
        ),
    ] {
        let (_, one) = read(&clm, reader, &task_path).await;
        let (_, listed) = read(&clm, reader, &tasks_on).await;
        for seen in [&one, &listed["items"][0]] {
            assert_eq!(seen["title"], task_title, "{seen}");
        }
        let (_, one) = read(&clm, reader, &activity_path).await;
        let (_, listed) = read(&clm, reader, &activities_on).await;
        for seen in [&one, &listed["items"][0]] {
            assert_eq!(seen["subject"], activity_subject, "{seen}");
        }
    }
    let (_, one) = read(&clm, &clm.viewer, &task_path).await;
    assert_eq!(one["notes"], "Ask [redacted: email]");
    let (_, one) = read(&clm, &clm.viewer, &activity_path).await;
    assert_eq!(one["body"], "[redacted: custom] slips a week");
    // The assignee edits it and is answered as they read it; the stored title stays.
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &task_path,
            &clm.other_member,
            Some(json!({"priority": "high"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["title"], "Chase [redacted: custom]");
    let (_, stored) = read(&clm, &clm.manager, &task_path).await;
    assert_eq!(stored["title"], "Chase Project Zebrafish");
    // The account's timeline names them by their masked titles too.
    let timeline = format!(
        "/api/v1/counterparties/{}/timeline",
        account["id"].as_str().unwrap()
    );
    for (reader, hidden) in [(&clm.manager, false), (&clm.viewer, true)] {
        let (status, page) = read(&clm, reader, &timeline).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let summaries: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| matches!(e["entity"].as_str(), Some("task" | "activity")))
            .filter_map(|e| e["summary"].as_str())
            .collect();
        assert!(!summaries.is_empty(), "{page}");
        for summary in summaries {
            let plain = summary.contains("Zebrafish") || summary.contains("zoe@");
            assert_eq!(plain, !hidden, "{summary}");
        }
    }
    let told = told(&clm, &clm.other_member).await;
    assert!(
        told.starts_with("A task for you: Chase [redacted: custom]"),
        "{told}"
    );

    // A copy that does not restrict the original opens them again.
    redact_first_finding(&clm, &id, 1, false).await;
    let (_, page) = read(&clm, &clm.viewer, &comments).await;
    assert_eq!(bodies(&page), original);
    let (_, one) = read(&clm, &clm.viewer, &task_path).await;
    assert_eq!(one["title"], "Chase Project Zebrafish");
}

/// The title of the first notification `token`'s user is told, once there is one.
async fn told(clm: &Clm, token: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, page) = read(clm, token, "/api/v1/notifications").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        if let Some(title) = page["items"][0]["title"].as_str() {
            return title.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "never told: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
