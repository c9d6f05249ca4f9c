//! The notifications a workflow makes: to approvers and the owner, never to the actor.

use super::*;

#[tokio::test]
async fn notifications_follow_the_workflow_and_never_tell_the_actor() {
    let db = TestDb::migrated().await;
    let world = World::new(
        &db,
        None,
        &[("olive", "member"), ("lena", "member"), ("finn", "member")],
        &[("legal", &["lena"]), ("finance", &["finn"])],
    )
    .await;
    world
        .define(json!({"name": "Two step", "trigger_conditions": {}, "priority": 1, "stages": [
            {"stage_name": "Legal", "sequence": 1, "approvers": ["legal"], "approval_type": "all"},
            {"stage_name": "Finance", "sequence": 2, "approvers": ["finance"], "approval_type": "all"}]}))
        .await;
    let contract = world.contract("olive", "msa", "10").await;
    assert_eq!(world.submit("olive", &contract).await.0, StatusCode::OK);
    let lena_inbox = inbox(&world, "lena", 1).await;
    assert_eq!(types(&lena_inbox), ["approval_requested"]);
    assert_eq!(
        lena_inbox[0]["link"],
        format!("/api/v1/contracts/{contract}/workflow")
    );

    let lena = world.pending(&contract, "lena").await;
    assert_eq!(
        world.decide("lena", &lena, "approve", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        types(&inbox(&world, "finn", 1).await),
        ["approval_requested"]
    );
    assert_eq!(
        types(&inbox(&world, "olive", 1).await),
        ["approval_approved"]
    );

    // The owner edits a tag: the pending approver hears of it, the owner does not.
    let (status, _) = world
        .edit("olive", &contract, json!({"tags": ["q4"]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        types(&inbox(&world, "finn", 2).await),
        ["approval_requested", "contract_updated"]
    );

    let finn = world.pending(&contract, "finn").await;
    assert_eq!(
        world.decide("finn", &finn, "approve", json!({})).await.0,
        StatusCode::OK
    );
    let olive = inbox(&world, "olive", 3).await;
    assert_eq!(
        types(&olive),
        [
            "approval_approved",
            "approval_approved",
            "workflow_completed"
        ]
    );
    // Nobody was told about what they did themselves.
    assert_eq!(inbox(&world, "lena", 1).await.len(), 1);
    assert_eq!(inbox(&world, "finn", 2).await.len(), 2);

    // Counts, one read, then all read up to the newest seen: a newer one stays unread.
    let (_, counts) = world
        .as_("olive", Method::GET, "/api/v1/notifications/counts", None)
        .await;
    assert_eq!(
        (counts["unread"].as_i64(), counts["unseen"].as_i64()),
        (Some(3), Some(3))
    );
    let newest = olive[0]["id"].as_i64().unwrap();
    let oldest = olive[2]["id"].as_i64().unwrap();
    let (status, read) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/notifications/{oldest}/read"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read["read_at"].is_string() && read["seen_at"].is_string());
    let (status, _) = world
        .as_(
            "lena",
            Method::POST,
            &format!("/api/v1/notifications/{oldest}/read"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's notification");
    let (status, comment) = world
        .as_(
            "lena",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/comments"),
            Some(json!({"body": "@olive@example.com signed off"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let (status, marked) = world
        .as_(
            "olive",
            Method::POST,
            "/api/v1/notifications/all/read",
            Some(json!({"up_to_id": newest})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked["changed"], 2);
    let olive = inbox(&world, "olive", 4).await;
    assert_eq!(olive[0]["type"], "mentioned");
    assert!(
        olive[0]["read_at"].is_null(),
        "newer than up_to_id: still unread"
    );
    let (_, unread) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?unread=true",
            None,
        )
        .await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    let (status, _) = world
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/notifications/{newest}/archive"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, archived) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?archived=true",
            None,
        )
        .await;
    assert_eq!(archived["items"][0]["id"], newest);
    for bad in [
        "/api/v1/notifications/1/explode",
        "/api/v1/notifications/all/explode",
    ] {
        let (status, _) = world
            .as_("olive", Method::POST, bad, Some(json!({"up_to_id": 1})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }

    // However often the notifier runs for an event, it tells each recipient once.
    let tenant_db = crate::app::acme_db(&db).await;
    let completed = world.events_at_least("workflow_run.approved", 1).await;
    let event_id = completed[0]["id"].as_i64().unwrap();
    let tx = tenant_db.begin().await.unwrap();
    assert!(
        pactum::notifications::notifier::from_event(&tx, event_id, None)
            .await
            .unwrap()
            .is_empty(),
        "a second run makes (and publishes) nothing"
    );
    tx.commit().await.unwrap();
    let (_, archived) = world
        .as_(
            "olive",
            Method::GET,
            "/api/v1/notifications?archived=true",
            None,
        )
        .await;
    assert_eq!(
        inbox(&world, "olive", 3).await.len() + archived["items"].as_array().unwrap().len(),
        4
    );
}
