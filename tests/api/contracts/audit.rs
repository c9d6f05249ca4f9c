//! The audit log: tamper-proof, and written for every kind of mutation; hostile input
//! to the other CLM routes changes nothing and records nothing.

use super::*;

#[tokio::test]
async fn the_audit_log_refuses_tampering_even_from_sql() {
    let clm = Clm::new().await;
    clm.create(&clm.member, nda("Audited")).await;
    let client = clm.db.client().await;
    for sql in [
        "update t_acme.audit_logs set action = 'nothing'",
        "delete from t_acme.audit_logs",
        "truncate t_acme.audit_logs",
    ] {
        let error = client.batch_execute(sql).await.expect_err(sql);
        assert!(
            error.to_string().contains("append-only")
                || format!("{error:?}").contains("append-only"),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.audit_logs where entity = 'contract'")
            .await,
        1
    );
}

#[tokio::test]
async fn every_kind_of_mutation_writes_its_audit_row() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Initech", "email": "legal@initech.example"})),
        )
        .await;
    let cp = counterparty["id"].as_str().unwrap().to_owned();
    let (status, updated) = clm
        .json(
            Method::PATCH,
            &format!("/api/v1/counterparties/{cp}"),
            &clm.member,
            Some(json!({"website": "https://initech.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, contact) = clm
        .json(
            Method::POST,
            &format!("/api/v1/counterparties/{cp}/contacts"),
            &clm.member,
            Some(json!({"name": "Bill Lumbergh", "title": "VP"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
        &clm.member,
        None,
    )
    .await;
    // Counterparties are searchable by part of name or email, case-insensitively.
    let (_, found) = clm
        .json(
            Method::GET,
            "/api/v1/counterparties?q=INITECH.EX",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, none) = clm
        .json(
            Method::GET,
            "/api/v1/counterparties?q=%25",
            &clm.viewer,
            None,
        )
        .await;
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "LIKE wildcards match themselves"
    );

    let contract = clm.create(&clm.member, nda("Audited everywhere")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, clause) = clm.json(Method::POST, "/api/v1/clauses", &clm.member,
        Some(json!({"title": "Secrecy", "category": "confidentiality", "body": "Keep it secret."}))).await;
    let clause = clause["id"].as_str().unwrap().to_owned();
    clm.send(
        Method::POST,
        &format!("/api/v1/contracts/{contract}/clauses"),
        &clm.member,
        Some(json!({"clause_id": clause})),
    )
    .await;
    let (status, detached) = clm
        .json(
            Method::DELETE,
            &format!("/api/v1/contracts/{contract}/clauses/{clause}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{detached}");
    let (_, comment) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/comments"),
            &clm.member,
            Some(json!({"body": "Looks fine"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
        &clm.member,
        None,
    )
    .await;
    let (_, template) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(json!({"name": "T", "contract_type": "nda", "body": "Hello {{name}}"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/templates/{}", template["id"].as_str().unwrap()),
        &clm.manager,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/clauses/{clause}"),
        &clm.manager,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/contracts/{contract}"),
        &clm.member,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/counterparties/{cp}"),
        &clm.manager,
        None,
    )
    .await;

    let client = clm.db.client().await;
    let rows: Vec<(String, String)> = client
        .query(
            "select entity, action from t_acme.audit_logs order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected = [
        // The four users `Clm::new` creates (manager, two members, viewer).
        ("user", "create"),
        ("user", "create"),
        ("user", "create"),
        ("user", "create"),
        ("counterparty", "create"),
        ("counterparty", "update"),
        ("contact", "create"),
        ("contact", "delete"),
        ("contract", "create"),
        ("clause", "create"),
        ("contract", "attach_clause"),
        ("contract", "detach_clause"),
        ("comment", "create"),
        ("comment", "delete"),
        ("template", "create"),
        ("template", "delete"),
        ("clause", "delete"),
        ("contract", "delete"),
        ("counterparty", "delete"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(e, a)| (e.to_string(), a.to_string()))
        .collect();
    assert_eq!(rows, expected);
    let update: Value = client
        .query_one("select changes from t_acme.audit_logs where entity = 'counterparty' and action = 'update'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        update,
        json!({"website": {"old": null, "new": "https://initech.example"}})
    );
}

#[tokio::test]
async fn hostile_input_to_the_other_clm_routes_is_a_4xx_and_changes_nothing() {
    let clm = Clm::new().await;
    let contract = clm.create(&clm.member, nda("Target")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = clm.snapshot().await;
    let contract_path = format!("/api/v1/contracts/{contract}");
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": ""}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "x".repeat(301)}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "Evil", "email": "not an email"}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "Evil", "kind": "robot"}),
        ),
        (
            Method::POST,
            "/api/v1/clauses".into(),
            json!({"title": "x", "category": "'; drop table clauses; --", "body": "y"}),
        ),
        (
            Method::POST,
            "/api/v1/clauses".into(),
            json!({"title": "x", "category": "payment", "body": ""}),
        ),
        (
            Method::POST,
            format!("{contract_path}/comments"),
            json!({"body": "   "}),
        ),
        (
            Method::POST,
            format!("{contract_path}/comments"),
            json!({"body": "x".repeat(20_001)}),
        ),
        (
            Method::POST,
            format!("{contract_path}/clauses"),
            json!({"clause_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            Method::POST,
            format!("{contract_path}/clauses"),
            json!({"clause_id": "not-a-uuid"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "value": "12.5"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "end_date": "1800-01-01"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "owner_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "status": "executed"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": "1", "title": "x"}),
        ),
        (
            Method::POST,
            format!("{contract_path}/transition"),
            json!({"to": "executed", "version": 99}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "Bad Key", "label": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "nda", "label": "Again"}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "ok_key", "label": "x", "required_clause_categories": ["nonsense"]}),
        ),
    ];
    for (i, (method, path, body)) in cases.into_iter().enumerate() {
        let token = if path.contains("contract-types") {
            &clm.admin
        } else {
            &clm.manager
        };
        let response = clm
            .send(method.clone(), &path, token, Some(body.clone()))
            .await;
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_client_error(),
            "case {i}: {method} {path} {body} -> {status} {reply}"
        );
        assert!(reply["error"].is_string(), "case {i}: {reply}");
    }
    for path in [
        "/api/v1/counterparties?limit=0",
        "/api/v1/clauses?category=nope",
        "/api/v1/audit-logs?from=yesterday",
        "/api/v1/clauses/00000000-0000-0000-0000-000000000000/similar?threshold=5",
    ] {
        let token = if path.contains("audit") {
            &clm.admin
        } else {
            &clm.viewer
        };
        let response = clm.send(Method::GET, path, token, None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(clm.snapshot().await, before, "nothing was written");
}
