//! Support cases on the shared SLA engine, through the server and a manual clock:
//! deadlines in business hours (over a weekend and a holiday), the first response by a
//! comment from someone other than who opened the case, breaches marked by their
//! timers and escalated to the policy's team, deadlines that follow a new priority, a
//! reopened case late at once, compliance on the dashboard, and bad input refused
//! with nothing written.

use super::*;

pub(super) fn policies(team: Option<&str>) -> Value {
    json!({"policies": [
        {"priority": "urgent", "first_response_hours": 1, "resolution_hours": 8, "escalate_to_team": team},
        {"priority": "high", "first_response_hours": 4, "resolution_hours": 16, "escalate_to_team": team},
        {"priority": "normal", "first_response_hours": 8, "resolution_hours": 40, "escalate_to_team": null},
        {"priority": "low", "first_response_hours": 24, "resolution_hours": 80, "escalate_to_team": null}
    ]})
}

/// A team `name` of the people `members`, made by the admin.
pub(super) async fn team(org: &Org, name: &str, members: &[&str]) {
    let (status, team) = org
        .call(
            0,
            None,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    for who in members {
        let person = org.people[*who].0.clone();
        let path = format!(
            "/api/v1/teams/{}/members/{person}",
            team["id"].as_str().unwrap()
        );
        let (status, _) = org.call(0, None, Method::PUT, &path, None).await;
        assert!(status.is_success());
    }
}

/// The case at `path` once `field` is set (its timer runs on the job runner).
pub(super) async fn once_set(org: &Org, path: &str, field: &str) -> Value {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let (_, case) = org.call(0, None, Method::GET, path, None).await;
        if !case[field].is_null() {
            return case;
        }
        assert!(Instant::now() < deadline, "{field} never set: {case}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn case_slas_count_business_hours_breach_escalate_and_report_compliance() {
    // Friday 4 December 2026, 15:00 UTC; Monday the 7th is a holiday.
    let mut org = org(
        at("2026-12-04T15:00:00Z"),
        1,
        &[],
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("xena", "member"),
            ("vera", "viewer"),
        ],
    )
    .await;
    let (status, body) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/business-calendar",
            Some(json!({"timezone": "UTC",
            "working_days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00",
            "holidays": ["2026-12-07"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    team(&org, "support-leads", &["xena"]).await;

    // Policies: bad sets are refused and change nothing; an admin sets good ones.
    let (_, defaults) = org
        .as_("vera", Method::GET, "/api/v1/case-sla-policies", None)
        .await;
    let mut short = policies(None);
    short["policies"].as_array_mut().unwrap().pop();
    let mut backwards = policies(None);
    backwards["policies"][0]["first_response_hours"] = json!(9);
    let mut zero = policies(None);
    zero["policies"][1]["resolution_hours"] = json!(0);
    for bad in [
        short,
        backwards,
        zero,
        policies(Some("nobody")),
        json!({"policies": {"urgent": 1}}),
    ] {
        let (status, answer) = org
            .call(
                0,
                None,
                Method::PUT,
                "/api/v1/case-sla-policies",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {answer}");
    }
    let (status, answer) = org
        .as_(
            "olive",
            Method::PUT,
            "/api/v1/case-sla-policies",
            Some(policies(None)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (_, unchanged) = org
        .as_("vera", Method::GET, "/api/v1/case-sla-policies", None)
        .await;
    assert_eq!(unchanged, defaults);
    let (status, set) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/case-sla-policies",
            Some(policies(Some("support-leads"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");

    let account = created(
        &org,
        "olive",
        "/api/v1/counterparties",
        json!({"name": "Initech"}),
    )
    .await;
    let account_id = account["id"].as_str().unwrap().to_owned();
    let lena = org.people["lena"].0.clone();
    let case = created(
        &org,
        "olive",
        "/api/v1/cases",
        json!({"subject": "Invoices do not load", "account_id": account_id, "priority": "high", "assignee_id": lena}),
    )
    .await;
    // Four business hours: two on Friday, none on the weekend or the holiday, two on
    // Tuesday. Sixteen: two on Friday, eight on Tuesday, six on Wednesday.
    assert_eq!(case["first_response_due_at"], "2026-12-08T11:00:00Z");
    assert_eq!(case["resolution_due_at"], "2026-12-09T15:00:00Z");
    assert_eq!(case["status"], "new");
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    assert_eq!(org.inbox("lena", 1).await[0]["type"], "case_assigned");

    // Who opened it commenting is no response; the assignee's comment is.
    created(
        &org,
        "olive",
        &format!("{path}/comments"),
        json!({"body": "Any news?"}),
    )
    .await;
    let (_, waiting) = org.as_("vera", Method::GET, &path, None).await;
    assert!(waiting["first_responded_at"].is_null(), "{waiting}");
    org.advance_to(at("2026-12-04T16:00:00Z"));
    org.relogin().await;
    created(
        &org,
        "lena",
        &format!("{path}/comments"),
        json!({"body": "Looking into it"}),
    )
    .await;
    let (_, answered) = org.as_("vera", Method::GET, &path, None).await;
    assert_eq!(answered["first_responded_at"], "2026-12-04T16:00:00Z");
    assert_eq!(answered["status"], "open");

    // A normal case resolved in time, and a low one raised to urgent: its deadlines
    // move to the urgent policy's, counted from its opening (16:00 on Friday).
    let quick = created(
        &org,
        "olive",
        "/api/v1/cases",
        json!({"subject": "Password reset", "account_id": account_id}),
    )
    .await;
    let quick_path = format!("/api/v1/cases/{}", quick["id"].as_str().unwrap());
    let (_, resolved) = org
        .as_(
            "olive",
            Method::PATCH,
            &quick_path,
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(resolved["resolved_at"], "2026-12-04T16:00:00Z");
    assert_eq!(resolved["first_responded_at"], "2026-12-04T16:00:00Z");
    let raised = created(
        &org,
        "olive",
        "/api/v1/cases",
        json!({"subject": "Outage", "account_id": account_id, "priority": "low"}),
    )
    .await;
    let (status, raised) = org
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/cases/{}", raised["id"].as_str().unwrap()),
            Some(json!({"priority": "urgent"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    assert_eq!(raised["first_response_due_at"], "2026-12-04T17:00:00Z");
    assert_eq!(raised["resolution_due_at"], "2026-12-08T16:00:00Z");
    assert_eq!(
        timers(
            &org,
            "cases.sla_due",
            &format!("case:{}:%", raised["id"].as_str().unwrap())
        )
        .await,
        [
            (
                format!("case:{}:first_response", raised["id"].as_str().unwrap()),
                at("2026-12-04T17:00:00Z")
            ),
            (
                format!("case:{}:resolution", raised["id"].as_str().unwrap()),
                at("2026-12-08T16:00:00Z")
            ),
        ]
    );
    let (status, _) = org
        .as_(
            "olive",
            Method::DELETE,
            &format!("/api/v1/cases/{}", raised["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "managers delete cases");
    let (status, _) = org
        .call(
            0,
            None,
            Method::DELETE,
            &format!("/api/v1/cases/{}", raised["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Wednesday, 15:00:01: the resolution deadline passed unresolved: breached, the
    // assignee told, the team told of the escalation.
    org.advance_to(at("2026-12-09T15:00:01Z"));
    org.relogin().await;
    let breached = once_set(&org, &path, "resolution_breached_at").await;
    assert!(
        breached["first_response_breached_at"].is_null(),
        "{breached}"
    );
    assert_eq!(breached["escalated_at"], "2026-12-09T15:00:01Z");
    let told = org
        .inbox_until("lena", "the breach", |items| {
            items.iter().any(|n| n["type"] == "case_sla_breached")
        })
        .await;
    assert_eq!(told[0]["type"], "case_sla_breached", "{told:?}");
    let escalated = org.inbox("xena", 1).await;
    assert_eq!(escalated[0]["type"], "case_escalated", "{escalated:?}");
    assert!(escalated[0]["title"]
        .as_str()
        .unwrap()
        .contains("support-leads"));
    let (_, late) = org
        .as_("vera", Method::GET, "/api/v1/cases?breached=true", None)
        .await;
    assert_eq!(late["items"].as_array().unwrap().len(), 1, "{late}");

    // Compliance: the high case met its response and breached its resolution; the
    // normal one met both.
    let (status, compliance) = org
        .as_("vera", Method::GET, "/api/v1/dashboards/case-sla", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{compliance}");
    let of = |priority: &str| {
        compliance
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["priority"] == priority)
            .unwrap()
            .clone()
    };
    assert_eq!(of("high")["opened"], 1);
    assert_eq!(of("high")["first_response"]["compliance_percent"], 100.0);
    assert_eq!(of("high")["resolution"]["breached"], 1);
    assert_eq!(of("high")["resolution"]["compliance_percent"], 0.0);
    assert_eq!(of("normal")["resolution"]["met"], 1);
    assert!(of("low")["first_response"]["compliance_percent"].is_null());

    // The normal case reopened after its deadline passed: late at once.
    org.advance_to(at("2026-12-30T10:00:00Z"));
    org.relogin().await;
    let (status, reopened) = org
        .as_(
            "olive",
            Method::PATCH,
            &quick_path,
            Some(json!({"status": "open"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert!(reopened["resolved_at"].is_null());
    once_set(&org, &quick_path, "resolution_breached_at").await;

    // Bad input: a 400 that writes nothing; viewers open no cases.
    let before = count(&org, "select count(*) from t_acme.cases").await;
    for body in [
        json!({"subject": "Nowhere"}),
        json!({"subject": "x", "account_id": uuid::Uuid::new_v4()}),
        json!({"subject": "x", "contract_id": uuid::Uuid::new_v4()}),
        json!({"subject": "x", "account_id": account_id, "priority": "critical"}),
        json!({"subject": "", "account_id": account_id}),
        json!({"subject": "x", "account_id": account_id, "assignee_id": uuid::Uuid::new_v4()}),
        json!({"subject": "x", "account_id": account_id, "sla": "none"}),
    ] {
        let (status, answer) = org
            .as_("olive", Method::POST, "/api/v1/cases", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
    }
    let (status, _) = org
        .as_(
            "vera",
            Method::POST,
            "/api/v1/cases",
            Some(json!({"subject": "x", "account_id": account_id})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = org
        .as_(
            "olive",
            Method::PATCH,
            &path,
            Some(json!({"status": "new"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(
        count(&org, "select count(*) from t_acme.cases").await,
        before
    );
}

/// An urgent case at a new account, opened by Olive, with `extra` fields.
pub(super) async fn urgent_case(org: &Org, extra: Value) -> Value {
    let account = created(
        org,
        "olive",
        "/api/v1/counterparties",
        json!({"name": "Globex"}),
    )
    .await;
    let mut body =
        json!({"subject": "Plant offline", "account_id": account["id"], "priority": "urgent"});
    for (field, value) in extra.as_object().unwrap() {
        body[field] = value.clone();
    }
    created(org, "olive", "/api/v1/cases", body).await
}

#[tokio::test]
async fn a_case_waiting_on_its_customer_stops_its_sla_clocks_until_it_answers() {
    // Tuesday 1 December 2026, 09:00 UTC, on the default calendar: Monday to Friday,
    // 09:00 to 17:00 UTC.
    let mut org = org(at("2026-12-01T09:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let (status, _) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/case-sla-policies",
            Some(policies(None)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let case = urgent_case(&org, json!({})).await;
    assert_eq!(
        at(case["resolution_due_at"].as_str().unwrap()),
        at("2026-12-01T17:00:00Z")
    );
    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}");

    // At 10:00 it waits on the customer: its clocks stop, no timer waits.
    org.advance_to(at("2026-12-01T10:00:00Z"));
    org.relogin().await;
    let (status, waiting) = org
        .as_(
            "olive",
            Method::PATCH,
            &path,
            Some(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    assert_eq!(
        at(waiting["sla_paused_at"].as_str().unwrap()),
        at("2026-12-01T10:00:00Z")
    );
    assert!(timers(&org, "cases.sla_due", &format!("case:{id}:%"))
        .await
        .is_empty());

    // Its deadline passes while it waits: no breach.
    org.advance_to(at("2026-12-01T17:30:00Z"));
    org.relogin().await;
    let (_, still) = org.as_("olive", Method::GET, &path, None).await;
    assert!(still["resolution_breached_at"].is_null(), "{still}");

    // The customer answers on Wednesday at 11:00: it waited nine business hours
    // (Tuesday 10-17, Wednesday 9-11), so resolution is due nine business hours after
    // Tuesday 17:00, on Thursday at 10:00.
    org.advance_to(at("2026-12-02T11:00:00Z"));
    org.relogin().await;
    let (status, resumed) = org
        .as_(
            "olive",
            Method::PATCH,
            &path,
            Some(json!({"status": "open"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert!(resumed["sla_paused_at"].is_null());
    assert_eq!(resumed["sla_paused_seconds"], 9 * 3600);
    let due = at("2026-12-03T10:00:00Z");
    assert_eq!(at(resumed["resolution_due_at"].as_str().unwrap()), due);
    assert_eq!(
        timers(&org, "cases.sla_due", &format!("case:{id}:%")).await,
        [(format!("case:{id}:resolution"), due)]
    );
    // A new priority counts from the opening, the pause included: high is 16 business
    // hours (Wednesday 17:00), plus nine (Friday 10:00).
    let (_, high) = org
        .as_(
            "olive",
            Method::PATCH,
            &path,
            Some(json!({"priority": "high"})),
        )
        .await;
    let due = at("2026-12-04T10:00:00Z");
    assert_eq!(
        at(high["resolution_due_at"].as_str().unwrap()),
        due,
        "{high}"
    );

    // Past the moved deadline, it breaches.
    org.advance_to(at("2026-12-04T10:30:00Z"));
    org.relogin().await;
    let breached = once_set(&org, &path, "resolution_breached_at").await;
    assert_eq!(breached["status"], "open");
}

#[tokio::test]
async fn the_assignee_is_warned_ahead_of_a_deadline_and_an_edit_never_repeats_it() {
    // Tuesday 1 December 2026, 09:00 UTC, on the default calendar (09:00-17:00 UTC).
    let mut org = org(
        at("2026-12-01T09:00:00Z"),
        1,
        &[],
        &[("olive", "member"), ("lena", "member")],
    )
    .await;
    let mut warned = policies(None);
    warned["policies"][0]["warn_before_hours"] = json!(2);
    let (status, set) = org
        .call(
            0,
            None,
            Method::PUT,
            "/api/v1/case-sla-policies",
            Some(warned),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, read) = org
        .as_("lena", Method::GET, "/api/v1/case-sla-policies", None)
        .await;
    let urgent = read["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["priority"] == "urgent")
        .unwrap()
        .clone();
    assert_eq!(urgent["warn_before_hours"], 2.0, "{read}");
    let mut bad = policies(None);
    bad["policies"][1]["warn_before_hours"] = json!(0);
    let (status, _) = org
        .call(0, None, Method::PUT, "/api/v1/case-sla-policies", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let lena = org.people["lena"].0.clone();
    let case = urgent_case(&org, json!({"assignee_id": lena})).await;
    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}");
    // The first response is due in one business hour: no room for a two-hour warning.
    // Resolution at 17:00 is warned of at 15:00.
    assert_eq!(
        timers(&org, "cases.sla_warning", &format!("case:{id}:%")).await,
        [(format!("case:{id}:resolution"), at("2026-12-01T15:00:00Z"))]
    );
    created(
        &org,
        "lena",
        &format!("{path}/comments"),
        json!({"body": "Looking into it"}),
    )
    .await;

    org.advance_to(at("2026-12-01T15:00:00Z"));
    org.relogin().await;
    let deadline = Instant::now() + StdDuration::from_secs(30);
    let warning = loop {
        let inbox = org.inbox("lena", 1).await;
        if let Some(found) = inbox.iter().find(|n| n["type"] == "case_sla_at_risk") {
            break found.clone();
        }
        assert!(Instant::now() < deadline, "no warning: {inbox:?}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    };
    assert!(
        warning["title"]
            .as_str()
            .unwrap()
            .contains("resolution SLA is due"),
        "{warning}"
    );

    // An edit after the warning reschedules the deadline's timer, not the warning.
    org.advance_to(at("2026-12-01T15:30:00Z"));
    org.relogin().await;
    let (status, _) = org
        .as_(
            "lena",
            Method::PATCH,
            &path,
            Some(json!({"subject": "Plant offline (line 2)"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(timers(&org, "cases.sla_warning", &format!("case:{id}:%"))
        .await
        .is_empty());
    assert_eq!(
        count(
            &org,
            "select count(*) from t_acme.audit_logs where action = 'sla_at_risk'"
        )
        .await,
        1
    );
}
