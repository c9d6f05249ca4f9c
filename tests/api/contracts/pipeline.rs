//! The sales pipeline through the real server: a lead converted into an account, a
//! contact and an opportunity in one transaction; stages each tenant configures; the
//! board and the weighted forecast; a won opportunity drafting its contract from a
//! template, which then goes through approval like any other.

use super::*;

async fn post(clm: &Clm, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = clm
        .json(Method::POST, path, token, Some(body.clone()))
        .await;
    assert!(status.is_success(), "{path} {body} -> {status} {answer}");
    answer
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_lead_converts_into_an_account_a_contact_and_an_opportunity_at_once() {
    let clm = Clm::new().await;
    // An account that already has the lead's domain, and one that shares its name.
    let globex = post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Globex Corporation", "website": "https://www.globex.example/"}),
    )
    .await;
    let lead = post(
        &clm,
        &clm.member,
        "/api/v1/leads",
        json!({"name": "Hank Scorpio", "company": "Globex", "email": "hank@globex.example",
               "phone": "+1 555 0100", "source": "Web", "score": 80}),
    )
    .await;
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["source"], "web");
    let lead_id = id(&lead);
    // Hostile or wrong conversions change nothing.
    let before = clm.snapshot().await;
    for (body, expected) in [
        (
            json!({"opportunity": {"currency": "XXQ"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"opportunity": {"currency": "EUR", "stage": "nowhere"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"opportunity": {"currency": "EUR", "amount": 12}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"account_id": uuid::Uuid::new_v4(), "opportunity": {"currency": "EUR"}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({}), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = clm
            .json(
                Method::POST,
                &format!("/api/v1/leads/{lead_id}/convert"),
                &clm.member,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, expected, "{body} -> {answer}");
    }
    assert_eq!(
        clm.status(
            Method::POST,
            &format!("/api/v1/leads/{lead_id}/convert"),
            &clm.other_member,
            Some(json!({"opportunity": {"currency": "EUR"}}))
        )
        .await,
        StatusCode::FORBIDDEN,
        "another member's lead"
    );
    assert_eq!(clm.snapshot().await, before);
    assert_eq!(
        clm.count("select count(*) from t_acme.opportunities").await,
        0
    );

    let converted = post(
        &clm,
        &clm.member,
        &format!("/api/v1/leads/{lead_id}/convert"),
        json!({"opportunity": {"amount": "48000.00", "currency": "EUR",
                               "expected_close_date": "2027-03-15"}}),
    )
    .await;
    assert_eq!(converted["account_matched_by"], "domain");
    assert_eq!(converted["account"]["id"], globex["id"]);
    assert_eq!(converted["contact_existed"], false);
    assert_eq!(
        converted["contact"]["emails"],
        json!(["hank@globex.example"])
    );
    assert_eq!(converted["contact"]["account_ids"], json!([globex["id"]]));
    let opportunity = &converted["opportunity"];
    assert_eq!(opportunity["stage"], "prospecting", "the first open stage");
    assert_eq!(opportunity["amount"], "48000.00");
    assert_eq!(
        opportunity["contact_ids"],
        json!([converted["contact"]["id"]])
    );
    assert_eq!(converted["lead"]["status"], "converted");
    assert_eq!(converted["lead"]["opportunity_id"], opportunity["id"]);
    // A converted lead is read-only.
    for (method, body) in [
        (Method::PATCH, Some(json!({"score": 10}))),
        (Method::DELETE, None),
        (
            Method::POST,
            Some(json!({"opportunity": {"currency": "EUR"}})),
        ),
    ] {
        let path = if method == Method::POST {
            format!("/api/v1/leads/{lead_id}/convert")
        } else {
            format!("/api/v1/leads/{lead_id}")
        };
        let (status, answer) = clm.json(method, &path, &clm.manager, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert_eq!(answer["error"], "lead_converted");
    }

    // A second lead at the same company with a free-mail address finds the account by
    // name only when nothing else matches; a new company makes a new account, and the
    // contact with a known email is linked, not doubled.
    let second = post(
        &clm,
        &clm.member,
        "/api/v1/leads",
        json!({"name": "H. Scorpio", "company": "Initech", "email": "HANK@globex.example"}),
    )
    .await;
    let (status, ambiguous_or_not) = clm
        .json(
            Method::POST,
            &format!("/api/v1/leads/{}/convert", id(&second)),
            &clm.member,
            Some(json!({"opportunity": {"currency": "USD"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ambiguous_or_not}");
    assert_eq!(ambiguous_or_not["account_matched_by"], "domain");
    assert_eq!(ambiguous_or_not["contact_existed"], true);
    let third = post(
        &clm,
        &clm.member,
        "/api/v1/leads",
        json!({"name": "Milton", "company": "Initrode", "email": "milton@gmail.com"}),
    )
    .await;
    let made = post(
        &clm,
        &clm.member,
        &format!("/api/v1/leads/{}/convert", id(&third)),
        json!({"opportunity": {"currency": "USD", "name": "Stapler supply"}}),
    )
    .await;
    assert_eq!(made["account_matched_by"], "created");
    assert_eq!(made["account"]["name"], "Initrode");
    assert_eq!(made["opportunity"]["name"], "Stapler supply");
    // Two accounts sharing a domain: the conversion asks which.
    post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Globex Nordics", "email": "info@globex.example"}),
    )
    .await;
    let fourth = post(
        &clm,
        &clm.member,
        "/api/v1/leads",
        json!({"name": "Someone", "email": "someone@globex.example"}),
    )
    .await;
    let (status, answer) = clm
        .json(
            Method::POST,
            &format!("/api/v1/leads/{}/convert", id(&fourth)),
            &clm.member,
            Some(json!({"opportunity": {"currency": "EUR"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"], "ambiguous_account");
    assert_eq!(answer["details"]["candidates"].as_array().unwrap().len(), 2);
    // Every step is an event.
    let events = clm
        .app
        .settled_events(HOST, &clm.admin, "/api/v1/events?type=lead.converted", 3)
        .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn stages_are_the_tenants_and_the_board_and_forecast_weigh_by_them() {
    let clm = Clm::new().await;
    let account = id(&post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Umbrella"}),
    )
    .await);
    // Members do not change the pipeline; a pipeline without a way to lose is refused.
    let stages = json!({"stages": [
        {"key": "discovery", "label": "Discovery", "probability": 20, "outcome": "open"},
        {"key": "proposal", "label": "Proposal", "probability": 60, "outcome": "open"},
        {"key": "closed_won", "label": "Won", "probability": 100, "outcome": "won"},
        {"key": "closed_lost", "label": "Lost", "probability": 0, "outcome": "lost"}
    ]});
    assert_eq!(
        clm.status(
            Method::PUT,
            "/api/v1/pipeline/stages",
            &clm.member,
            Some(stages.clone())
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (status, _) = clm
        .json(
            Method::PUT,
            "/api/v1/pipeline/stages",
            &clm.manager,
            Some(json!({"stages": [
                {"key": "a", "label": "A", "probability": 20, "outcome": "open"},
                {"key": "b", "label": "B", "probability": 100, "outcome": "won"},
                {"key": "c", "label": "C", "probability": 50, "outcome": "open"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The default pipeline's stage holding a deal cannot go.
    let early = post(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        json!({"name": "Early", "account_id": account, "currency": "EUR", "amount": "1000"}),
    )
    .await;
    let (status, answer) = clm
        .json(
            Method::PUT,
            "/api/v1/pipeline/stages",
            &clm.manager,
            Some(stages.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"], "stage_in_use");
    assert_eq!(answer["details"]["stages"]["prospecting"], 1);
    assert_eq!(
        clm.status(
            Method::DELETE,
            &format!("/api/v1/opportunities/{}", id(&early)),
            &clm.manager,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (status, replaced) = clm
        .json(
            Method::PUT,
            "/api/v1/pipeline/stages",
            &clm.manager,
            Some(stages),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let (_, listed) = clm
        .json(Method::GET, "/api/v1/pipeline/stages", &clm.viewer, None)
        .await;
    assert_eq!(listed, replaced);

    for (name, stage, amount, currency, close) in [
        ("D1", "discovery", "1000.00", "EUR", "2027-01-10"),
        ("D2", "discovery", "500.50", "EUR", "2027-01-20"),
        ("P1", "proposal", "2000", "EUR", "2027-02-01"),
        ("P2", "proposal", "300", "USD", "2027-02-02"),
        ("W1", "closed_won", "700", "EUR", "2027-01-05"),
    ] {
        post(
            &clm,
            &clm.member,
            "/api/v1/opportunities",
            json!({"name": name, "account_id": account, "stage": stage, "amount": amount,
                   "currency": currency, "expected_close_date": close}),
        )
        .await;
    }
    let (status, board) = clm
        .json(
            Method::GET,
            "/api/v1/opportunities/board",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let keys: Vec<&str> = board
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["stage"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["discovery", "proposal", "closed_won", "closed_lost"]);
    assert_eq!(board[0]["count"], 2);
    assert_eq!(
        board[0]["totals"],
        json!([{"currency": "EUR", "amount": "1500.50", "weighted": "300.10"}])
    );
    assert_eq!(board[1]["count"], 2);
    assert_eq!(board[1]["opportunities"][0]["name"], "P1", "largest first");
    assert_eq!(board[3]["count"], 0);

    let (status, forecast) = clm
        .json(
            Method::GET,
            "/api/v1/opportunities/forecast?from=2027-01&months=2",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{forecast}");
    assert_eq!(
        forecast,
        json!([
            {"month": "2027-01", "currency": "EUR", "count": 3, "amount": "2200.50",
             "weighted": "1000.10", "won": "700"},
            {"month": "2027-02", "currency": "EUR", "count": 1, "amount": "2000",
             "weighted": "1200.00", "won": "0"},
            {"month": "2027-02", "currency": "USD", "count": 1, "amount": "300",
             "weighted": "180.00", "won": "0"}
        ])
    );
    for query in [
        "from=2027-13",
        "from=27-01",
        "months=0",
        "months=37",
        "bogus=1",
    ] {
        assert_eq!(
            clm.status(
                Method::GET,
                &format!("/api/v1/opportunities/forecast?{query}"),
                &clm.viewer,
                None
            )
            .await,
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
}

async fn win(clm: &Clm, deal: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/opportunities/{deal}/win");
    clm.json(Method::POST, &path, &clm.member, Some(body)).await
}

#[tokio::test]
async fn a_won_opportunity_drafts_its_contract_from_a_template_which_goes_through_approval() {
    let clm = Clm::new().await;
    let account = post(
        &clm,
        &clm.member,
        "/api/v1/counterparties",
        json!({"name": "Acme Rockets", "billing_address": "1 Desert Rd"}),
    )
    .await;
    let template = post(
        &clm,
        &clm.manager,
        "/api/v1/templates",
        json!({"name": "Supply", "contract_type": "msa",
               "body": "{{account_name}} of {{billing_address}} buys for {{amount}} {{currency}}. Term: {{term}}."}),
    )
    .await;
    let deal = post(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        json!({"name": "Rockets 2027", "account_id": account["id"], "amount": "120000.00",
               "currency": "USD", "stage": "negotiation"}),
    )
    .await;
    let deal_id = id(&deal);
    // A variable the deal cannot fill is asked for, and nothing is won meanwhile.
    let before = clm.snapshot().await;
    let (status, answer) = win(
        &clm,
        &deal_id,
        json!({"contract": {"template_id": template["id"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["details"]["missing"], json!(["term"]));
    let (status, _) = win(&clm, &deal_id, json!({"stage": "negotiation"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a won stage");
    assert_eq!(clm.snapshot().await, before);
    let (_, unchanged) = clm
        .json(
            Method::GET,
            &format!("/api/v1/opportunities/{deal_id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(unchanged["stage"], "negotiation");

    let (status, won) = win(
        &clm,
        &deal_id,
        json!({"contract": {"template_id": template["id"],
                                                 "variables": {"term": "two years"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{won}");
    assert_eq!(won["opportunity"]["stage"], "won");
    assert!(won["opportunity"]["closed_at"].is_string());
    let contract = &won["contract"];
    assert_eq!(won["opportunity"]["contract_id"], contract["id"]);
    assert_eq!(contract["status"], "draft");
    assert_eq!(contract["counterparty_id"], account["id"]);
    assert_eq!(contract["value"], "120000.00");
    let (_, full) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{}", id(contract)),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(
        full["body"],
        "Acme Rockets of 1 Desert Rd buys for 120000.00 USD. Term: two years."
    );
    let (status, answer) = win(&clm, &deal_id, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"], "already_won");
    // The drafted contract goes through approval like any other.
    let contract_id = id(contract);
    assert_eq!(
        clm.transition(&clm.member, &contract_id, "in_review")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        clm.transition(&clm.manager, &contract_id, "approved")
            .await
            .0,
        StatusCode::OK
    );
    // Moving a deal to a lost stage needs a reason; reopening clears closed_at.
    let other = post(
        &clm,
        &clm.member,
        "/api/v1/opportunities",
        json!({"name": "Maybe", "account_id": account["id"], "currency": "USD"}),
    )
    .await;
    let path = format!("/api/v1/opportunities/{}", id(&other));
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"stage": "lost"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, lost) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"stage": "lost", "lost_reason": "budget"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    assert!(lost["closed_at"].is_string());
    let (_, reopened) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"stage": "proposal"})),
        )
        .await;
    assert!(reopened["closed_at"].is_null());
    assert!(reopened["lost_reason"].is_null());
    assert_eq!(
        clm.status(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"next_step": "call"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let events = clm
        .app
        .settled_events(HOST, &clm.admin, "/api/v1/events?entity=opportunity", 5)
        .await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "opportunity.created",
            "opportunity.won",
            "opportunity.created",
            "opportunity.stage_changed",
            "opportunity.stage_changed"
        ]
    );
}
