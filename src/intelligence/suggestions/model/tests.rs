use chrono::NaiveDate;

use super::*;

fn contract() -> ContractView {
    let at = chrono::DateTime::UNIX_EPOCH;
    ContractView {
        id: Uuid::nil(),
        title: "t".into(),
        contract_type: "msa".into(),
        status: crate::contracts::model::Status::Draft,
        value: Some("120000.5".into()),
        currency: Some("USD".into()),
        counterparty_id: None,
        owner_id: Uuid::nil(),
        start_date: NaiveDate::from_ymd_opt(2025, 3, 1),
        end_date: None,
        auto_renew: false,
        renewal_notice_days: None,
        tags: vec![],
        metadata: json!({"governing_law": "Scotland"}),
        body: None,
        version: 3,
        created_by: None,
        created_at: at,
        updated_by: None,
        updated_at: at,
        original_restricted: false,
        body_redaction_id: None,
        text_language: crate::kernel::language::TextLanguage::En,
        text_language_source: crate::contracts::model::TextLanguageSource::Detected,
    }
}

#[test]
fn what_the_contract_holds_is_compared_in_the_suggestions_form() {
    let c = contract();
    assert!(holds("effective_date", &c, &json!("2025-03-01")));
    assert!(!holds("effective_date", &c, &json!("2025-04-01")));
    assert!(holds(
        "value",
        &c,
        &json!({"amount": "120000.50", "currency": "USD"})
    ));
    assert!(!holds(
        "value",
        &c,
        &json!({"amount": "120000.50", "currency": "EUR"})
    ));
    assert!(holds("auto_renew", &c, &json!(false)));
    assert!(!holds("auto_renew", &c, &json!(true)));
    assert!(holds("governing_law", &c, &json!("Scotland")));
    assert_eq!(current("end_date", &c), None);
    assert_eq!(
        current("auto_renew", &c),
        None,
        "off is not a value to protect"
    );
    assert_eq!(current("payment_terms_days", &c), None);
}

#[test]
fn a_patch_fills_one_field_and_keeps_the_rest_of_the_metadata() {
    let c = contract();
    assert_eq!(
        patch("payment_terms_days", &json!(30), &c),
        json!({"metadata": {"governing_law": "Scotland", "payment_terms_days": 30}})
    );
    assert_eq!(
        patch("value", &json!({"amount": "10.00", "currency": "GBP"}), &c),
        json!({"value": "10.00", "currency": "GBP"})
    );
    assert_eq!(
        patch("effective_date", &json!("2025-04-01"), &c),
        json!({"start_date": "2025-04-01"})
    );
    assert_eq!(fills("effective_date"), "start_date");
    assert_eq!(fills(COUNTERPARTY), "counterparty_id");
}
