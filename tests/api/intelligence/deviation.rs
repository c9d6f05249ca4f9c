//! Risk weighs a contract's clause against the tenant's standard clause of its
//! category by meaning: wording that makes the standard's promise passes, a clause of
//! the category that promises something else is a `deviates_from_standard` finding
//! with the standard text beside it; a new standard has contracts weighed against it
//! again; with the check off there is none; a similarity outside 0 to 1 is refused.

use super::*;

const STANDARD: &str = "Each party shall keep the other party's confidential information secret \
    and use it only to perform this agreement.";
const ALIKE: &str = "Both sides must keep each other's confidential information secret and use \
    it solely for the purposes of this contract.";
const UNLIKE: &str = "Confidential: the bakery may print the customer's company name and logo on \
    every cake box it sells at the summer fair.";

/// Risk assessments still to run, in every tenant.
const ASSESSMENTS_WAITING: &str = "select count(*) from public.jobs \
    where kind = 'intelligence.assess_risk' \
    and state in ('scheduled', 'available', 'running', 'retryable')";

/// Library clauses still to read and risk assessments still to run, in every tenant.
const LIBRARY_AND_ASSESSMENTS_WAITING: &str = "select count(*) from public.jobs \
    where kind in ('intelligence.embed_clause', 'intelligence.assess_risk') \
    and state in ('scheduled', 'available', 'running', 'retryable')";

async fn settled(db: &TestDb, sql: &str) {
    db.until_none(sql, Duration::from_secs(120), sql).await;
}

/// Sets a policy that checks only deviation, at `least` (absent when null).
async fn check_deviation(app: &TestApp, t: &Tenant, least: Value) -> (StatusCode, Value) {
    let mut policy = json!({"forbidden_terms": [], "max_payment_days": null,
        "require_liability_cap": false, "renewal_needs_notice": false, "required_categories": false});
    if !least.is_null() {
        policy["deviation_min_similarity"] = least;
    }
    put_policy(app, t, policy).await
}

async fn findings(app: &TestApp, t: &Tenant, id: &str) -> Vec<Value> {
    let (status, risk) = json(
        app,
        t,
        &t.admin,
        Method::GET,
        &format!("/api/v1/contracts/{id}/risk"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{risk}");
    risk["findings"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_clause_unlike_the_standard_of_its_category_is_a_finding_beside_it() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;
    let clause = library_clause(&app, &acme, "Confidentiality", "confidentiality", STANDARD).await;
    settled(
        &db,
        "select count(*) from t_acme.clauses c where not exists \
        (select 1 from t_acme.clause_vectors v where v.clause_id = c.id)",
    )
    .await;

    for bad in [json!(-0.1), json!(1.5), json!("high")] {
        let (status, error) = check_deviation(&app, &acme, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
    let (status, policy) = check_deviation(&app, &acme, json!(0.5)).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert!((policy["deviation_min_similarity"].as_f64().unwrap() - 0.5).abs() < 1e-6);

    let alike = create(&app, &acme, "Alike", ALIKE).await;
    let unlike = create(&app, &acme, "Unlike", UNLIKE).await;
    embedded(&db, "t_acme").await;
    settled(&db, ASSESSMENTS_WAITING).await;

    let found = findings(&app, &acme, &unlike).await;
    let deviation = found
        .iter()
        .find(|f| f["code"] == "deviates_from_standard")
        .unwrap_or_else(|| panic!("no deviation in {found:?}"));
    assert_eq!(deviation["severity"], "low");
    assert_eq!(deviation["category"], "confidentiality");
    assert!(
        deviation["passage"].as_str().unwrap().contains("cake box"),
        "{deviation}"
    );
    assert_eq!(deviation["standard"]["clause_id"], clause["id"]);
    assert_eq!(deviation["standard"]["text"], STANDARD);
    assert!(
        deviation["standard"]["similarity"].as_f64().unwrap() < 0.5,
        "{deviation}"
    );
    let found = findings(&app, &acme, &alike).await;
    assert!(
        found.iter().all(|f| f["code"] != "deviates_from_standard"),
        "the standard's promise in other words passes: {found:?}"
    );

    // The standard changes: contracts are weighed against the new one without being
    // touched themselves.
    let (status, edited) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/clauses/{}", clause["id"].as_str().unwrap()),
        Some(json!({"body": UNLIKE})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    settled(&db, LIBRARY_AND_ASSESSMENTS_WAITING).await;
    let found = findings(&app, &acme, &alike).await;
    let deviation = found
        .iter()
        .find(|f| f["code"] == "deviates_from_standard")
        .unwrap_or_else(|| panic!("the old promise now deviates: {found:?}"));
    assert_eq!(deviation["standard"]["text"], UNLIKE);
    let found = findings(&app, &acme, &unlike).await;
    assert!(
        found.iter().all(|f| f["code"] != "deviates_from_standard"),
        "the new standard's own words pass: {found:?}"
    );

    // Off again: a re-assessment finds no deviation.
    let (status, _) = check_deviation(&app, &acme, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    settled(&db, ASSESSMENTS_WAITING).await;
    let found = findings(&app, &acme, &unlike).await;
    assert!(
        found.iter().all(|f| f["code"] != "deviates_from_standard"),
        "{found:?}"
    );
}
