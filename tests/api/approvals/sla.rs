//! SLAs on the business calendar: refused when unreachable; reminders, breaches and
//! escalation over a weekend and a holiday on a manual clock.

use super::*;

#[tokio::test]
async fn an_sla_the_business_calendar_cannot_give_is_refused_with_a_reason() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member")],
        &[("legal", &["lena"])],
    )
    .await;
    // Holidays on every Monday for decades leave a Monday-only week no working time.
    let first_monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mondays: Vec<String> = (0..1500)
        .map(|week| (first_monday + Duration::weeks(week)).to_string())
        .collect();
    let (status, body) = world
        .admin(
            Method::PUT,
            "/api/v1/business-calendar",
            Some(json!({"timezone": "UTC",
            "working_days": ["mon"], "start": "09:00", "end": "17:00", "holidays": mondays})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // One minute of work a week: a calendar, but 1,000 business hours take centuries.
    let one_minute = json!({"timezone": "UTC", "working_days": ["mon"], "start": "09:00", "end": "09:01", "holidays": []});
    let stages = |sla: u32| {
        json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"],
        "approval_type": "all", "sla_hours": sla}])
    };
    world
        .define(
            json!({"name": "Slow", "trigger_conditions": {}, "priority": 1, "stages": stages(200)}),
        )
        .await;
    let (status, body) = world
        .admin(Method::PUT, "/api/v1/business-calendar", Some(one_minute))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"name": "Slower", "trigger_conditions": {},
            "priority": 2, "stages": stages(1000)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("sla_hours"),
        "{body}"
    );
    // A definition saved under a wider calendar: refused at submission, nothing changed.
    let contract = world.contract("olive", "nda", "10").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "sla_unreachable", "{body}");
    assert_eq!(world.status(&contract).await, "draft");
}

