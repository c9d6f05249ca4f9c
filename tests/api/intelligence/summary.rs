//! A contract at a glance through the server, without a model: the summary sentences
//! and the key terms, each from the contract's fields or else its text; a reader a
//! redacted original is kept from gets the copy's.

use super::*;

const LEASE: &str = "OFFICE LEASE\n\
    The landlord lets the office on the third floor to the tenant for use as offices.\n\
    The tenant shall pay rent of EUR 6,000 per month to the landlord in advance.\n\
    The weather in the city is often mild in spring and autumn.\n\
    The landlord keeps the office building insured and repairs the building structure.\n\
    The tenant shall not sublet the office without the landlord's written consent.\n\
    This lease is governed by the laws of Scotland.\n\
    Either party may end the lease of the office on three months written notice.\n\
    The tenant returns the office to the landlord in the state the tenant received it.\n\
    Music plays quietly in the lobby on most afternoons of the week.\n\
    The rent of the office is reviewed every year against the consumer price index.";

#[tokio::test]
async fn the_summary_and_key_terms_come_from_the_fields_or_else_the_text() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let (status, created) = json(&app, &acme, &acme.admin, Method::POST, "/api/v1/contracts",
        Some(json!({"title": "Office lease", "contract_type": "lease", "body": LEASE, "value": "72000.00", "currency": "EUR"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/contracts/{id}/summary");
    let (status, summary) = json(&app, &acme, &acme.admin, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let sentences = summary["extractive"].as_array().unwrap();
    assert_eq!(sentences.len(), 2, "{summary}");
    assert!(
        sentences
            .iter()
            .all(|s| !s["text"].as_str().unwrap().contains("weather")),
        "{summary}"
    );
    let term = |field: &str| {
        summary["key_terms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["field"] == field)
            .cloned()
    };
    let value = term("value").unwrap();
    assert_eq!(
        (value["source"].as_str(), &value["value"]),
        (
            Some("contract"),
            &json!({"amount": "72000.00", "currency": "EUR"})
        )
    );
    let law = term("governing_law").unwrap();
    assert_eq!(
        (law["source"].as_str(), law["value"].as_str()),
        (Some("text"), Some("Scotland"))
    );
    assert_eq!(
        law["passage"],
        "This lease is governed by the laws of Scotland."
    );
    assert_eq!(summary["body_redaction_id"], Value::Null);

    let viewer = viewer(&app, &acme).await;
    restrict_original(&app, &acme, id).await;
    let (status, copy) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{copy}");
    assert!(
        copy["body_redaction_id"].is_string(),
        "the copy's summary: {copy}"
    );
    let unknown = format!("/api/v1/contracts/{}/summary", uuid::Uuid::new_v4());
    assert_eq!(
        json(&app, &acme, &viewer, Method::GET, &unknown, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
