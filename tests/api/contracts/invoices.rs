//! Invoices through the real server: exact decimal totals, numbers per period without
//! gaps or duplicates under concurrent creation, the draft -> sent -> paid path with
//! payments, voiding that keeps the number, and the due date's timers.

use super::*;

async fn account(clm: &Clm) -> String {
    let (status, account) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Initech"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    account["id"].as_str().unwrap().to_owned()
}

fn invoice(account: &str, issue: &str) -> Value {
    json!({
        "account_id": account, "currency": "EUR", "issue_date": issue,
        "lines": [
            {"description": "Licences", "quantity": "3", "unit_price": "19.99",
             "discount_percent": "10", "tax_rate": "21"},
            {"description": "Support hours", "quantity": "0.3333", "unit_price": "3", "tax_rate": "7.5"}
        ]
    })
}

async fn create(clm: &Clm, body: Value) -> (StatusCode, Value) {
    clm.json(Method::POST, "/api/v1/invoices", &clm.member, Some(body))
        .await
}

#[tokio::test]
async fn invoices_total_exactly_number_without_gaps_and_keep_their_number_when_void() {
    let clm = Clm::new().await;
    let account = account(&clm).await;
    let (status, first) = create(&clm, invoice(&account, "2026-12-01")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["number"], "INV-2026-0001");
    assert_eq!(first["status"], "draft");
    assert_eq!(
        first["due_date"], "2026-12-31",
        "the tenant's 30 days of terms"
    );
    // 3 x 19.99 = 59.97, less 10% (5.997 -> 6.00) = 53.97, 21% tax 11.3337 -> 11.33;
    // 0.3333 x 3 = 0.9999 -> 1.00, 7.5% tax 0.075 -> 0.08 (half away from zero).
    let lines = first["lines"].as_array().unwrap();
    assert_eq!(
        (&lines[0]["net"], &lines[0]["tax"], &lines[0]["total"]),
        (&json!("53.97"), &json!("11.33"), &json!("65.30"))
    );
    assert_eq!(
        (&lines[1]["net"], &lines[1]["tax"]),
        (&json!("1.00"), &json!("0.08"))
    );
    assert_eq!(first["subtotal"], "60.97");
    assert_eq!(first["discount_total"], "6.00");
    assert_eq!(first["tax_total"], "11.41");
    assert_eq!(first["total"], "66.38");

    // Refused input writes nothing and uses up no number.
    let before = clm.count("select count(*) from t_acme.invoices").await;
    for body in [
        json!({"account_id": account, "currency": "EUR", "lines": []}),
        json!({"account_id": account, "currency": "EUR", "lines": [{"description": "x", "quantity": "1", "unit_price": 1.5}]}),
        json!({"account_id": account, "currency": "EUR", "lines": [{"description": "x", "quantity": "0", "unit_price": "1"}]}),
        json!({"account_id": account, "currency": "EUR", "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "tax_rate": "100.5"}]}),
        json!({"account_id": uuid::Uuid::new_v4(), "currency": "EUR", "lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]}),
        json!({"account_id": account, "currency": "EUR", "issue_date": "2026-12-01", "due_date": "2026-11-01",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]}),
    ] {
        let (status, answer) = create(&clm, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.invoices").await,
        before
    );
    let (_, second) = create(&clm, invoice(&account, "2026-12-02")).await;
    assert_eq!(
        second["number"], "INV-2026-0002",
        "no gap after the refusals"
    );
    let (_, next_year) = create(&clm, invoice(&account, "2027-01-04")).await;
    assert_eq!(
        next_year["number"], "INV-2027-0001",
        "a new year, a new counter"
    );

    // A draft changes; a sent invoice does not.
    let path = format!("/api/v1/invoices/{}", first["id"].as_str().unwrap());
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"lines": [{"description": "One thing", "quantity": "2", "unit_price": "50.005"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["total"], "100.01");
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"notes": "x"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (status, sent) = clm
        .json(Method::POST, &format!("{path}/send"), &clm.member, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["status"], "sent");
    let (status, answer) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"notes": "late"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"], "invalid_status");

    // Payments: never more than the balance; paid in full, it is paid.
    let pay =
        |amount: &str| json!({"amount": amount, "paid_on": "2026-12-10", "method": "transfer"});
    let (status, answer) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(pay("100.02")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"], "overpayment");
    let (_, partly) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(pay("40.00")),
        )
        .await;
    assert_eq!(
        (&partly["status"], &partly["balance"]),
        (&json!("partly_paid"), &json!("60.01")),
        "{partly}"
    );
    let (status, answer) = clm
        .json(
            Method::POST,
            &format!("{path}/void"),
            &clm.member,
            Some(json!({"reason": "oops"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"], "invalid_status");
    let (_, paid) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(pay("60.01")),
        )
        .await;
    assert_eq!(paid["status"], "paid");
    assert!(paid["paid_at"].is_string());
    let (_, full) = clm.json(Method::GET, &path, &clm.viewer, None).await;
    assert_eq!(full["payments"].as_array().unwrap().len(), 2);
    // Its PDF, for anyone who reads it.
    let response = clm
        .send(Method::GET, &format!("{path}/pdf"), &clm.viewer, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        response.headers()["content-disposition"],
        "inline; filename=\"INV-2026-0001.pdf\""
    );
    let bytes = response.bytes().await.unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("the PDF reads back");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Invoice INV-2026-0001",
        "Initech",
        "One thing: 2 x 50.005 EUR",
        "Total: 100.01 EUR",
        "Balance due: 0.00 EUR",
        "2026-12-10: 60.01 EUR by transfer",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_eq!(
        clm.status(
            Method::GET,
            &format!("/api/v1/invoices/{}/pdf", uuid::Uuid::new_v4()),
            &clm.viewer,
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // A void invoice keeps its number; the next one does not reuse it.
    let second_path = format!("/api/v1/invoices/{}", second["id"].as_str().unwrap());
    let (status, void) = clm
        .json(
            Method::POST,
            &format!("{second_path}/void"),
            &clm.member,
            Some(json!({"reason": "issued twice"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{void}");
    assert_eq!(
        (&void["status"], &void["number"]),
        (&json!("void"), &json!("INV-2026-0002"))
    );
    let (_, third) = create(&clm, invoice(&account, "2026-12-20")).await;
    assert_eq!(third["number"], "INV-2026-0003");

    // The format is the tenant's.
    let settings =
        json!({"number_format": "{YY}{MM}/{NNN}", "payment_terms_days": 14, "reminder_days": 3});
    assert_eq!(
        clm.status(
            Method::PUT,
            "/api/v1/invoice-settings",
            &clm.member,
            Some(settings.clone())
        )
        .await,
        StatusCode::FORBIDDEN
    );
    for bad in ["{MM}-{NNN}", "INV", "INV {NN}", "{NN}{NN}"] {
        let (status, _) = clm
            .json(
                Method::PUT,
                "/api/v1/invoice-settings",
                &clm.admin,
                Some(json!({"number_format": bad, "payment_terms_days": 14, "reminder_days": 3})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        clm.status(
            Method::PUT,
            "/api/v1/invoice-settings",
            &clm.admin,
            Some(settings)
        )
        .await,
        StatusCode::OK
    );
    let (_, monthly) = create(&clm, invoice(&account, "2026-12-21")).await;
    assert_eq!(monthly["number"], "2612/001");
    assert_eq!(monthly["due_date"], "2027-01-04");

    let events = clm
        .app
        .settled_events(HOST, &clm.admin, "/api/v1/events?entity=invoice", 10)
        .await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in [
        "invoice.created",
        "invoice.updated",
        "invoice.sent",
        "invoice.payment_recorded",
        "invoice.voided",
    ] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
}

#[tokio::test]
async fn concurrent_creators_get_every_number_once_and_none_is_skipped() {
    let clm = Clm::new().await;
    let account = account(&clm).await;
    let answers = futures::future::join_all((0..40).map(|n| {
        let mut body = invoice(&account, "2026-12-01");
        if n % 5 == 0 {
            // Refused after validation, inside the transaction: gives nothing away.
            body["contract_id"] = json!(uuid::Uuid::new_v4());
        }
        let clm = &clm;
        async move { create(clm, body).await }
    }))
    .await;
    let mut numbers: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, invoice)| invoice["number"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(numbers.len(), 32);
    numbers.sort();
    let expected: Vec<String> = (1..=32).map(|n| format!("INV-2026-{n:04}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn amounts_round_to_the_minor_unit_of_their_currency() {
    let clm = Clm::new().await;
    let account = account(&clm).await;
    // 3 x 333.5 = 1000.5 -> 1001 yen; 10% off 100.05 -> 100; 10% tax on 901 is 90.1 -> 90.
    let (status, yen) = create(
        &clm,
        json!({"account_id": account, "currency": "JPY", "lines": [
            {"description": "Seats", "quantity": "3", "unit_price": "333.5",
             "discount_percent": "10", "tax_rate": "10"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{yen}");
    let line = &yen["lines"][0];
    assert_eq!(
        (
            &line["gross"],
            &line["discount"],
            &line["net"],
            &line["tax"],
            &line["total"]
        ),
        (
            &json!("1001"),
            &json!("100"),
            &json!("901"),
            &json!("90"),
            &json!("991")
        )
    );
    assert_eq!(
        (&yen["subtotal"], &yen["total"]),
        (&json!("1001"), &json!("991"))
    );
    let path = format!("/api/v1/invoices/{}", yen["id"].as_str().unwrap());
    clm.json(Method::POST, &format!("{path}/send"), &clm.member, None)
        .await;
    let (status, refused) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(json!({"amount": "990.5"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no fractions of a yen: {refused}"
    );
    let (_, paid) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(json!({"amount": "991"})),
        )
        .await;
    assert_eq!(paid["status"], "paid", "{paid}");
    // 1.2345 dinars -> 1.235 (half away from zero); 5% tax 0.06175 -> 0.062.
    let (_, dinar) = create(
        &clm,
        json!({"account_id": account, "currency": "KWD", "lines": [
            {"description": "Audit", "quantity": "1", "unit_price": "1.2345", "tax_rate": "5"}]}),
    )
    .await;
    assert_eq!(
        (&dinar["subtotal"], &dinar["tax_total"], &dinar["total"]),
        (&json!("1.235"), &json!("0.062"), &json!("1.297")),
        "{dinar}"
    );
}

/// An invoice's waiting timers: (unique key, run at), soonest first.
async fn due_timers(
    client: &tokio_postgres::Client,
    id: &str,
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    client
        .query(
            "select unique_key, run_at from public.jobs where kind = 'invoices.due' \
             and state = 'scheduled' and unique_key like $1 order by run_at",
            &[&format!("invoice:{id}:%")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn an_unpaid_invoice_past_its_due_date_is_marked_overdue_by_its_timer() {
    let clm = Clm::new().await;
    let account = account(&clm).await;
    let mut late = invoice(&account, "2026-01-05");
    late["due_date"] = json!("2026-02-04");
    let (_, late) = create(&clm, late).await;
    let path = format!("/api/v1/invoices/{}", late["id"].as_str().unwrap());
    let (status, _) = clm
        .json(Method::POST, &format!("{path}/send"), &clm.member, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, now) = clm.json(Method::GET, &path, &clm.viewer, None).await;
        if now["status"] == "overdue" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{now}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Paying the rest closes it all the same.
    let (_, paid) = clm
        .json(
            Method::POST,
            &format!("{path}/payments"),
            &clm.member,
            Some(json!({"amount": late["total"]})),
        )
        .await;
    assert_eq!(paid["status"], "paid");

    // An invoice due later waits for its timers: the reminder three days before, the
    // overdue mark at the start of the next day.
    let mut later_body = invoice(&account, "2099-01-05");
    later_body["due_date"] = json!("2099-02-04");
    let (_, later) = create(&clm, later_body.clone()).await;
    let id = later["id"].as_str().unwrap();
    clm.json(
        Method::POST,
        &format!("/api/v1/invoices/{id}/send"),
        &clm.member,
        None,
    )
    .await;
    let client = clm.db.client().await;
    let timers = due_timers(&client, id).await;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    assert_eq!(
        timers,
        [
            (format!("invoice:{id}:reminder"), at("2099-02-01T09:00:00Z")),
            (format!("invoice:{id}:overdue"), at("2099-02-05T00:00:00Z")),
        ]
    );
    // Voided, its timers are cancelled.
    clm.json(
        Method::POST,
        &format!("/api/v1/invoices/{id}/void"),
        &clm.member,
        Some(json!({"reason": "cancelled order"})),
    )
    .await;
    assert!(due_timers(&client, id).await.is_empty());

    // In the tenant's zone: 09:00 there three days before, and its next midnight.
    let (status, _) = clm
        .json(
            Method::PUT,
            "/api/v1/notification-preferences/defaults",
            &clm.admin,
            Some(json!({"time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, zoned) = create(&clm, later_body.clone()).await;
    let id = zoned["id"].as_str().unwrap();
    clm.json(
        Method::POST,
        &format!("/api/v1/invoices/{id}/send"),
        &clm.member,
        None,
    )
    .await;
    let timers = due_timers(&client, id).await;
    assert_eq!(
        timers,
        [
            (format!("invoice:{id}:reminder"), at("2099-02-01T14:00:00Z")),
            (format!("invoice:{id}:overdue"), at("2099-02-05T05:00:00Z")),
        ]
    );

    // A new zone moves the timers of the invoices already sent, in the background;
    // the voided one gets none back.
    let (status, _) = clm
        .json(
            Method::PUT,
            "/api/v1/notification-preferences/defaults",
            &clm.admin,
            Some(json!({"time_zone": "Europe/Paris"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let settle = |expected: Vec<(String, chrono::DateTime<chrono::Utc>)>| {
        let client = &client;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let timers = due_timers(client, id).await;
                if timers == expected {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "{timers:?}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    settle(vec![
        (format!("invoice:{id}:reminder"), at("2099-02-01T08:00:00Z")),
        (format!("invoice:{id}:overdue"), at("2099-02-04T23:00:00Z")),
    ])
    .await;
    // No reminder wanted: only the overdue mark waits.
    let (status, settings) = clm
        .json(Method::GET, "/api/v1/invoice-settings", &clm.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut none = settings.clone();
    none["reminder_days"] = json!(0);
    let (status, _) = clm
        .json(
            Method::PUT,
            "/api/v1/invoice-settings",
            &clm.admin,
            Some(none),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    settle(vec![(
        format!("invoice:{id}:overdue"),
        at("2099-02-04T23:00:00Z"),
    )])
    .await;
    assert!(
        due_timers(&client, later["id"].as_str().unwrap())
            .await
            .is_empty(),
        "a voided invoice waits for nothing"
    );
    // The settings' audit names what changed, which is what moves timers.
    let changes: Value = client
        .query_one(
            "select changes from t_acme.audit_logs where entity = 'invoice_settings' \
             order by id desc limit 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(changes, json!({"reminder_days": {"old": 3, "new": 0}}));
}