#[tokio::test]
async fn sla_deadlines_remind_breach_and_escalate_over_a_weekend_and_a_holiday() {
    let db = TestDb::migrated().await;
    // Friday 4 December 2026, 15:00 UTC.
    let friday: DateTime<Utc> = "2026-12-04T15:00:00Z".parse().unwrap();
    let clock = ManualClock::starting_at(friday);
    let mut world = World::new(
        &db,
        Some(clock.clone()),
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("xena", "member"),
        ],
        &[
            ("legal", &["lena"]),
            ("finance", &["finn"]),
            ("executives", &["xena"]),
        ],
    )
    .await;
    // Monday the 7th is a holiday.
    let (status, body) = world
        .admin(
            Method::PUT,
            "/api/v1/business-calendar",
            Some(
                json!({"timezone": "UTC", "working_days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00", "end": "17:00", "holidays": ["2026-12-07"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    world
        .define(json!({"name": "Timed", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all", "sla_hours": 4,
             "reminder_hours_before": [1], "escalation": {"action": "reassign", "team": "executives"}},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all", "sla_hours": 2,
             "escalation": {"action": "notify", "team": "executives"}}]}))
        .await;
    let contract = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let legal = stage(&world.workflow(&contract).await, 1);
    // Two business hours on Friday, none over the weekend or on Monday's holiday, two
    // on Tuesday: due Tuesday 11:00. The reminder, an hour before: Tuesday 10:00.
    let due: DateTime<Utc> = "2026-12-08T11:00:00Z".parse().unwrap();
    assert_eq!(
        legal["due_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        due
    );
    let stage_id = legal["id"].as_str().unwrap().to_owned();

    // Monday: still nothing (a holiday is not a working day).
    world.advance_to("2026-12-07T16:00:00Z".parse().unwrap());
    world.relogin().await;
    assert!(world.events("approval.reminded").await.is_empty());
    world.advance_to("2026-12-08T10:00:01Z".parse().unwrap());
    world.relogin().await;
    let reminded = world
        .until_event("approval.reminded", &world.pending(&contract, "lena").await)
        .await;
    assert_eq!(reminded["current"]["hours_before"], 1.0);
    assert!(
        world.events("workflow_stage.overdue").await.is_empty(),
        "not due yet"
    );

    // The deadline passes: overdue, events, and the escalation reassigns to the executives.
    world.advance_to(due + Duration::seconds(1));
    world.relogin().await;
    let overdue = world.until_event("workflow_stage.overdue", &stage_id).await;
    assert_eq!(overdue["actor_kind"], "system");
    let escalated = world
        .until_event("workflow_stage.escalated", &stage_id)
        .await;
    assert_eq!(escalated["current"]["action"], "reassign");
    let legal = stage(&world.workflow(&contract).await, 1);
    assert!(legal["overdue"].as_bool().unwrap());
    let lena = legal["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["approver_id"] == world.id("lena").as_str())
        .unwrap()
        .clone();
    assert_eq!(lena["state"], "reassigned");
    assert!(lena["overdue_at"].is_string());
    let (_, overdue_list) = world
        .as_("xena", Method::GET, "/api/v1/approvals?overdue=true", None)
        .await;
    assert_eq!(
        overdue_list["items"].as_array().unwrap().len(),
        1,
        "{overdue_list}"
    );
    let (_, analytics) = world
        .admin(Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(analytics["overdue_now"], 1);
    let xena = world.pending(&contract, "xena").await;
    assert_eq!(
        world.decide("xena", &xena, "approve", json!({})).await.0,
        StatusCode::OK
    );

    // Finance decides in time: its deadline timer later does nothing.
    let finance = stage(&world.workflow(&contract).await, 2);
    let finance_id = finance["id"].as_str().unwrap().to_owned();
    let finance_due: DateTime<Utc> = finance["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        finance_due,
        due + Duration::hours(2) + Duration::seconds(1),
        "two business hours on Tuesday"
    );
    let finn = world.pending(&contract, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(world.status(&contract).await, "approved");
    world.advance_to(finance_due + Duration::minutes(1));
    world.relogin().await;
    // The timer job runs and finishes as a no-op.
    let admin_db = db.client().await;
    for _ in 0..200 {
        let pending: i64 = admin_db
            .query_one("select count(*) from public.jobs where kind = 'workflow.stage_due' and state in ('scheduled', 'available', 'running')", &[])
            .await
            .unwrap()
            .get(0);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let overdue_events = world.events_at_least("workflow_stage.overdue", 1).await;
    assert_eq!(overdue_events.len(), 1, "only legal was late");
    assert!(!overdue_events
        .iter()
        .any(|e| e["entity_id"] == finance_id.as_str()));
    let (_, analytics) = world
        .admin(Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(analytics["overdue_now"], 0);
    assert_eq!(
        analytics["within_sla_share"], 0.5,
        "xena decided after the deadline, finn before"
    );
}

/// Deadlines that fall due at one instant (a batch of contracts submitted together)
/// are run together, and each stage is still marked once, escalated once, and audited
/// under its own timer.
#[tokio::test]
async fn a_burst_of_deadlines_at_one_instant_marks_each_stage_once_under_its_own_timer() {
    const CONTRACTS: usize = 8;
    let db = TestDb::migrated().await;
    // Tuesday 1 December 2026, 10:00 UTC: one business hour later is 11:00.
    let start: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
    let clock = ManualClock::starting_at(start);
    let mut world = World::new(
        &db,
        Some(clock.clone()),
        &[("olive", "member"), ("lena", "member"), ("xena", "member")],
        &[("legal", &["lena"]), ("executives", &["xena"])],
    )
    .await;
    world
        .define(
            json!({"name": "Timed", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all",
             "sla_hours": 1, "escalation": {"action": "reassign", "team": "executives"}}]}),
        )
        .await;
    let mut stages = Vec::new();
    for i in 0..CONTRACTS {
        let contract = world.contract("olive", "msa", &format!("{}", i + 1)).await;
        assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
        let legal = stage(&world.workflow(&contract).await, 1);
        assert_eq!(legal["due_at"], "2026-12-01T11:00:00Z");
        stages.push((contract, legal["id"].as_str().unwrap().to_owned()));
    }
    world.advance_to("2026-12-01T11:00:01Z".parse().unwrap());
    world.relogin().await;
    let overdue = world
        .events_at_least("workflow_stage.overdue", CONTRACTS)
        .await;
    let mut marked: Vec<&str> = overdue
        .iter()
        .map(|e| e["entity_id"].as_str().unwrap())
        .collect();
    marked.sort_unstable();
    let mut expected: Vec<&str> = stages.iter().map(|(_, id)| id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(marked, expected, "every stage marked once");
    for (contract, _) in &stages {
        let legal = stage(&world.workflow(contract).await, 1);
        assert!(legal["overdue"].as_bool().unwrap(), "{legal}");
        let states: Vec<(&str, &str)> = legal["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["approver_id"].as_str().unwrap(),
                    a["state"].as_str().unwrap(),
                )
            })
            .collect();
        let (lena, xena) = (world.id("lena"), world.id("xena"));
        let mut states = states;
        states.sort_unstable();
        let mut wanted = vec![(lena.as_str(), "reassigned"), (xena.as_str(), "pending")];
        wanted.sort_unstable();
        assert_eq!(states, wanted, "escalated once");
    }
    // Each stage's marking is audited under the timer made for it, and every timer
    // finished on its first attempt.
    let client = db.client().await;
    let rows = client
        .query(
            "select a.entity_id::text, a.request_id, j.id, j.state, j.attempt \
             from t_acme.audit_logs a \
             join public.jobs j on a.request_id = 'job:workflow.stage_due:' || j.id \
             where a.entity = 'workflow_stage' and a.action = 'overdue'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), CONTRACTS);
    for row in &rows {
        let (stage_id, job_id): (String, i64) = (row.get(0), row.get(2));
        let args: Value = client
            .query_one("select args from public.jobs where id = $1", &[&job_id])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            args["stage_id"],
            stage_id.as_str(),
            "audited under its own timer"
        );
        assert_eq!(
            (row.get::<_, String>(3), row.get::<_, i32>(4)),
            ("completed".to_owned(), 1)
        );
    }
}
