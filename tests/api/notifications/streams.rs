//! Live streams (SSE) across instances through Redis and PostgreSQL, resubscription,
//! and single-use stream tickets.

use super::*;

#[tokio::test]
async fn streams_fan_out_across_instances_through_redis() {
    a_stream_on_one_instance_hears_the_other_and_replays_after_reconnecting(Some(redis_url()))
        .await;
}

#[tokio::test]
async fn streams_fan_out_across_instances_through_postgres_listen_notify() {
    a_stream_on_one_instance_hears_the_other_and_replays_after_reconnecting(None).await;
}

#[tokio::test]
async fn a_stream_never_opens_deaf_while_its_instance_resubscribes() {
    let org = org(Utc::now(), 1, &[], &[("olive", "member")]).await;
    let contract = org.contract("olive", "Resubscribed NDA", json!({})).await;
    let mut before = Listener::of(
        Listener::open(
            &org.apps[0],
            HOST,
            &format!("?ticket={}", ticket(&org, 0, "olive").await),
            None,
        )
        .await,
    );
    // The instance's subscription connection goes (a restart of what carries it).
    let client = org.db.client().await;
    let cut: i64 = client
        .query_one(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity \
             where application_name = 'pactum-notification-listener' and datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cut, 1);
    assert!(
        before.next(StdDuration::from_secs(5)).await.is_none(),
        "open streams end when the subscription is lost"
    );
    // A client reconnecting at once is not handed a stream that hears nothing: it waits
    // for the subscription to be back (or is told to come back), so what is made right
    // away reaches it live, every one, in order.
    let mut after = Listener::of(
        Listener::open(
            &org.apps[0],
            HOST,
            &format!("?ticket={}", ticket(&org, 0, "olive").await),
            Some(0),
        )
        .await,
    );
    for version in 2..=4 {
        org.edit(
            0,
            &contract,
            json!({"title": format!("Resubscribed NDA v{version}")}),
        )
        .await;
    }
    let made = org.inbox("olive", 3).await;
    let mut heard = Vec::new();
    while let Some((id, _)) = after.next(StdDuration::from_secs(3)).await {
        heard.push(id);
    }
    let mut expected: Vec<i64> = made.iter().map(|n| n["id"].as_i64().unwrap()).collect();
    expected.sort_unstable();
    assert_eq!(
        heard, expected,
        "every notification made after the reconnect, once"
    );
}

#[tokio::test]
async fn stream_tickets_are_single_use_short_lived_and_bound_to_their_tenant() {
    let org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[("PACTUM_SSE_HEARTBEAT_SECS", "1")],
        &[("olive", "member")],
    )
    .await;
    tenant_with_admin(&org.db, "globex", PASSWORD).await;
    let app = &org.apps[0];
    let unauthorised = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    };
    unauthorised(Listener::open(app, HOST, "", None).await).await;
    unauthorised(Listener::open(app, HOST, "?ticket=made-up", None).await).await;

    let used = ticket(&org, 0, "olive").await;
    let mut stream =
        Listener::of(Listener::open(app, HOST, &format!("?ticket={used}"), None).await);
    unauthorised(Listener::open(app, HOST, &format!("?ticket={used}"), None).await).await;
    // Heartbeats keep an idle stream open (one a second here).
    let mut heartbeat = String::new();
    while !heartbeat.contains(": heartbeat") {
        let chunk = tokio::time::timeout(StdDuration::from_secs(5), stream.events.next())
            .await
            .expect("a heartbeat")
            .unwrap()
            .unwrap();
        heartbeat.push_str(&String::from_utf8_lossy(&chunk));
    }

    let elsewhere = ticket(&org, 0, "olive").await;
    unauthorised(
        Listener::open(
            app,
            "globex.localhost",
            &format!("?ticket={elsewhere}"),
            None,
        )
        .await,
    )
    .await;

    let late = ticket(&org, 0, "olive").await;
    org.advance_to(org.now() + Duration::seconds(61));
    unauthorised(Listener::open(app, HOST, &format!("?ticket={late}"), None).await).await;

    // The bearer header works too (for clients that can send it); a malformed
    // Last-Event-ID is a 400, not a silent full replay.
    let token = org.apps[0]
        .access_token(HOST, "olive@example.com", PASSWORD)
        .await;
    let response = app
        .request(Method::GET, HOST, "/api/v1/notifications/stream")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .request(Method::GET, HOST, "/api/v1/notifications/stream")
        .bearer_auth(&token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
