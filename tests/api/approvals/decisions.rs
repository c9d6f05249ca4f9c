//! Decisions by people: a deactivated approver handing over, quorum, delegation,
//! out-of-office, self-approval, temporary roles.

use super::*;

#[tokio::test]
async fn a_deactivated_approver_hands_over_at_once_and_users_holding_records_are_not_deleted() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("finn", "member"),
            ("temp", "member"),
        ],
        &[("legal", &["lena"]), ("backup", &["finn"])],
    )
    .await;
    world
        .define(
            json!({"name": "Legal", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all",
             "sla_hours": 8, "escalation": {"action": "reassign", "team": "backup"}}]}),
        )
        .await;
    let contract = world.contract("olive", "nda", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    world.pending(&contract, "lena").await;

    for who in ["olive", "lena"] {
        let response = world
            .app
            .call(
                Method::DELETE,
                HOST,
                &format!("/api/v1/users/{}", world.id(who)),
                &world.admin,
                None,
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::CONFLICT, "user_holds_records"),
            "{who}"
        );
    }
    let (status, _) = world
        .admin(
            Method::DELETE,
            &format!("/api/v1/users/{}", world.id("temp")),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a user who holds nothing goes"
    );

    // Lena leaves: her pending approval goes to the stage's escalation team at once.
    let (status, body) = world
        .admin(
            Method::PATCH,
            &format!("/api/v1/users/{}", world.id("lena")),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let finn = world.pending(&contract, "finn").await;
    let (status, body) = world.decide("finn", &finn, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.status(&contract).await, "approved");
}

