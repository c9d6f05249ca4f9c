//! The dashboards and the one search through the real server, each figure and each
//! hit checked against records made for it.

use super::*;

async fn post(clm: &Clm, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = clm
        .json(Method::POST, path, token, Some(body.clone()))
        .await;
    assert!(status.is_success(), "{path} {body} -> {status} {answer}");
    answer
}

async fn board(clm: &Clm, path: &str) -> Value {
    let (status, answer) = clm.json(Method::GET, path, &clm.viewer, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

#[tokio::test]
async fn dashboards_sum_the_pipeline_wins_accounts_renewals_and_overdue_invoices() {
    let clm = Clm::new().await;
    let account = post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Dash Co"}),
    )
    .await;
    let account = account["id"].as_str().unwrap().to_owned();
    // Two wins and a loss for the member, a loss for the manager.
    for (token, name, amount, outcome) in [
        (&clm.member, "W1", "1000", Some("won")),
        (&clm.member, "W2", "500.50", Some("won")),
        (&clm.member, "L1", "200", Some("lost")),
        (&clm.manager, "L2", "300", Some("lost")),
        (&clm.member, "Open", "4000", None),
    ] {
        let deal = post(
            &clm,
            token,
            "/api/v1/opportunities",
            json!({"name": name, "account_id": account, "amount": amount, "currency": "EUR",
                   "stage": "proposal"}),
        )
        .await;
        let path = format!("/api/v1/opportunities/{}", deal["id"].as_str().unwrap());
        match outcome {
            Some("won") => {
                post(&clm, token, &format!("{path}/win"), json!({})).await;
            }
            Some(_) => {
                let (status, _) = clm
                    .json(
                        Method::PATCH,
                        &path,
                        token,
                        Some(json!({"stage": "lost", "lost_reason": "price"})),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
            }
            None => {}
        }
    }
    let pipeline = board(&clm, "/api/v1/dashboards/pipeline").await;
    let proposal = pipeline
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["stage"] == "proposal")
        .unwrap();
    assert_eq!(
        (&proposal["amount"], &proposal["weighted"]),
        (&json!("4000"), &json!("2000.00"))
    );
    let won = pipeline
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["stage"] == "won")
        .unwrap();
    assert_eq!(
        (&won["count"], &won["amount"]),
        (&json!(2), &json!("1500.50"))
    );

    let rates = board(&clm, "/api/v1/dashboards/win-rate").await;
    let member = rates
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["owner_name"] == "member@example.com")
        .unwrap();
    assert_eq!(
        (
            &member["won"],
            &member["lost"],
            &member["win_rate"],
            &member["won_amount"]
        ),
        (&json!(2), &json!(1), &json!("0.6667"), &json!("1500.50"))
    );
    for query in [
        "from=2026-13-01",
        "from=2027-01-01&to=2026-01-01",
        "bogus=1",
    ] {
        assert_eq!(
            clm.status(
                Method::GET,
                &format!("/api/v1/dashboards/win-rate?{query}"),
                &clm.viewer,
                None
            )
            .await,
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }

    // Contract value by account, and renewals due: an executed contract ending soon.
    let today = chrono::Utc::now().date_naive();
    let soon = today + chrono::Duration::days(30);
    let contract = clm
        .create(
            &clm.member,
            json!({"title": "Renew me", "contract_type": "msa", "body": "x", "value": "9000.00",
                   "currency": "EUR", "counterparty_id": account, "start_date": "2026-01-01",
                   "end_date": soon.to_string(), "renewal_notice_days": 10}),
        )
        .await;
    let id = contract["id"].as_str().unwrap();
    for to in ["in_review", "approved", "executed"] {
        assert_eq!(clm.transition(&clm.manager, id, to).await.0, StatusCode::OK);
    }
    let value = board(&clm, "/api/v1/dashboards/account-value").await;
    assert_eq!(
        (
            &value[0]["account_name"],
            &value[0]["value"],
            &value[0]["contracts"]
        ),
        (&json!("Dash Co"), &json!("9000.00"), &json!(1))
    );
    let renewals = board(&clm, "/api/v1/dashboards/renewals").await;
    assert_eq!(renewals[0]["contract_id"], id);
    assert_eq!(
        renewals[0]["notice_date"],
        (soon - chrono::Duration::days(10)).to_string()
    );
    assert_eq!(
        board(&clm, "/api/v1/dashboards/renewals?days=7").await,
        json!([])
    );
    assert_eq!(
        clm.status(
            Method::GET,
            "/api/v1/dashboards/renewals?days=0",
            &clm.viewer,
            None
        )
        .await,
        StatusCode::BAD_REQUEST
    );

    // Overdue invoices, by how late they are.
    let invoice = post(
        &clm,
        &clm.member,
        "/api/v1/invoices",
        json!({"account_id": account, "currency": "EUR",
               "issue_date": (today - chrono::Duration::days(80)).to_string(),
               "due_date": (today - chrono::Duration::days(45)).to_string(),
               "lines": [{"description": "Late", "quantity": "1", "unit_price": "250"}]}),
    )
    .await;
    let path = format!("/api/v1/invoices/{}", invoice["id"].as_str().unwrap());
    post(&clm, &clm.member, &format!("{path}/send"), json!({})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let overdue = loop {
        let rows = board(&clm, "/api/v1/dashboards/overdue-invoices").await;
        if !rows.as_array().unwrap().is_empty() {
            break rows;
        }
        assert!(std::time::Instant::now() < deadline, "never overdue");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        overdue,
        json!([{"currency": "EUR", "count": 1, "balance": "250.00", "days_1_30": "0",
                "days_31_60": "250.00", "days_61_90": "0", "days_over_90": "0"}])
    );
}

#[tokio::test]
async fn one_search_finds_every_kind_of_record_typed_and_best_first() {
    let clm = Clm::new().await;
    let account = post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Zephyr Freight", "industry": "Logistics"}),
    )
    .await;
    let account_id = account["id"].as_str().unwrap().to_owned();
    post(
        &clm,
        &clm.member,
        "/api/v1/contacts",
        json!({"name": "Zoe Zephyrine", "emails": ["zoe@zf.example"]}),
    )
    .await;
    post(
        &clm,
        &clm.member,
        "/api/v1/leads",
        json!({"name": "Sam", "company": "Zephyr Air"}),
    )
    .await;
    post(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        json!({"name": "Zephyr renewal", "account_id": account_id, "currency": "EUR"}),
    )
    .await;
    let invoice = post(
        &clm,
        &clm.member,
        "/api/v1/invoices",
        json!({"account_id": account_id, "currency": "EUR", "issue_date": "2026-12-01",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]}),
    )
    .await;
    clm.create(
        &clm.member,
        json!({"title": "Zephyr master agreement", "contract_type": "msa", "body": "x"}),
    )
    .await;
    let (status, found) = clm
        .json(Method::GET, "/api/v1/search?q=ZEPHYR", &clm.viewer, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let mut types: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["account", "contact", "contract", "lead", "opportunity"]
    );
    let account_hit = found
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == "account")
        .unwrap();
    assert_eq!(
        account_hit["link"],
        format!("/api/v1/counterparties/{account_id}")
    );
    assert_eq!(account_hit["detail"], "Logistics");
    let scores: Vec<f64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    let (_, by_number) = clm
        .json(
            Method::GET,
            "/api/v1/search?q=inv-2026&types=invoice",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(by_number[0]["id"], invoice["id"]);
    let (_, narrowed) = clm
        .json(
            Method::GET,
            "/api/v1/search?q=zephyr&types=lead,contact&limit=1",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(narrowed.as_array().unwrap().len(), 1);
    // LIKE's wildcards match themselves.
    let (_, none) = clm
        .json(Method::GET, "/api/v1/search?q=%25%25", &clm.viewer, None)
        .await;
    assert_eq!(none, json!([]));
    for query in [
        "q=z",
        "q=zephyr&types=users",
        "q=zephyr&limit=0",
        "types=lead",
    ] {
        assert_eq!(
            clm.status(
                Method::GET,
                &format!("/api/v1/search?{query}"),
                &clm.viewer,
                None
            )
            .await,
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
}
