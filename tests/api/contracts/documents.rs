//! Contracts exported as PDF.

use super::*;

#[tokio::test]
async fn contracts_export_as_readable_pdf() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Globex Łódź Sp. z o.o."})),
        )
        .await;
    let id = clm
        .create(
            &clm.member,
            json!({"title": "Supply agreement – Škoda", "contract_type": "purchase_order",
        "counterparty_id": counterparty["id"], "value": "9800.00", "currency": "EUR",
        "body": "The supplier delivers widgets every month."}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{id}/pdf"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        String::from_utf8_lossy(&bytes).contains("/FontFile2"),
        "its font is embedded"
    );
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("the PDF reads back");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Supply agreement – Škoda",
        "Counterparty: Globex Łódź Sp. z o.o.",
        "Value: 9800.00 EUR",
        "The supplier delivers widgets every month.",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let missing = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{}/pdf", uuid::Uuid::new_v4()),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
