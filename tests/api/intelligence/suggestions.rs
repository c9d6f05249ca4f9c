//! Terms suggested from a contract's text, on a server without a model (the rules need
//! none): every term comes with its sentence; accepting fills the contract through the
//! contracts service (a new version, audited), never over a value it holds unless told
//! to; a rejected value is not offered again; a new text supersedes what it no longer
//! says; viewers read suggestions but do not decide them; bad input is a 400.

use super::*;

const SERVICES: &str = "MASTER SERVICES AGREEMENT\n\n\
This Master Services Agreement is made and entered into between Acme Corp., a Delaware \
corporation (\"Customer\"), and Globex Ltd (\"Supplier\"). It is effective as of March 1, 2025.\n\n\
1. Term. This Agreement shall continue for an initial term of twelve (12) months and shall \
automatically renew for successive one-year periods unless either party gives at least \
sixty (60) days' written notice of non-renewal.\n\n\
2. Fees. The total contract value shall not exceed $120,000.00. Customer shall pay each \
invoice within thirty (30) days of receipt of the invoice.\n\n\
3. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n";

/// The contract's suggestions in `status`, once the job has made at least `least`
/// of them, by field.
async fn suggestions(
    app: &TestApp,
    t: &Tenant,
    token: &str,
    contract: &str,
    status: &str,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, list) = json(
            app,
            t,
            token,
            Method::GET,
            &format!("/api/v1/contracts/{contract}/suggestions?status={status}"),
            None,
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{list}");
        let items = list.as_array().unwrap().clone();
        if until(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "suggestions never came: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The contract `id` as the admin reads it.
async fn read_contract(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let (status, contract) = json(
        app,
        t,
        &t.admin,
        Method::GET,
        &format!("/api/v1/contracts/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{contract}");
    contract
}

fn of<'a>(items: &'a [Value], field: &str) -> &'a Value {
    items
        .iter()
        .find(|s| s["field"] == field)
        .unwrap_or_else(|| panic!("no {field} in {items:?}"))
}

async fn decide(
    app: &TestApp,
    t: &Tenant,
    token: &str,
    contract: &str,
    suggestion: &Value,
    how: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let id = suggestion["id"].as_str().unwrap();
    json(
        app,
        t,
        token,
        Method::POST,
        &format!("/api/v1/contracts/{contract}/suggestions/{id}/{how}"),
        body,
    )
    .await
}

/// Accepts the open suggestion of each of `fields` as the admin.
async fn accept_each(app: &TestApp, t: &Tenant, contract: &str, open: &[Value], fields: &[&str]) {
    for field in fields {
        let suggestion = of(open, field);
        let (status, accepted) = decide(
            app,
            t,
            &t.admin,
            contract,
            suggestion,
            "accept",
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{field}: {accepted}");
        assert_eq!(accepted["suggestion"]["status"], "accepted");
    }
}

#[tokio::test]
async fn terms_are_suggested_with_their_sentences_and_accepted_through_the_contract() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let (status, globex) = json(
        &app,
        &acme,
        &acme.admin,
        Method::POST,
        "/api/v1/counterparties",
        Some(json!({"name": "Globex Ltd"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{globex}");
    let id = create(&app, &acme, "Globex services", SERVICES).await;

    let all = |items: &[Value]| items.len() >= 9;
    let open = suggestions(&app, &acme, &acme.admin, &id, "open", all).await;
    let value = |field: &str| of(&open, field)["value"].clone();
    assert_eq!(value("parties"), json!(["Acme Corp.", "Globex Ltd"]));
    assert_eq!(
        value("counterparty"),
        json!({"id": globex["id"], "name": "Globex Ltd"})
    );
    assert_eq!(value("effective_date"), json!("2025-03-01"));
    assert_eq!(value("term_months"), json!(12));
    assert_eq!(value("auto_renew"), json!(true));
    assert_eq!(value("renewal_notice_days"), json!(60));
    assert_eq!(
        value("value"),
        json!({"amount": "120000.00", "currency": "USD"})
    );
    assert_eq!(value("payment_terms_days"), json!(30));
    assert_eq!(value("governing_law"), json!("State of New York"));
    let law = of(&open, "governing_law");
    assert_eq!(
        law["passage"],
        "This Agreement shall be governed by the laws of the State of New York."
    );
    assert_eq!(law["fills"], "metadata.governing_law");
    let chars: Vec<char> = SERVICES.chars().collect();
    let (from, to) = (
        law["start_char"].as_u64().unwrap() as usize,
        law["end_char"].as_u64().unwrap() as usize,
    );
    assert!(chars[from..to]
        .iter()
        .collect::<String>()
        .contains("State of New York"));
    assert!(open.iter().all(|s| s["confidence"].as_f64().unwrap() > 0.0));
    let untouched = read_contract(&app, &acme, &id).await;
    assert_eq!(
        (untouched["version"].as_i64(), &untouched["start_date"]),
        (Some(1), &Value::Null),
        "the job writes nothing to the contract"
    );

    // Accepting fills the field as a new version, through the service.
    let fields = ["effective_date", "value", "counterparty", "governing_law"];
    accept_each(&app, &acme, &id, &open, &fields).await;
    let contract = read_contract(&app, &acme, &id).await;
    assert_eq!(contract["start_date"], "2025-03-01");
    assert_eq!(
        (contract["value"].as_str(), contract["currency"].as_str()),
        (Some("120000.00"), Some("USD"))
    );
    assert_eq!(contract["counterparty_id"], globex["id"]);
    assert_eq!(contract["metadata"]["governing_law"], "State of New York");
    assert_eq!(contract["version"], 5);
    let (status, again) = decide(
        &app,
        &acme,
        &acme.admin,
        &id,
        of(&open, "value"),
        "accept",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::CONFLICT, Some("suggestion_decided"))
    );
    let events = app
        .settled_events(
            &acme.host,
            &acme.admin,
            "/api/v1/events?type=contract.suggestion_accepted",
            4,
        )
        .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 4, "{events}");

    // Nothing is overwritten silently.
    let (status, patched) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/contracts/{id}"),
        Some(json!({"version": 5, "metadata": {"governing_law": "State of New York", "payment_terms_days": 45}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let payment = of(&open, "payment_terms_days");
    let (status, refused) = decide(
        &app,
        &acme,
        &acme.admin,
        &id,
        payment,
        "accept",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("field_already_set")),
        "{refused}"
    );
    assert_eq!(refused["details"]["current"], 45);
    let (status, replaced) = decide(
        &app,
        &acme,
        &acme.admin,
        &id,
        payment,
        "accept",
        Some(json!({"replace": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["contract"]["metadata"]["payment_terms_days"], 30);

    // A rejected value is not offered again; a new text supersedes what it no longer says.
    let (status, rejected) = decide(
        &app,
        &acme,
        &acme.admin,
        &id,
        of(&open, "renewal_notice_days"),
        "reject",
        None,
    )
    .await;
    assert_eq!(
        (status, rejected["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let version = replaced["contract"]["version"].as_i64().unwrap();
    let reworded = SERVICES
        .replace(
            "effective as of March 1, 2025",
            "effective as of April 1, 2025",
        )
        .replace(
            "for an initial term of twelve (12) months and shall",
            "and shall",
        );
    let (status, patched) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/contracts/{id}"),
        Some(json!({"version": version, "body": reworded})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let moved = |items: &[Value]| {
        items
            .iter()
            .any(|s| s["field"] == "effective_date" && s["value"] == "2025-04-01")
    };
    let open = suggestions(&app, &acme, &acme.admin, &id, "open", moved).await;
    let fields: Vec<&str> = open.iter().map(|s| s["field"].as_str().unwrap()).collect();
    assert!(
        !fields.contains(&"renewal_notice_days"),
        "rejected, not offered again: {fields:?}"
    );
    assert!(
        !fields.contains(&"term_months"),
        "no longer said: {fields:?}"
    );
    assert!(
        !fields.contains(&"value"),
        "the contract holds it: {fields:?}"
    );
    let superseded = suggestions(&app, &acme, &acme.admin, &id, "superseded", |i| {
        !i.is_empty()
    })
    .await;
    assert_eq!(of(&superseded, "term_months")["value"], 12);
}

const LIEFERVERTRAG: &str = "RAHMENLIEFERVERTRAG\n\n\
Dieser Vertrag wird geschlossen zwischen der Alpenmilch Genossenschaft, Bern, und der \
Feinkost Brunner AG, Zürich.\n\n\
1. Der Vertrag tritt am 1. März 2025 in Kraft und wird für zwei Jahre fest abgeschlossen. \
Er verlängert sich stillschweigend um jeweils ein Jahr, wenn er nicht mit einer Frist von \
drei Monaten zum Ende der Laufzeit gekündigt wird.\n\
2. Das Auftragsvolumen beträgt insgesamt CHF 240'000.–. Rechnungen sind innerhalb von \
30 Tagen nach Rechnungseingang zahlbar.\n\
3. Dieser Vertrag untersteht schweizerischem Recht.\n";

#[tokio::test]
async fn a_german_contracts_terms_are_suggested_and_accepted_as_english_ones_are() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let id = create(&app, &acme, "Rahmenliefervertrag", LIEFERVERTRAG).await;

    let all = |items: &[Value]| items.len() >= 8;
    let open = suggestions(&app, &acme, &acme.admin, &id, "open", all).await;
    let value = |field: &str| of(&open, field)["value"].clone();
    assert_eq!(
        value("parties"),
        json!(["Alpenmilch Genossenschaft", "Feinkost Brunner AG"])
    );
    assert_eq!(value("effective_date"), json!("2025-03-01"));
    assert_eq!(value("term_months"), json!(24));
    assert_eq!(value("auto_renew"), json!(true));
    // Three months counted at their longest, so a reminder from it is never late.
    assert_eq!(value("renewal_notice_days"), json!(92));
    assert_eq!(
        value("value"),
        json!({"amount": "240000.00", "currency": "CHF"})
    );
    assert_eq!(value("payment_terms_days"), json!(30));
    assert_eq!(value("governing_law"), json!("Switzerland"));
    assert_eq!(
        of(&open, "governing_law")["passage"],
        "Dieser Vertrag untersteht schweizerischem Recht."
    );

    let fields = [
        "effective_date",
        "value",
        "renewal_notice_days",
        "auto_renew",
    ];
    accept_each(&app, &acme, &id, &open, &fields).await;
    let contract = read_contract(&app, &acme, &id).await;
    assert_eq!(contract["start_date"], "2025-03-01");
    assert_eq!(
        (contract["value"].as_str(), contract["currency"].as_str()),
        (Some("240000.00"), Some("CHF"))
    );
    assert_eq!(contract["renewal_notice_days"], 92);
    assert_eq!(contract["auto_renew"], true);
}

#[tokio::test]
async fn viewers_read_suggestions_and_only_editors_decide_them() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let id = create(
        &app,
        &acme,
        "Lease",
        "This lease is governed by the laws of Scotland.",
    )
    .await;
    let viewer = viewer(&app, &acme).await;
    let open = suggestions(&app, &acme, &viewer, &id, "open", |i| !i.is_empty()).await;
    let law = of(&open, "governing_law");
    assert_eq!(law["value"], "Scotland");
    for how in ["accept", "reject"] {
        let (status, _) = decide(&app, &acme, &viewer, &id, law, how, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{how}");
    }

    // Bad input is a 400 naming it, an unknown suggestion a 404; nothing changes.
    let path = format!(
        "/api/v1/contracts/{id}/suggestions/{}/accept",
        law["id"].as_str().unwrap()
    );
    for bad in [
        json!([]),
        json!({"replace": "yes"}),
        json!({"version": 1, "extra": 1}),
        json!({"version": 0}),
    ] {
        let (status, error) = json(
            &app,
            &acme,
            &acme.admin,
            Method::POST,
            &path,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{id}/suggestions?status=maybe"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let unknown = json!({"id": uuid::Uuid::new_v4()});
    let (status, _) = decide(&app, &acme, &acme.admin, &id, &unknown, "reject", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{}/suggestions", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let still = suggestions(&app, &acme, &acme.admin, &id, "open", |i| !i.is_empty()).await;
    assert_eq!(still.len(), open.len());
    let contract = read_contract(&app, &acme, &id).await;
    assert_eq!(contract["version"], 1);
}
