//! Definitions and their rules: values PostgreSQL refuses, priorities, ties, match
//! reports, coverage, hostile definitions, stage conditions.

use super::*;

#[tokio::test]
async fn values_postgresql_refuses_are_refused_at_save_and_a_broken_stored_rule_matches_nothing() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member")],
        &[("legal", &["lena"])],
    )
    .await;
    let stages = json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]);
    for rule in [
        json!({"start_date__lt": "0000-01-01"}),
        json!({"end_date__gte": "-001-01-01"}),
        json!({"end_date__gte": "+999-01-01"}),
        json!({"any": [{"value__gte": "1"}, {"start_date__in": ["2026-01-01", "0000-12-31"]}]}),
    ] {
        let (status, body) = world
            .admin(
                Method::POST,
                "/api/v1/workflows",
                Some(json!({"name": "Bad", "trigger_conditions": rule, "priority": 5, "stages": stages})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {body}");
    }
    // A UUID in another spelling is stored as PostgreSQL reads it.
    let lena = world.id("lena");
    world
        .define(
            json!({"name": "Lena's", "trigger_conditions": {"owner": format!("urn:uuid:{lena}")},
            "priority": 4, "stages": stages}),
        )
        .await;
    world
        .define(json!({"name": "Good", "trigger_conditions": {}, "priority": 1, "stages": stages}))
        .await;
    // A definition saved before these checks, with a value PostgreSQL refuses, at the
    // top priority: it matches nothing, and every other definition still does.
    let broken = world
        .define(json!({"name": "Old", "trigger_conditions": {}, "priority": 9, "stages": stages}))
        .await;
    db.client()
        .await
        .execute(
            "update t_acme.workflow_definitions \
             set trigger_conditions = '{\"start_date__lt\": \"0000-01-01\"}', version = version + 1 \
             where id = $1",
            &[&broken["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    let contract = world.contract("olive", "nda", "10").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(
        workflow["current"]["definition_name"], "Good",
        "{workflow:#}"
    );
}

#[tokio::test]
async fn rules_priorities_ties_matching_coverage_and_hostile_definitions() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("vic", "viewer")],
        &[("legal", &["lena"])],
    )
    .await;
    let stages = json!([{"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "any"}]);
    let big = world
        .define(json!({"name": "Big", "trigger_conditions": {"value__gte": "500000"}, "priority": 100, "stages": stages}))
        .await;
    let msa = world
        .define(json!({"name": "MSA", "trigger_conditions": {"contract_type__in": ["msa"], "not": {"tags__contains": "waived"}},
            "priority": 50, "stages": stages}))
        .await;
    // Matching at submission skips definitions whose stored facts (types, lowest value)
    // rule the contract out, and evaluates the rest: the result is the report's winner.
    let sow_only = world
        .define(json!({"name": "Sow only", "trigger_conditions": {"all": [{"type": "sow"}], "value__gt": "100"},
            "priority": 60, "stages": stages}))
        .await;
    let sow = world.contract("olive", "sow", "150").await;
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": sow})),
        )
        .await;
    assert_eq!(report["winner"], sow_only["id"]);
    assert_eq!(world.submit("olive", &sow).await.0, StatusCode::OK);
    assert_eq!(
        world.workflow(&sow).await["current"]["definition_id"],
        sow_only["id"]
    );

    // A tie with an active definition is refused; an inactive one may share.
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(
                json!({"name": "Tie", "trigger_conditions": {}, "priority": 100, "stages": stages}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("priority_taken")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("Big"));
    let (status, _) = world
        .admin(Method::POST, "/api/v1/workflows", Some(json!({"name": "Tie", "trigger_conditions": {}, "priority": 100, "is_active": false, "stages": stages})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = world
        .admin(
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"name": "big", "trigger_conditions": {}, "priority": 7, "stages": stages})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken"))
    );

    // Matching explains itself, for a stored contract and for a draft.
    let contract = world.contract("olive", "msa", "900000").await;
    let (status, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": contract})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["winner"], big["id"], "the highest priority wins");
    assert_eq!(
        report["definitions"].as_array().unwrap().len(),
        3,
        "active ones only"
    );
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract": {"contract_type": "msa", "value": "10", "tags": ["waived"]}})),
        )
        .await;
    assert_eq!(report["winner"], Value::Null);
    let failing: HashMap<String, Value> = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["failing_conditions"].clone(),
            )
        })
        .collect();
    assert_eq!(failing["Big"], json!(["value__gte"]));
    assert_eq!(
        failing["MSA"],
        json!(["not.tags__contains"]),
        "the negated condition holds, so `not` fails"
    );
    let (_, report) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract": {"contract_type": "msa", "value": "10"}})),
        )
        .await;
    assert_eq!(report["winner"], msa["id"]);
    for bad in [
        json!({}),
        json!({"contract_id": contract, "contract": {}}),
        json!({"contract": {"value": "ten"}}),
    ] {
        let (status, body) = world
            .as_(
                "vic",
                Method::POST,
                "/api/v1/workflows/match",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = world
        .as_(
            "vic",
            Method::POST,
            "/api/v1/workflows/match",
            Some(json!({"contract_id": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A submission nothing matches: approved by a manager as before, and listed as uncovered...
    let small = world.contract("olive", "nda", "5").await;
    assert_eq!(world.submit("olive", &small).await.0, StatusCode::OK);
    let (_, coverage) = world
        .admin(Method::GET, "/api/v1/workflows/coverage", None)
        .await;
    let uncovered: Vec<&Value> = coverage["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["contract_id"])
        .collect();
    assert_eq!(uncovered, vec![&json!(small)]);
    // ...or refused, when the tenant says so.
    let (status, _) = world
        .admin(
            Method::PUT,
            "/api/v1/workflow-settings",
            Some(json!({"unmatched": "refuse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let another = world.contract("olive", "nda", "6").await;
    let (status, body) = world.submit("olive", &another).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_workflow_matches")),
        "{body}"
    );
    assert_eq!(
        world.status(&another).await,
        "draft",
        "nothing half-written"
    );

    // Hostile or broken definitions: a 400 naming the path, and nothing stored.
    let (_, before) = world.admin(Method::GET, "/api/v1/workflows", None).await;
    let mut deep = json!({"value": "1"});
    for _ in 0..1000 {
        deep = json!({"not": deep});
    }
    // Ten thousand values fit the 64 KB body limit as numbers; the rule limit refuses them.
    let huge: Vec<u32> = (0..10_000).collect();
    for (rule, path) in [
        (
            json!({"value; drop table contracts; --__gte": "1"}),
            Some("trigger_conditions.value; drop table"),
        ),
        (
            json!({"value__in": huge}),
            Some("trigger_conditions.value__in"),
        ),
        (deep, None),
        (
            json!({"value__gte": "lots"}),
            Some("trigger_conditions.value__gte"),
        ),
        (
            json!({"metadata__a'b": "x"}),
            Some("trigger_conditions.metadata__a'b"),
        ),
        (
            json!({"any": [{"owner__exact": "not-a-uuid"}]}),
            Some("trigger_conditions.any[0].owner__exact"),
        ),
        (json!({"colour": "red"}), Some("trigger_conditions.colour")),
        (
            json!({"value__between": ["1", "2"]}),
            Some("trigger_conditions.value__between"),
        ),
    ] {
        let definition =
            json!({"name": "Hostile", "trigger_conditions": rule, "priority": 3, "stages": stages});
        let (status, body) = world
            .admin(Method::POST, "/api/v1/workflows", Some(definition))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        if let Some(path) = path {
            assert!(
                body["message"].as_str().unwrap().starts_with(path),
                "{} lacks {path}",
                body["message"]
            );
        }
    }
    for (edit, path) in [
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["nobody-team"], "approval_type": "all"}]),
            "stages[0].approvers[0]",
        ),
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["ghost@example.com"], "approval_type": "all"}]),
            "stages[0].approvers[0]",
        ),
        (
            json!([{"stage_name": "X", "sequence": 1, "approvers": ["legal"], "approval_type": "all", "escalation": {"action": "notify", "team": "legal"}}]),
            "stages[0].escalation",
        ),
    ] {
        let definition =
            json!({"name": "Broken", "trigger_conditions": {}, "priority": 4, "stages": edit});
        let (status, body) = world
            .admin(Method::POST, "/api/v1/workflows", Some(definition))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().starts_with(path),
            "{body}"
        );
    }
    let (status, _) = world
        .admin(Method::POST, "/api/v1/workflows", Some(json!({"name": "Extra", "trigger_conditions": {}, "priority": 5, "stages": stages, "owner": "me"})))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );
    let (_, after) = world.admin(Method::GET, "/api/v1/workflows", None).await;
    assert_eq!(before, after, "nothing stored");

    // Roles: definitions are for admins.
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            "/api/v1/workflows",
            Some(
                json!({"name": "Mine", "trigger_conditions": {}, "priority": 9, "stages": stages}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_(
            "olive",
            Method::DELETE,
            &format!("/api/v1/workflows/{}", big["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_(
            "olive",
            Method::PUT,
            "/api/v1/workflow-settings",
            Some(json!({"unmatched": "manager_approval"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = world
        .as_("olive", Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "analytics are for managers");
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/workflow"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "starting by hand is for admins"
    );
}

#[tokio::test]
async fn stage_conditions_skip_stages_a_notify_escalation_leaves_approvers_and_a_short_quorum_is_refused(
) {
    let db = TestDb::migrated().await;
    // Wednesday 2 December 2026, 10:00 UTC and some nanoseconds (as a real clock reads;
    // PostgreSQL keeps microseconds); the default calendar (Monday to Friday, 09:00-17:00
    // UTC).
    let clock = ManualClock::starting_at("2026-12-02T10:00:00.123456789Z".parse().unwrap());
    let mut world = World::new(
        &db,
        Some(clock.clone()),
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("xena", "member"),
            ("yuri", "member"),
        ],
        &[
            ("legal", &["lena"]),
            ("finance", &["finn"]),
            ("executives", &["xena", "yuri"]),
        ],
    )
    .await;
    world
        .define(json!({"name": "Conditional", "trigger_conditions": {"contract_type": "msa"}, "priority": 2, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all",
             "condition": {"value__gte": "1000"}},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all", "sla_hours": 2,
             "escalation": {"action": "notify", "team": "executives"}}]}))
        .await;
    world
        .define(json!({"name": "Board", "trigger_conditions": {"contract_type": "sow"}, "priority": 1, "stages": [
            {"stage_name": "Board", "sequence": 1, "approvers": ["executives"], "approval_type": "quorum", "quorum": 3}]}))
        .await;

    let sow = world.contract("olive", "sow", "5").await;
    let (status, body) = world.submit("olive", &sow).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_approvers")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("needs 3"),
        "{body}"
    );

    let small = world.contract("olive", "msa", "10").await;
    assert_eq!(world.submit("olive", &small).await.0, StatusCode::OK);
    let workflow = world.workflow(&small).await;
    assert_eq!(
        stage(&workflow, 1)["state"],
        "skipped",
        "its condition does not hold"
    );
    let finance = stage(&workflow, 2);
    assert_eq!(finance["state"], "active");
    assert_eq!(finance["due_at"], "2026-12-02T12:00:00.123456Z");
    assert_eq!(
        world
            .events_at_least("workflow_stage.skipped", 1)
            .await
            .len(),
        1
    );

    world.advance_to("2026-12-02T12:00:00.200Z".parse().unwrap());
    world.relogin().await;
    let stage_id = finance["id"].as_str().unwrap();
    let escalated = world
        .until_event("workflow_stage.escalated", stage_id)
        .await;
    assert_eq!(escalated["current"]["action"], "notify");
    assert_eq!(escalated["current"]["team"], "executives");
    assert_eq!(escalated["current"]["reassigned_to"], json!([]));
    let (_, overdue) = world
        .as_("finn", Method::GET, "/api/v1/approvals?overdue=true", None)
        .await;
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "notify leaves the approval with finn: {overdue}"
    );
    assert!(items[0]["overdue"].as_bool().unwrap());
    let (_, theirs) = world
        .as_("xena", Method::GET, "/api/v1/approvals", None)
        .await;
    assert!(
        theirs["items"].as_array().unwrap().is_empty(),
        "nothing reassigned"
    );
    let finn = world.pending(&small, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(world.status(&small).await, "approved");
}
