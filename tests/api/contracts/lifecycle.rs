//! Contracts through their lifecycle: transitions, optimistic concurrency, versions, lists,
//! search and facets, roles, hostile input, tenant isolation, list envelopes.

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
async fn versions_keep_every_text_and_diff_by_line() {
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({"title": "MSA", "contract_type": "msa", "body": "one\ntwo\nthree\n"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/contracts/{id}");
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 1, "body": "one\n2\nthree\nfour\n"})),
    )
    .await;
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 2, "tags": ["x"]})),
    )
    .await;
    let (_, versions) = clm
        .json(Method::GET, &format!("{path}/versions"), &clm.viewer, None)
        .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "a tags-only change keeps no new text");
    let (_, first) = clm
        .json(
            Method::GET,
            &format!("{path}/versions/1"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(first["body"], "one\ntwo\nthree\n");
    let (status, diff) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=2"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (diff["lines_added"].as_i64(), diff["lines_removed"].as_i64()),
        (Some(2), Some(1))
    );
    let unified = diff["unified"].as_str().unwrap();
    assert!(
        unified.contains("-two\n") && unified.contains("+2\n") && unified.contains("+four\n"),
        "{unified}"
    );
    let (status, _) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=9"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_filter_sort_search_and_facet() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Globex Corporation"})),
        )
        .await;
    let globex = counterparty["id"].as_str().unwrap();
    for (title, kind, value, end, tags, body) in [
        (
            "Cloud hosting MSA",
            "msa",
            "50000",
            "2027-03-31",
            vec!["cloud"],
            "Hosting of servers and uptime credits.",
        ),
        (
            "Mutual NDA",
            "nda",
            "0",
            "2026-12-31",
            vec![],
            "Confidential information stays confidential.",
        ),
        (
            "Office lease",
            "lease",
            "240000.00",
            "2030-06-30",
            vec!["facilities"],
            "The tenant leases the premises.",
        ),
        (
            "Migration SOW",
            "sow",
            "12000.5",
            "2027-01-31",
            vec!["cloud"],
            "Migration of the hosting platform.",
        ),
    ] {
        let mut contract = json!({"title": title, "contract_type": kind, "value": value, "currency": "USD",
            "end_date": end, "tags": tags, "body": body});
        if kind == "msa" || kind == "sow" {
            contract["counterparty_id"] = json!(globex);
        }
        clm.create(&clm.member, contract).await;
    }

    assert_eq!(
        titles(&clm, "sort=title").await,
        [
            "Cloud hosting MSA",
            "Migration SOW",
            "Mutual NDA",
            "Office lease"
        ]
    );
    assert_eq!(titles(&clm, "contract_type=nda").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "tag=cloud&sort=-value").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(
        titles(&clm, "value_min=12000.5&value_max=50000&sort=value").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, "end_from=2027-01-01&end_to=2027-12-31&sort=end_date").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, &format!("counterparty_id={globex}&sort=title")).await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    // Title matches outrank body matches.
    assert_eq!(
        titles(&clm, "q=hosting").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(titles(&clm, "q=confidential").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "q=%22uptime credits%22").await,
        ["Cloud hosting MSA"]
    );
    assert!(titles(&clm, "q=nothing-matches-this").await.is_empty());
    let (_, page) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=2&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    assert!(page["next_cursor"].is_string(), "more than two contracts");
    assert!(
        page["items"][0].get("body").is_none(),
        "lists leave bodies out"
    );
    // Following the cursors walks every contract once, in the same order.
    let mut walked = Vec::new();
    let mut page = page;
    loop {
        walked.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap().to_owned()),
        );
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = clm
            .json(
                Method::GET,
                &format!("/api/v1/contracts?limit=2&sort=title&cursor={cursor}"),
                &clm.viewer,
                None,
            )
            .await
            .1;
    }
    let (_, all) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=100&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() > 2);
    assert_eq!(walked, every);

    let (status, facets) = clm
        .json(
            Method::GET,
            "/api/v1/contracts/facets?tag=cloud",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(facets["total"], 2);
    assert_eq!(facets["status"]["draft"], 2);
    assert_eq!(facets["status"]["executed"], 0);
    assert_eq!(facets["contract_type"], json!({"msa": 1, "sow": 1}));

    for bad in [
        "status=signed",
        "sort=password",
        "sort=rank",
        "limit=1000",
        "value_min=1e3",
        "currency=usd",
        "end_from=2027-01-01&end_to=2026-01-01",
        "owner_id=not-a-uuid",
        "unknown=1",
    ] {
        let response = clm
            .send(
                Method::GET,
                &format!("/api/v1/contracts?{bad}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
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
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.viewer,
            Some(nda("v"))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    // Another member neither edits, moves nor deletes it.
    assert_eq!(
        clm.send(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"version": 1, "title": "mine now"}))
        )
        .await
        .status(),
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
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.member,
            Some(theirs.clone())
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(Method::GET, "/api/v1/audit-logs", &clm.manager, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contract-types",
            &clm.manager,
            Some(json!({"key": "reseller", "label": "Reseller"}))
        )
        .await
        .status(),
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
        clm.send(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"version": 2, "title": "Edited by manager"}))
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.manager,
            Some(theirs)
        )
        .await
        .status(),
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
        clm.send(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 4, "tags": ["signed-off"]}))
        )
        .await
        .status(),
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