#[tokio::test]
async fn quorum_delegation_out_of_office_and_self_approval() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("ann", "member"),
            ("bob", "member"),
            ("cid", "member"),
            ("dee", "member"),
            ("eve", "member"),
        ],
        &[("board", &["olive", "ann", "bob", "cid"])],
    )
    .await;
    world
        .define(json!({"name": "Board", "trigger_conditions": {"contract_type": "msa"}, "priority": 10, "stages": [
            {"stage_name": "Board vote", "sequence": 1, "approvers": ["board"], "approval_type": "quorum", "quorum": 2}]}))
        .await;
    world
        .define(json!({"name": "Own", "trigger_conditions": {"contract_type": "sow"}, "priority": 9, "allow_self_approval": true, "stages": [
            {"stage_name": "Self", "sequence": 1, "approvers": ["olive@example.com"], "approval_type": "all"}]}))
        .await;
    world
        .define(json!({"name": "Owner only", "trigger_conditions": {"contract_type": "nda"}, "priority": 8, "stages": [
            {"stage_name": "Self", "sequence": 1, "approvers": ["user:olive@example.com"], "approval_type": "all"}]}))
        .await;

    // Cid is away, with Eve approving in his place.
    let (status, body) = world
        .as_("cid", Method::PUT, "/api/v1/out-of-office", Some(json!({"delegate_id": world.id("eve"),
            "starts_at": Utc::now() - Duration::hours(1), "ends_at": Utc::now() + Duration::days(7), "note": "holiday"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = world
        .as_(
            "cid",
            Method::PUT,
            "/api/v1/out-of-office",
            Some(json!({"delegate_id": world.id("cid"),
            "starts_at": Utc::now(), "ends_at": Utc::now() + Duration::days(1)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not to oneself");

    let contract = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let workflow = world.workflow(&contract).await;
    let vote = stage(&workflow, 1);
    assert_eq!(vote["required_approvals"], 2);
    let approvals = vote["approvals"].as_array().unwrap();
    let holders: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| {
            (
                a["approver_id"].as_str().unwrap(),
                a["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        !holders.iter().any(|(u, _)| *u == world.id("olive")),
        "the owner is not asked to approve their own contract"
    );
    let cid = approvals
        .iter()
        .find(|a| a["approver_id"] == world.id("cid").as_str())
        .unwrap();
    assert_eq!(cid["state"], "delegated", "recorded as delegated");
    let eve = approvals
        .iter()
        .find(|a| a["approver_id"] == world.id("eve").as_str())
        .unwrap();
    assert_eq!(
        (eve["state"].as_str(), eve["assigned_via"].as_str()),
        (Some("pending"), Some("out_of_office"))
    );
    assert_eq!(eve["delegated_from"], cid["id"]);

    // Ann delegates to Dee; delegating to the owner or a current approver is refused.
    let ann = world.pending(&contract, "ann").await;
    for (to, refusal) in [("olive", "self_approval"), ("bob", "already_an_approver")] {
        let (status, body) = world
            .decide("ann", &ann, "delegate", json!({"to_user_id": world.id(to)}))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some(refusal))
        );
    }
    let (status, dee) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("dee"), "reason": "travelling"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dee}");
    assert_eq!(dee["approver_id"], world.id("dee").as_str());
    assert_eq!(dee["delegated_from"], ann.as_str(), "the chain is kept");
    let (status, again) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("dee"), "reason": "travelling"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a repeated delegation is idempotent"
    );
    assert_eq!(again["id"], dee["id"]);
    let (status, _) = world
        .decide(
            "ann",
            &ann,
            "delegate",
            json!({"to_user_id": world.id("eve")}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "but not a different one");
    let (status, _) = world.decide("ann", &ann, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "ann passed it on");

    // Quorum: two of them.
    let (status, _) = world
        .decide("dee", dee["id"].as_str().unwrap(), "approve", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&contract).await, "in_review", "one of two");
    let eve_id = eve["id"].as_str().unwrap();
    let (status, _) = world.decide("eve", eve_id, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&contract).await, "approved");
    let bob = stage(&world.workflow(&contract).await, 1)["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["approver_id"] == world.id("bob").as_str())
        .unwrap()
        .clone();
    assert_eq!(bob["state"], "not_needed");

    // Self-approval: refused unless the definition allows it.
    let nda = world.contract("olive", "nda", "1").await;
    let (status, body) = world.submit("olive", &nda).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_approvers")),
        "{body}"
    );
    let sow = world.contract("olive", "sow", "1").await;
    assert_eq!(world.submit("olive", &sow).await.0, StatusCode::OK);
    let own = world.pending(&sow, "olive").await;
    let (status, _) = world.decide("olive", &own, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.status(&sow).await, "approved");

    let (status, _) = world
        .as_("cid", Method::DELETE, "/api/v1/out-of-office", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = world
        .as_("cid", Method::GET, "/api/v1/out-of-office", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_temporary_role_lapses_by_itself() {
    temporary_role_lapses(Utc::now()).await;
}

/// A grant holds until its expiry by the server's clock (the one it was made by and
/// its timer runs on), not by the database machine's: a server whose clock stands
/// years behind grants for an hour, not never.
#[tokio::test]
async fn a_temporary_role_holds_by_the_servers_clock() {
    let start = DateTime::parse_from_rfc3339("2020-01-06T09:00:00Z").unwrap();
    temporary_role_lapses(start.to_utc()).await;
}

async fn temporary_role_lapses(start: DateTime<Utc>) {
    let db = TestDb::migrated().await;
    let clock = ManualClock::starting_at(start);
    let mut world = World::new(&db, Some(clock.clone()), &[("mia", "member")], &[]).await;
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "before"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"user_id": world.id("mia"), "role": "owner", "expires_at": start + Duration::hours(1)}),
        json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start - Duration::hours(1)}),
        json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start + Duration::days(400)}),
        json!({"user_id": uuid::Uuid::new_v4(), "role": "admin", "expires_at": start + Duration::hours(1)}),
    ] {
        let (status, body) = world
            .admin(Method::POST, "/api/v1/role-grants", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = world
        .as_("mia", Method::POST, "/api/v1/role-grants", Some(json!({"user_id": world.id("mia"), "role": "admin", "expires_at": start + Duration::hours(1)})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins grant");
    let (status, grant) = world
        .admin(
            Method::POST,
            "/api/v1/role-grants",
            Some(json!({"user_id": world.id("mia"), "role": "admin",
            "expires_at": start + Duration::hours(1), "reason": "covering for the GC"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "during"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the grant applies at once");

    clock.advance(Duration::hours(1) + Duration::seconds(1));
    world.relogin().await;
    let lapsed = world
        .until_event("role_grant.lapsed", grant["id"].as_str().unwrap())
        .await;
    assert_eq!(lapsed["actor_kind"], "system");
    let (status, _) = world
        .as_(
            "mia",
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "after"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "lapsed");
    let (_, grants) = world.admin(Method::GET, "/api/v1/role-grants", None).await;
    assert!(grants["items"][0]["ended_at"].is_string());
    let (status, _) = world
        .admin(
            Method::DELETE,
            &format!("/api/v1/role-grants/{}", grant["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already ended");
}
