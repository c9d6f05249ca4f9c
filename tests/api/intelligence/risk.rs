//! Risk under the tenant's policy, on a server without a model: a contract breaking
//! each rule gets a finding with its reason and sentence and the level of the worst;
//! a workflow trigger rule on `risk_level` matches it; a new text is assessed again and
//! a later change of level is an event; a change of policy re-assesses; viewers read risk
//! but only admins set the policy; bad policies are a 400 and change nothing; the policy
//! sets how severe each finding is, and so which contracts a workflow on `risk_level`
//! takes; its limits on renewal notice, governing law and term read the contract's
//! fields before its text.

use super::*;

const RISKY: &str =
    "Customer pays each invoice within ninety (90) days of receipt of the invoice. \
    The supplier accepts unlimited liability for any loss.";
const SOUND: &str =
    "Customer pays each invoice within thirty (30) days of receipt of the invoice. \
    The supplier's liability is limited to the fees paid in the preceding twelve months. \
    Either party may terminate this agreement on sixty days written notice. \
    This agreement is governed by the laws of Scotland.";

/// The contract's risk once it has been assessed at `version` or later.
async fn risk(app: &TestApp, t: &Tenant, token: &str, contract: &str, version: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, risk) = json(
            app,
            t,
            token,
            Method::GET,
            &format!("/api/v1/contracts/{contract}/risk"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{risk}");
        if risk["assessed"] == true && risk["contract_version"].as_i64() >= Some(version) {
            return risk;
        }
        assert!(Instant::now() < deadline, "never assessed: {risk}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Edits contract `id` as the admin.
async fn patch(app: &TestApp, t: &Tenant, id: &str, body: Value) {
    let (status, patched) = json(
        app,
        t,
        &t.admin,
        Method::PATCH,
        &format!("/api/v1/contracts/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
}

/// The workflow match report for contract `id`.
async fn matched(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let (status, report) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        "/api/v1/workflows/match",
        Some(json!({"contract_id": id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

/// The contract's risk once a change of policy has brought it to `level`.
async fn risk_at_level(app: &TestApp, t: &Tenant, contract: &str, level: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = risk(app, t, &t.admin, contract, 1).await;
        if now["level"] == level {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the policy change was never applied: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The tenant's risk policy as an admin reads it.
async fn policy_now(app: &TestApp, t: &Tenant) -> Value {
    let (status, policy) = json(app, t, &t.admin, Method::GET, "/api/v1/risk-policy", None).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    policy
}

fn default_severities() -> Value {
    json!({"forbidden_term": "high", "no_liability_cap": "high", "missing_clause": "medium",
        "missing_clause_by_category": {}, "payment_terms_too_long": "medium",
        "renewal_without_notice": "medium", "renewal_notice_too_long": "medium",
        "governing_law_not_allowed": "medium", "term_too_long": "medium",
        "deviates_from_standard": "low"})
}

fn codes(risk: &Value) -> Vec<String> {
    risk["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_none_found(risk: &Value) {
    assert_eq!(
        (risk["level"].as_str(), codes(risk)),
        (Some("none"), vec![]),
        "{risk}"
    );
}

#[tokio::test]
async fn contracts_are_weighed_against_the_policy_and_workflows_read_the_level() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let policy = json!({"forbidden_terms": ["unlimited liability"], "max_payment_days": 45,
        "require_liability_cap": true, "renewal_needs_notice": true, "required_categories": true,
        "deviation_min_similarity": null});
    let (status, set) = put_policy(&app, &acme, policy.clone()).await;
    // A policy written before severities and limits could be set keeps working, with
    // the defaults.
    let mut with_defaults = policy.clone();
    with_defaults["severities"] = default_severities();
    with_defaults["max_renewal_notice_days"] = Value::Null;
    with_defaults["allowed_governing_laws"] = json!([]);
    with_defaults["max_term_months"] = Value::Null;
    assert_eq!((status, &set), (StatusCode::OK, &with_defaults));
    let stages = json!([{"stage_name": "Risk review", "sequence": 1, "approvers": ["role:admin"], "approval_type": "any"}]);
    let (status, high_risk) = json(&app, &acme, &acme.admin, Method::POST, "/api/v1/workflows",
        Some(json!({"name": "High risk", "trigger_conditions": {"risk_level": "high"}, "priority": 90, "stages": stages}))).await;
    assert_eq!(status, StatusCode::CREATED, "{high_risk}");

    let id = create(&app, &acme, "Risky services", RISKY).await;
    let assessed = risk(&app, &acme, &acme.admin, &id, 1).await;
    assert_eq!(assessed["level"], "high");
    let found = codes(&assessed);
    for code in [
        "forbidden_term",
        "no_liability_cap",
        "missing_clause",
        "payment_terms_too_long",
    ] {
        assert!(found.contains(&code.to_owned()), "{code} in {found:?}");
    }
    let findings = assessed["findings"].as_array().unwrap();
    let missing: Vec<&str> = findings
        .iter()
        .filter(|f| f["code"] == "missing_clause")
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        ["termination", "governing_law"],
        "an msa requires them"
    );
    let late = findings
        .iter()
        .find(|f| f["code"] == "payment_terms_too_long")
        .unwrap();
    assert!(
        late["passage"]
            .as_str()
            .unwrap()
            .contains("ninety (90) days"),
        "{late}"
    );
    let report = matched(&app, &acme, &id).await;
    assert_eq!(report["winner"], high_risk["id"], "{report}");

    // A new text is assessed again; the change of level is an event.
    patch(&app, &acme, &id, json!({"version": 1, "body": SOUND})).await;
    let sound = risk(&app, &acme, &acme.admin, &id, 2).await;
    assert_none_found(&sound);
    let report = matched(&app, &acme, &id).await;
    assert_ne!(report["winner"], high_risk["id"], "{report}");
    let events = app
        .settled_events(
            &acme.host,
            &acme.admin,
            &format!("/api/v1/events?type=contract.risk_assessed&entity_id={id}"),
            1,
        )
        .await;
    let items = events["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "a first assessment is no event, a change of level is: {events}"
    );

    // A change of policy is applied to every contract.
    let stricter = json!({"forbidden_terms": ["Scotland"], "max_payment_days": 45,
        "require_liability_cap": true, "renewal_needs_notice": true, "required_categories": true});
    let (status, _) = put_policy(&app, &acme, stricter).await;
    assert_eq!(status, StatusCode::OK);
    let under_stricter = risk_at_level(&app, &acme, &id, "high").await;
    assert_eq!(codes(&under_stricter), ["forbidden_term"]);
}

#[tokio::test]
async fn viewers_read_risk_and_only_admins_set_a_valid_policy() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let viewer = viewer(&app, &acme).await;
    let (status, defaults) = json(
        &app,
        &acme,
        &viewer,
        Method::GET,
        "/api/v1/risk-policy",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        defaults,
        json!({"forbidden_terms": [], "max_payment_days": null,
        "require_liability_cap": true, "renewal_needs_notice": true, "required_categories": true,
        "deviation_min_similarity": null, "severities": default_severities(),
        "max_renewal_notice_days": null, "allowed_governing_laws": [], "max_term_months": null})
    );
    let (status, _) = json(
        &app,
        &acme,
        &viewer,
        Method::PUT,
        "/api/v1/risk-policy",
        Some(defaults.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let many: Vec<String> = (0..101).map(|i| format!("term {i}")).collect();
    let mut bad = vec![json!([]), json!({"forbidden_terms": []})];
    for (key, value) in [
        ("max_payment_days", json!(0)),
        ("max_payment_days", json!(366)),
        ("forbidden_terms", json!(many)),
        ("forbidden_terms", json!([""])),
        ("forbidden_terms", json!(["x".repeat(201)])),
        ("extra", json!(1)),
        ("max_renewal_notice_days", json!(0)),
        ("max_renewal_notice_days", json!(3651)),
        ("max_renewal_notice_days", json!("90")),
        ("max_term_months", json!(0)),
        ("max_term_months", json!(1201)),
        ("max_term_months", json!(12.5)),
        ("allowed_governing_laws", json!("England")),
        ("allowed_governing_laws", json!([""])),
        ("allowed_governing_laws", json!(["--"])),
        ("allowed_governing_laws", json!(["x".repeat(101)])),
        ("allowed_governing_laws", json!([1])),
        (
            "allowed_governing_laws",
            json!((0..51).map(|i| format!("Law {i}")).collect::<Vec<_>>()),
        ),
        ("severities", json!({"term_too_long": "none"})),
        ("severities", json!([])),
        ("severities", json!({"missing_clause": "none"})),
        ("severities", json!({"missing_clause": "critical"})),
        ("severities", json!({"late_payment": "high"})),
        (
            "severities",
            json!({"missing_clause_by_category": {"indemnities": "high"}}),
        ),
        (
            "severities",
            json!({"missing_clause_by_category": ["termination"]}),
        ),
    ] {
        let mut body = defaults.clone();
        body[key] = value;
        bad.push(body);
    }
    for body in bad {
        let (status, error) = put_policy(&app, &acme, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let unchanged = policy_now(&app, &acme).await;
    assert_eq!(unchanged, defaults);

    let id = create(
        &app,
        &acme,
        "Lease",
        "The tenant shall pay the rent monthly. This lease renews automatically.",
    )
    .await;
    let assessed = risk(&app, &acme, &viewer, &id, 1).await;
    assert_eq!(assessed["level"], "medium");
    assert!(
        codes(&assessed).contains(&"renewal_without_notice".to_owned()),
        "{assessed}"
    );
    let (status, _) = json(
        &app,
        &acme,
        &viewer,
        Method::GET,
        &format!("/api/v1/contracts/{}/risk", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_policy_weighs_each_finding_and_workflows_follow_its_weight() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let stages = json!([{"stage_name": "Risk review", "sequence": 1, "approvers": ["role:admin"], "approval_type": "any"}]);
    let (status, high_risk) = json(&app, &acme, &acme.admin, Method::POST, "/api/v1/workflows",
        Some(json!({"name": "High risk", "trigger_conditions": {"risk_level": "high"}, "priority": 90, "stages": stages}))).await;
    assert_eq!(status, StatusCode::CREATED, "{high_risk}");
    // An MSA requires termination, liability and governing law; this one has none.
    let id = create(
        &app,
        &acme,
        "Services",
        "Customer pays each invoice within thirty (30) days of receipt of the invoice.",
    )
    .await;
    let before = risk(&app, &acme, &acme.admin, &id, 1).await;
    assert_eq!(before["level"], "medium", "{before}");

    let policy = json!({"forbidden_terms": [], "max_payment_days": null,
        "require_liability_cap": true, "renewal_needs_notice": true, "required_categories": true,
        "severities": {"missing_clause": "low",
            "missing_clause_by_category": {"termination": "high"}}});
    let (status, set) = put_policy(&app, &acme, policy).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let mut shown = default_severities();
    shown["missing_clause"] = json!("low");
    shown["missing_clause_by_category"] = json!({"termination": "high"});
    assert_eq!(set["severities"], shown, "every code with what applies");
    let read = policy_now(&app, &acme).await;
    assert_eq!(read, set);

    let weighed = risk_at_level(&app, &acme, &id, "high").await;
    let by_category: Vec<(&str, &str)> = weighed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["category"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_category,
        [
            ("termination", "high"),
            ("liability", "low"),
            ("governing_law", "low")
        ],
        "{weighed}"
    );
    let report = matched(&app, &acme, &id).await;
    assert_eq!(report["winner"], high_risk["id"], "{report}");
}

const BEYOND_LIMITS: &str = "This Agreement commences on 1 March 2026 and continues for an \
    initial term of five (5) years. It renews automatically for successive one-year terms \
    unless either party gives notice of non-renewal at least one hundred and twenty (120) days \
    before the end of the then-current term. This Agreement is governed by the laws of the \
    State of New York.";

#[tokio::test]
async fn the_policy_limits_renewal_notice_governing_law_and_term() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let policy = json!({"forbidden_terms": [], "max_payment_days": 45,
        "require_liability_cap": true, "renewal_needs_notice": true, "required_categories": false,
        "max_renewal_notice_days": 90, "allowed_governing_laws": ["England", "Germany"],
        "max_term_months": 36, "severities": {"governing_law_not_allowed": "high"}});
    let (status, set) = put_policy(&app, &acme, policy).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["allowed_governing_laws"], json!(["England", "Germany"]));
    assert_eq!(policy_now(&app, &acme).await, set);

    // What the text says breaks each limit, each finding quoting its sentence.
    let id = create(&app, &acme, "Services", BEYOND_LIMITS).await;
    let assessed = risk(&app, &acme, &acme.admin, &id, 1).await;
    assert_eq!(assessed["level"], "high", "{assessed}");
    let findings = assessed["findings"].as_array().unwrap();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("governing_law_not_allowed", "high"),
            ("renewal_notice_too_long", "medium"),
            ("term_too_long", "medium")
        ],
        "{assessed}"
    );
    for (code, quoted) in [
        ("governing_law_not_allowed", "State of New York"),
        ("renewal_notice_too_long", "(120) days"),
        ("term_too_long", "five (5) years"),
    ] {
        let finding = findings.iter().find(|f| f["code"] == code).unwrap();
        assert!(
            finding["passage"].as_str().unwrap().contains(quoted),
            "{finding}"
        );
    }

    // The contract's own fields outrank its text: within the limits, nothing is found.
    patch(
        &app,
        &acme,
        &id,
        json!({"version": 1, "renewal_notice_days": 60, "auto_renew": true,
            "start_date": "2026-03-01", "end_date": "2028-02-29",
            "metadata": {"governing_law": "England and Wales"}}),
    )
    .await;
    let within = risk(&app, &acme, &acme.admin, &id, 2).await;
    assert_none_found(&within);

    // Numbers of the metadata are anyone's JSON: one far beyond any range is still
    // weighed, not a failed assessment.
    patch(
        &app,
        &acme,
        &id,
        json!({"version": 2, "start_date": null, "end_date": null,
            "metadata": {"governing_law": "England", "term_months": 1e30,
                "payment_terms_days": 1e300}}),
    )
    .await;
    let huge = risk(&app, &acme, &acme.admin, &id, 3).await;
    assert_eq!(
        codes(&huge),
        ["payment_terms_too_long", "term_too_long"],
        "{huge}"
    );
}
