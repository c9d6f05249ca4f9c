//! The clause library and templates: generating contracts, look-alikes, required
//! categories, who may edit.

use super::*;

#[tokio::test]
async fn templates_generate_contracts_and_list_missing_or_unknown_variables() {
    let clm = Clm::new().await;
    let template = json!({"name": "Standard NDA", "contract_type": "nda",
        "body": "This NDA between {{ discloser }} and {{recipient}} lasts {{term}} years."});
    assert_eq!(
        clm.status(
            Method::POST,
            "/api/v1/templates",
            &clm.member,
            Some(template.clone())
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (status, created) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(template),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        created["variables"],
        json!(["discloser", "recipient", "term"])
    );
    let generate = format!(
        "/api/v1/templates/{}/generate",
        created["id"].as_str().unwrap()
    );
    let before = clm.snapshot().await;
    let (status, refused) = clm
        .json(
            Method::POST,
            &generate,
            &clm.member,
            Some(json!({
            "variables": {"discloser": "Acme", "term": "2", "colour": "red"},
            "contract": {"title": "NDA with Globex"}})),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("template_variables"))
    );
    assert_eq!(
        refused["details"],
        json!({"missing": ["recipient"], "unknown": ["colour"]})
    );
    assert_eq!(clm.snapshot().await, before);
    let (status, contract) = clm
        .json(
            Method::POST,
            &generate,
            &clm.member,
            Some(json!({
            "variables": {"discloser": "Acme", "recipient": "Globex", "term": "2"},
            "contract": {"title": "NDA with Globex", "tags": ["generated"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contract}");
    assert_eq!(
        contract["body"],
        "This NDA between Acme and Globex lasts 2 years."
    );
    assert_eq!(contract["contract_type"], "nda");
    let (status, _) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(json!({"name": "Broken", "contract_type": "nda", "body": "Hello {{ name"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn clauses_attach_find_their_look_alikes_and_validate_required_categories() {
    let clm = Clm::new().await;
    let mut ids = Vec::new();
    for (title, category, body) in [
        (
            "Net 30",
            "payment",
            "The customer pays every invoice within thirty days of receipt.",
        ),
        (
            "Net 30 (variant)",
            "payment",
            "The customer pays each invoice within thirty days of its receipt.",
        ),
        (
            "Liability cap",
            "liability",
            "Liability of either party is capped at the fees paid in the prior year.",
        ),
        (
            "Governing law",
            "governing_law",
            "This agreement is governed by the laws of Delaware.",
        ),
    ] {
        let (status, clause) = clm
            .json(
                Method::POST,
                "/api/v1/clauses",
                &clm.member,
                Some(json!({"title": title, "category": category, "body": body})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(clause["id"].as_str().unwrap().to_owned());
    }
    let (status, similar) = clm
        .json(
            Method::GET,
            &format!("/api/v1/clauses/{}/similar", ids[0]),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let similar = similar["items"].as_array().unwrap();
    assert_eq!(similar.len(), 1, "{similar:?}");
    assert_eq!(similar[0]["id"], ids[1].as_str());
    assert!(similar[0]["similarity"].as_f64().unwrap() > 0.5);

    let msa = clm
        .create(&clm.member, json!({"title": "MSA", "contract_type": "msa"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for clause in [&ids[0], &ids[3]] {
        let response = clm
            .send(
                Method::POST,
                &format!("/api/v1/contracts/{msa}/clauses"),
                &clm.member,
                Some(json!({"clause_id": clause})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let (_, report) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{msa}/validate-clauses"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(report["missing"], json!(["liability", "termination"]));
    assert_eq!(report["complete"], false);
    let (status, in_use) = clm
        .json(
            Method::DELETE,
            &format!("/api/v1/clauses/{}", ids[0]),
            &clm.manager,
            None,
        )
        .await;
    assert_eq!(
        (status, in_use["error"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
}

#[tokio::test]
async fn clauses_and_templates_are_edited_by_their_authors_or_managers() {
    let clm = Clm::new().await;
    let (_, clause) = clm
        .json(
            Method::POST,
            "/api/v1/clauses",
            &clm.member,
            Some(json!({"title": "Net 30", "category": "payment", "body": "Pay in 30 days."})),
        )
        .await;
    let path = format!("/api/v1/clauses/{}", clause["id"].as_str().unwrap());
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"body": "Pay never."})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"category": "nonsense"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"body": "Pay in 45 days."})),
        )
        .await;
    assert_eq!(
        (status, edited["body"].as_str(), edited["category"].as_str()),
        (StatusCode::OK, Some("Pay in 45 days."), Some("payment"))
    );
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"title": "Net 45"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, template) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(
                json!({"name": "NDA", "contract_type": "nda", "body": "Between {{a}} and {{b}}."}),
            ),
        )
        .await;
    let path = format!("/api/v1/templates/{}", template["id"].as_str().unwrap());
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"body": "Between {{party}} only."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["variables"], json!(["party"]));
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"contract_type": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let client = clm.db.client().await;
    let updates: i64 = client
        .query_one("select count(*) from t_acme.audit_logs where action = 'update' and entity in ('clause', 'template')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(updates, 3);
}
