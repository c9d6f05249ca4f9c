//! Contracts through their lifecycle: transitions, optimistic concurrency, roles,
//! hostile input, tenant isolation.

use super::*;

#[tokio::test]
async fn a_contract_goes_through_its_whole_lifecycle_and_every_step_is_audited() {
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({
                "title": "Acme / Globex MSA",
                "contract_type": "msa",
                "value": "1250000.50",
                "currency": "EUR",
                "start_date": "2026-01-01",
                "end_date": "2027-12-31",
                "auto_renew": true,
                "renewal_notice_days": 90,
                "tags": ["Strategic", "renewal"],
                "metadata": {"cost_center": "R&D"},
                "body": "Services are provided.\nFees are paid monthly.\n"
            }),
        )
        .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["value"], "1250000.50",
        "exact decimal string, scale kept"
    );
    assert_eq!(created["tags"], json!(["renewal", "strategic"]));
    let id = created["id"].as_str().unwrap().to_owned();

    let fetched = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");

    for (token, to, version) in [
        (&clm.member, "in_review", 2),
        (&clm.manager, "approved", 3),
        (&clm.manager, "executed", 4),
        (&clm.manager, "terminated", 5),
    ] {
        let (status, moved) = clm.transition(token, &id, to).await;
        assert_eq!(status, StatusCode::OK, "{to}: {moved}");
        assert_eq!(
            (moved["status"].as_str(), moved["version"].as_i64()),
            (Some(to), Some(version))
        );
    }
    let (status, audit) = clm
        .json(
            Method::GET,
            &format!("/api/v1/audit-logs?entity=contract&entity_id={id}"),
            &clm.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "transition",
            "transition",
            "transition",
            "transition"
        ]
    );
    let last = &audit["items"][0];
    assert_eq!(
        last["changes"],
        json!({"status": {"old": "executed", "new": "terminated"}})
    );
    assert!(last["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"));
    assert!(last["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

#[tokio::test]
async fn every_invalid_transition_is_a_409_naming_the_allowed_ones_and_changes_nothing() {
    let clm = Clm::new().await;
    let statuses = [
        "draft",
        "in_review",
        "approved",
        "rejected",
        "executed",
        "expired",
        "terminated",
    ];
    let allowed = |from: &str| -> Vec<&str> {
        match from {
            "draft" => vec!["in_review"],
            "in_review" => vec!["approved", "rejected"],
            "approved" => vec!["executed"],
            "rejected" => vec!["draft"],
            "executed" => vec!["expired", "terminated"],
            _ => vec![],
        }
    };
    for from in statuses {
        let id = contract_in(&clm, from).await;
        let before = clm.snapshot().await;
        for to in statuses.iter().filter(|to| !allowed(from).contains(to)) {
            let (status, body) = clm.transition(&clm.manager, &id, to).await;
            assert_eq!(status, StatusCode::CONFLICT, "{from} -> {to}");
            assert_eq!(body["error"], "invalid_transition");
            assert_eq!(body["details"]["allowed"], json!(allowed(from)), "{from}");
        }
        assert_eq!(
            clm.snapshot().await,
            before,
            "refusals from {from} changed nothing"
        );
    }
    // Rejected goes back to draft.
    let id = contract_in(&clm, "rejected").await;
    assert_eq!(
        clm.transition(&clm.member, &id, "draft").await.0,
        StatusCode::OK
    );
    let (status, body) = clm.transition(&clm.manager, &id, "signed").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input"))
    );
}

#[tokio::test]
async fn stale_or_blind_updates_are_refused_and_change_nothing() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, nda("NDA")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/contracts/{id}");
    let (status, updated) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 1, "title": "NDA v2"})),
        )
        .await;
    assert_eq!(
        (status, updated["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );

    let before = clm.snapshot().await;
    let (status, stale) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 1, "title": "lost update"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(stale["error"], "version_conflict");
    assert_eq!(stale["details"]["current_version"], 2);
    let (status, blind) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"title": "blind"})),
        )
        .await;
    assert_eq!(
        (status, blind["error"].as_str()),
        (StatusCode::PRECONDITION_REQUIRED, Some("version_required"))
    );
    let stale_header = clm
        .app
        .request(Method::PATCH, HOST, &path)
        .bearer_auth(&clm.member)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "lost again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(stale_header).await,
        (StatusCode::CONFLICT, "version_conflict".into())
    );
    assert_eq!(clm.snapshot().await, before);

    let fresh_header = clm
        .app
        .request(Method::PATCH, HOST, &path)
        .bearer_auth(&clm.member)
        .header("if-match", "\"2\"")
        .json(&json!({"body": "New text."}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh_header.status(), StatusCode::OK);
    assert_eq!(fresh_header.headers()["etag"], "\"3\"");
}

