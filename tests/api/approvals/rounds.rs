//! Rounds from submission to settlement: the seed definition end to end, rejection,
//! a definition edited mid-round, voiding on a material edit, concurrent decisions.

use super::*;

#[tokio::test]
async fn the_seed_definition_runs_from_submission_to_approval() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("lena", "member"),
            ("lars", "member"),
            ("finn", "member"),
            ("cleo", "member"),
            ("carl", "member"),
            ("max", "manager"),
            ("vera", "viewer"),
        ],
        &[
            ("legal", &["lena", "lars", "vera"]),
            ("finance", &["finn"]),
            ("cfo", &["cleo"]),
            ("ceo", &["carl"]),
        ],
    )
    .await;
    let definition = world.define(seed_definition()).await;
    assert_eq!(definition["version"], 1);
    assert_eq!(
        definition["stages"][1]["approvers"],
        json!(["finance", "cfo"])
    );

    let contract = world.contract("olive", "msa", "750000").await;
    let (status, body) = world.submit("olive", &contract).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(
        workflow["current"]["definition_name"],
        "High Value Contract Approval"
    );
    assert_eq!(workflow["current"]["state"], "running");
    let legal = stage(&workflow, 1);
    assert_eq!(legal["state"], "active");
    assert_eq!(
        legal["required_approvals"], 2,
        "all of legal who may act (a viewer in the team is not asked)"
    );
    assert!(legal["due_at"].is_string(), "48 business hours from now");
    assert_eq!(stage(&workflow, 2)["state"], "waiting");

    // A manager cannot go around the workflow.
    let (status, body) = world
        .as_(
            "max",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/transition"),
            Some(json!({"to": "approved"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("workflow_in_progress")),
        "{body}"
    );

    // Legal: all of them.
    let lena = world.pending(&contract, "lena").await;
    let (status, body) = world.decide("lena", &lena, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "approved");
    assert_eq!(
        stage(&world.workflow(&contract).await, 1)["state"],
        "active",
        "one of two"
    );
    // Someone else cannot act on lena's approval or lars's.
    let lars = world.pending(&contract, "lars").await;
    let (status, _) = world.decide("lena", &lars, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A malformed body is refused, not taken for an absent one; no body at all is fine.
    for (content_type, body) in [
        ("application/json", "{\"comment\": 5}"),
        ("application/json", "not json"),
    ] {
        let response = world
            .app
            .request(
                Method::POST,
                HOST,
                &format!("/api/v1/approvals/{lars}/approve"),
            )
            .bearer_auth(world.token("lars"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let response = world
        .app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/approvals/{lars}/approve"),
        )
        .bearer_auth(world.token("lars"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "no body");

    // Finance: any of finance or the CFO.
    let workflow = world.workflow(&contract).await;
    assert_eq!(stage(&workflow, 1)["state"], "approved");
    assert_eq!(stage(&workflow, 2)["state"], "active");
    assert_eq!(stage(&workflow, 2)["required_approvals"], 1);
    let finn = world.pending(&contract, "finn").await;
    let cleo = world.pending(&contract, "cleo").await;
    let (status, _) = world.decide("cleo", &cleo, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = world.decide("finn", &finn, "approve", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided")),
        "{body}"
    );

    // Executive sign-off; a repeated click is idempotent.
    let carl = world.pending(&contract, "carl").await;
    let (first, once) = world.decide("carl", &carl, "approve", json!({})).await;
    let (second, twice) = world.decide("carl", &carl, "approve", json!({})).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        once["decided_at"], twice["decided_at"],
        "the second click changed nothing"
    );
    let (status, body) = world
        .decide(
            "carl",
            &carl,
            "reject",
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided"))
    );

    assert_eq!(world.status(&contract).await, "approved");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["state"], "approved");
    assert_eq!(
        world
            .events_at_least("workflow_run.approved", 1)
            .await
            .len(),
        1
    );
    assert_eq!(world.events_at_least("approval.approved", 4).await.len(), 4);
    assert_eq!(
        world
            .events_at_least("workflow_stage.completed", 3)
            .await
            .len(),
        3,
        "each stage completed once"
    );
    let approved = world.events_at_least("contract.status_changed", 2).await;
    assert_eq!(approved.last().unwrap()["current"]["status"], "approved");
    assert_eq!(
        approved.last().unwrap()["actor_kind"],
        "system",
        "the workflow approved it"
    );

    // Approvers find what they did.
    let (_, mine) = world
        .as_(
            "carl",
            Method::GET,
            "/api/v1/approvals?state=approved",
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (status, _) = world
        .as_("carl", Method::GET, "/api/v1/approvals?scope=all", None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "everyone's approvals are for managers"
    );
    let (status, all) = world
        .as_("max", Method::GET, "/api/v1/approvals?scope=all", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);

    let (status, analytics) = world
        .as_("max", Method::GET, "/api/v1/workflows/analytics", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{analytics}");
    assert_eq!(analytics["started"], 1);
    assert_eq!(analytics["completion_rate"], 1.0);
    assert_eq!(analytics["within_sla_share"], 1.0);
    assert_eq!(analytics["stages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_rejection_rejects_and_needs_a_reason_and_editing_a_definition_leaves_running_rounds_alone(
) {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("finn", "member")],
        &[("legal", &["lena"]), ("finance", &["finn"])],
    )
    .await;
    let definition = world
        .define(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "nda", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);

    // The definition changes: the running round keeps its two stages.
    let id = definition["id"].as_str().unwrap();
    let (status, edited) = world
        .admin(Method::PUT, &format!("/api/v1/workflows/{id}"), Some(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1,
            "stages": [{"stage_name": "Only legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["version"], 2);
    let (_, versions) = world
        .admin(
            Method::GET,
            &format!("/api/v1/workflows/{id}/versions"),
            None,
        )
        .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);

    let lena = world.pending(&contract, "lena").await;
    let (status, body) = world.decide("lena", &lena, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["definition_version"], 1);
    assert_eq!(
        stage(&workflow, 2)["state"],
        "active",
        "version 1's second stage still runs"
    );

    let finn = world.pending(&contract, "finn").await;
    for bad in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x".repeat(2001)}),
    ] {
        let (status, body) = world.decide("finn", &finn, "reject", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = world
        .decide(
            "finn",
            &finn,
            "reject",
            json!({"reason": "Payment terms too long"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.status(&contract).await, "rejected");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["state"], "rejected");
    assert!(workflow["current"]["reason"]
        .as_str()
        .unwrap()
        .contains("Payment terms too long"));
}

#[tokio::test]
async fn a_material_edit_voids_the_round_and_restarts_it() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("lars", "member")],
        &[("legal", &["lena", "lars"])],
    )
    .await;
    world
        .define(json!({"name": "Legal", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "msa", "100").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let lena_first = world.pending(&contract, "lena").await;
    assert_eq!(
        world
            .decide("lena", &lena_first, "approve", json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let lars_first = world.pending(&contract, "lars").await;

    // Tags are not material: the round goes on.
    let (status, body) = world
        .edit("olive", &contract, json!({"tags": ["q4"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(world.workflow(&contract).await["current"]["round"], 1);

    // The value is: the round is voided, with the reason, and a new one starts.
    let (status, body) = world
        .as_(
            "olive",
            Method::PATCH,
            &format!("/api/v1/contracts/{contract}"),
            Some(json!({"value": "250", "version": body["version"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let workflow = world.workflow(&contract).await;
    assert_eq!(workflow["current"]["round"], 2);
    assert_eq!(workflow["current"]["state"], "running");
    assert_eq!(workflow["current"]["contract_version"], body["version"]);
    assert_eq!(workflow["earlier"][0]["state"], "voided");
    assert_eq!(workflow["earlier"][0]["reason"], "material change: value");
    let (status, body) = world
        .decide("lars", &lars_first, "approve", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("round_voided")),
        "{body}"
    );
    let (status, body) = world
        .decide("lena", &lena_first, "approve", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("round_voided")),
        "a decision on the old version does not carry over"
    );
    assert_eq!(stage(&workflow, 1)["approved_count"], 0);

    // A new body voids it again; the new round needs both again.
    let (status, _) = world
        .edit("olive", &contract, json!({"body": "New terms."}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        world.workflow(&contract).await["earlier"][0]["reason"],
        "material change: body"
    );
    for name in ["lena", "lars"] {
        let approval = world.pending(&contract, name).await;
        assert_eq!(
            world.decide(name, &approval, "approve", json!({})).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(world.status(&contract).await, "approved");
    assert_eq!(
        world.events_at_least("workflow_run.voided", 2).await.len(),
        2
    );

    // An admin restarts a running round by hand.
    let other = world.contract("olive", "msa", "1").await;
    assert_eq!(world.submit("olive", &other).await.0, StatusCode::OK);
    let (status, started) = world
        .admin(
            Method::POST,
            &format!("/api/v1/contracts/{other}/workflow"),
            Some(json!({"reason": "approvers changed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let workflow = world.workflow(&other).await;
    assert_eq!(workflow["current"]["round"], 2);
    assert_eq!(workflow["earlier"][0]["state"], "cancelled");
    let (status, body) = world
        .admin(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/workflow"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_in_review"))
    );
}

#[tokio::test]
async fn concurrent_approvals_advance_a_stage_exactly_once() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[
            ("olive", "member"),
            ("ann", "member"),
            ("bob", "member"),
            ("cid", "member"),
        ],
        &[("pair", &["ann", "bob"]), ("last", &["cid"])],
    )
    .await;
    world
        .define(json!({"name": "Pair", "trigger_conditions": {"contract_type": "msa"}, "priority": 2, "stages": [
            {"stage_name": "Pair", "sequence": 1, "approvers": ["pair"], "approval_type": "all"},
            {"stage_name": "Last", "sequence": 2, "approvers": ["last"], "approval_type": "all"}]}))
        .await;
    world
        .define(json!({"name": "Either", "trigger_conditions": {"contract_type": "sow"}, "priority": 1, "stages": [
            {"stage_name": "Either", "sequence": 1, "approvers": ["pair"], "approval_type": "any"}]}))
        .await;
    for round in 0..5 {
        let all = world.contract("olive", "msa", &format!("{round}")).await;
        let any = world.contract("olive", "sow", &format!("{round}")).await;
        assert_eq!(world.submit("olive", &all).await.0, StatusCode::OK);
        assert_eq!(world.submit("olive", &any).await.0, StatusCode::OK);
        let (a1, b1, a2, b2) = (
            world.pending(&all, "ann").await,
            world.pending(&all, "bob").await,
            world.pending(&any, "ann").await,
            world.pending(&any, "bob").await,
        );
        let (ra, rb, rc, rd) = tokio::join!(
            world.decide("ann", &a1, "approve", json!({})),
            world.decide("bob", &b1, "approve", json!({})),
            world.decide("ann", &a2, "approve", json!({})),
            world.decide("bob", &b2, "approve", json!({})),
        );
        assert_eq!(
            (ra.0, rb.0),
            (StatusCode::OK, StatusCode::OK),
            "{} {}",
            ra.1,
            rb.1
        );
        let workflow = world.workflow(&all).await;
        assert_eq!(stage(&workflow, 1)["state"], "approved");
        let last = stage(&workflow, 2);
        assert_eq!(last["state"], "active");
        assert_eq!(
            last["approvals"].as_array().unwrap().len(),
            1,
            "the next stage started once"
        );
        // "any": one approval decides; the other finds it already settled.
        let mut outcomes = [rc.0, rd.0];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} {}",
            rc.1,
            rd.1
        );
        assert_eq!(world.status(&any).await, "approved");
    }
    assert_eq!(
        world
            .events_at_least("workflow_stage.completed", 10)
            .await
            .len(),
        10,
        "each stage once"
    );
    assert_eq!(
        world
            .events_at_least("workflow_run.approved", 5)
            .await
            .len(),
        5
    );

    // A decision racing an edit that voids its round: one of them wins, cleanly.
    for round in 0..5 {
        let any = world
            .contract("olive", "sow", &format!("{}", 100 + round))
            .await;
        assert_eq!(world.submit("olive", &any).await.0, StatusCode::OK);
        let ann = world.pending(&any, "ann").await;
        let (_, current) = world
            .admin(Method::GET, &format!("/api/v1/contracts/{any}"), None)
            .await;
        let path = format!("/api/v1/contracts/{any}");
        let (decided, edited) = tokio::join!(
            world.decide("ann", &ann, "approve", json!({})),
            world.as_(
                "olive",
                Method::PATCH,
                &path,
                Some(json!({"value": "999", "version": current["version"]})),
            ),
        );
        assert!(
            !decided.0.is_server_error() && !edited.0.is_server_error(),
            "{} {} / {} {}",
            decided.0,
            decided.1,
            edited.0,
            edited.1
        );
        let workflow = world.workflow(&any).await;
        if decided.0 == StatusCode::OK {
            assert_eq!(world.status(&any).await, "approved");
            assert_eq!(edited.0, StatusCode::CONFLICT, "{}", edited.1);
        } else {
            assert_eq!(decided.1["error"], "round_voided", "{}", decided.1);
            assert_eq!(workflow["current"]["round"], 2);
        }
    }
}