#[tokio::test]
async fn every_list_has_one_envelope_and_its_cursors_walk_it_whole() {
    let clm = Clm::new().await;
    let contract = clm
        .create(
            &clm.admin,
            json!({"title": "Paged", "contract_type": "nda", "body": "v1",
                   "start_date": "2026-02-01", "end_date": "2026-12-31", "renewal_notice_days": 30}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..2 {
        clm.create(&clm.member, nda(&format!("Another {n}"))).await;
    }
    for n in 0..3 {
        let path = format!("/api/v1/contracts/{contract}");
        let (status, _) = clm
            .json(
                Method::PATCH,
                &path,
                &clm.admin,
                Some(json!({"version": n + 1, "body": format!("v{}", n + 2)})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/comments"),
                &clm.admin,
                Some(json!({"body": format!("comment {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, counterparty) = clm
            .json(
                Method::POST,
                "/api/v1/counterparties",
                &clm.admin,
                Some(json!({"name": format!("Party {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{counterparty}");
        let (status, clause) = clm
            .json(
                Method::POST,
                "/api/v1/clauses",
                &clm.admin,
                Some(json!({"title": format!("Clause {n}"), "category": "confidentiality", "body": "The parties keep secrets."})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{clause}");
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/clauses"),
                &clm.admin,
                Some(json!({"clause_id": clause["id"]})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = clm
            .json(
                Method::POST,
                "/api/v1/templates",
                &clm.admin,
                Some(json!({"name": format!("Template {n}"), "contract_type": "nda", "body": "Hello"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let response = upload(
            &clm,
            HOST,
            &clm.admin,
            &contract,
            &format!("f{n}.txt"),
            "text/plain",
            b"text".to_vec(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for (path, key) in [
        ("/api/v1/users".to_owned(), "id"),
        ("/api/v1/contracts".to_owned(), "id"),
        ("/api/v1/counterparties".to_owned(), "id"),
        ("/api/v1/clauses".to_owned(), "id"),
        ("/api/v1/templates".to_owned(), "id"),
        ("/api/v1/contract-types".to_owned(), "key"),
        ("/api/v1/audit-logs".to_owned(), "id"),
        (format!("/api/v1/contracts/{contract}/versions"), "version"),
        (format!("/api/v1/contracts/{contract}/comments"), "id"),
        (format!("/api/v1/contracts/{contract}/attachments"), "id"),
        (format!("/api/v1/contracts/{contract}/clauses"), "id"),
        (
            "/api/v1/calendar?from=2026-01-01&to=2026-12-31".to_owned(),
            "kind",
        ),
    ] {
        let whole = walk(&clm, &path, 100, key).await;
        assert!(whole.len() >= 3, "{path}: {whole:?}");
        assert_eq!(walk(&clm, &path, 1, key).await, whole, "{path} one by one");
        assert_eq!(walk(&clm, &path, 2, key).await, whole, "{path} two by two");
    }
}