#[tokio::test]
async fn hostile_input_is_a_4xx_and_changes_nothing() {
    let clm = Clm::new().await;
    clm.create(&clm.member, nda("Existing")).await;
    let before = clm.snapshot().await;
    let cases = [
        json!({"title": "x", "contract_type": "nda", "value": "1e309", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "999999999999999999", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": 1250.5, "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "-5", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "10", "currency": "EURO"}),
        json!({"title": "x", "contract_type": "nda", "value": "10", "currency": "XYZ"}),
        json!({"title": "x", "contract_type": "nda", "value": "10"}),
        json!({"title": "x", "contract_type": "nda", "start_date": "2027-01-01", "end_date": "2026-01-01"}),
        json!({"title": "x", "contract_type": "nda", "start_date": "2026-02-30"}),
        json!({"title": "x", "contract_type": "nda", "end_date": "9999-12-31"}),
        json!({"title": "x", "contract_type": "nda", "renewal_notice_days": -1}),
        json!({"title": "x", "contract_type": "nda", "renewal_notice_days": 99999999999i64}),
        json!({"title": "x'; drop table contracts; --", "contract_type": "nda'; drop table contracts; --"}),
        json!({"title": "x", "contract_type": "nda", "counterparty_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "x", "contract_type": "nda", "owner_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "x".repeat(501), "contract_type": "nda"}),
        json!({"title": "   ", "contract_type": "nda"}),
        json!({"title": "x\u{0}y", "contract_type": "nda"}),
        json!({"title": "x", "contract_type": "nda", "tags": ["<script>alert(1)</script>"]}),
        json!({"title": "x", "contract_type": "nda", "metadata": [1, 2]}),
        json!({"title": "x", "contract_type": "nda", "metadata": {"big": "y".repeat(20_000)}}),
        json!({"title": "x", "contract_type": "nda", "status": "executed"}),
        json!({"title": "x"}),
    ];
    for (i, case) in cases.iter().enumerate() {
        let response = clm
            .send(
                Method::POST,
                "/api/v1/contracts",
                &clm.member,
                Some(case.clone()),
            )
            .await;
        let status = response.status();
        assert!(status.is_client_error(), "case {i}: {status}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "case {i}: {body}");
    }
    let huge_body = clm
        .send(
            Method::POST,
            "/api/v1/contracts",
            &clm.member,
            Some(json!({"title": "x", "contract_type": "nda", "body": "z".repeat(2_000_000)})),
        )
        .await;
    assert_eq!(code(huge_body).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(clm.snapshot().await, before, "nothing was written");
    assert_eq!(
        clm.count("select count(*) from pg_tables where tablename = 'contracts'")
            .await,
        1
    );
}

#[tokio::test]
async fn roles_are_enforced_on_every_kind_of_change() {
    let clm = Clm::new().await;
    let mine = clm.create(&clm.member, nda("Member's")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/contracts/{mine}");
    let before = clm.snapshot().await;
    // Viewers read but never write.
    assert_eq!(
        clm.send(Method::GET, &path, &clm.viewer, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/contracts",
            &clm.viewer,
            Some(nda("v"))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Another member neither edits, moves nor deletes it.
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"version": 1, "title": "mine now"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.transition(&clm.other_member, &mine, "in_review")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(Method::DELETE, &path, &clm.other_member, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Members do not name other owners, approve, or read the audit log.
    let manager_id = clm
        .json(Method::GET, "/api/v1/auth/me", &clm.manager, None)
        .await
        .1["id"]
        .clone();
    let mut theirs = nda("for someone else");
    theirs["owner_id"] = manager_id;
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/contracts",
            &clm.member,
            Some(theirs.clone())
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(Method::GET, "/api/v1/audit-logs", &clm.manager, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/contract-types",
            &clm.manager,
            Some(json!({"key": "reseller", "label": "Reseller"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(clm.snapshot().await, before);
    assert_eq!(
        clm.transition(&clm.member, &mine, "in_review").await.0,
        StatusCode::OK
    );
    assert_eq!(
        clm.transition(&clm.member, &mine, "approved").await.0,
        StatusCode::FORBIDDEN
    );
    // Managers edit anything and name owners; admins manage settings.
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"version": 2, "title": "Edited by manager"}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/contracts",
            &clm.manager,
            Some(theirs)
        )
        .await,
        StatusCode::CREATED
    );
    assert_eq!(clm.send(Method::POST, "/api/v1/contract-types", &clm.admin,
        Some(json!({"key": "reseller", "label": "Reseller", "required_clause_categories": ["payment"]}))).await.status(), StatusCode::CREATED);
    clm.create(
        &clm.member,
        json!({"title": "Reseller deal", "contract_type": "reseller"}),
    )
    .await;
    // Once approved, terms are locked, but tags still change.
    assert_eq!(
        clm.transition(&clm.manager, &mine, "approved").await.0,
        StatusCode::OK
    );
    let (status, locked) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"version": 4, "body": "late change"})),
        )
        .await;
    assert_eq!(
        (status, locked["error"].as_str()),
        (StatusCode::CONFLICT, Some("contract_locked"))
    );
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 4, "tags": ["signed-off"]}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        clm.send(Method::DELETE, &path, &clm.manager, None)
            .await
            .status(),
        StatusCode::CONFLICT,
        "only drafts are deleted"
    );
}

#[tokio::test]
async fn another_tenants_contracts_cannot_be_reached() {
    let clm = Clm::new().await;
    tenant_with_admin(&clm.db, "globex", PASSWORD).await;
    let id = clm.create(&clm.member, nda("Acme secret")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex = clm
        .app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/contracts/{id}")),
        (Method::GET, format!("/api/v1/contracts/{id}/versions")),
        (Method::POST, format!("/api/v1/contracts/{id}/transition")),
    ] {
        let body = (method == Method::POST).then(|| json!({"to": "in_review"}));
        let response = clm
            .app
            .call(method, "globex.localhost", &path, &globex, body)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (_, page) = {
        let response = clm
            .app
            .call(
                Method::GET,
                "globex.localhost",
                "/api/v1/contracts?q=secret",
                &globex,
                None,
            )
            .await;
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(page["items"], json!([]));
    // Acme's token is no good on globex's host.
    assert_eq!(
        clm.app
            .call(
                Method::GET,
                "globex.localhost",
                "/api/v1/contracts",
                &clm.admin,
                None
            )
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}
