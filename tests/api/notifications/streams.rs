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
    // A HEAD (a monitor, a link prefetcher) is answered as the GET would be, and does
    // not use the ticket up.
    let head = app
        .request(
            Method::HEAD,
            HOST,
            &format!("/api/v1/notifications/stream?ticket={used}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    let head = app
        .request(
            Method::HEAD,
            HOST,
            "/api/v1/notifications/stream?ticket=made-up",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
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

    // The token that asked for the open stream's ticket expires by the server's clock:
    // the next heartbeat ends the stream, with nothing to send, telling it why.
    org.advance_to(org.now() + Duration::minutes(15));
    let mut stream = Listener {
        events: stream.events,
        buffer: String::new(),
    };
    let (sent, reason) = stream.until_end(StdDuration::from_secs(5)).await;
    assert_eq!(reason.as_deref(), Some("token_expired"));
    assert!(sent.is_empty());

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

/// A stream ends with what it stands on, even while nothing is sent to it: its user's
/// session (a password change ends the streams of every earlier token of theirs,
/// bearer or ticket, and a deactivation every stream of the user) and its tenant (a
/// suspension ends every stream on the tenant's hosts). Nothing ended can be reopened
/// with what it was opened with.
#[tokio::test]
async fn a_stream_ends_with_its_users_session_and_with_its_tenants_suspension() {
    let org = org(
        Utc::now(),
        1,
        &[("PACTUM_SSE_HEARTBEAT_SECS", "1")],
        &[("olive", "member"), ("pat", "member"), ("quinn", "viewer")],
    )
    .await;
    let app = &org.apps[0];
    let olive = org.people["olive"].1.clone();
    let mut bearer = Listener::of(
        app.request(Method::GET, HOST, "/api/v1/notifications/stream")
            .bearer_auth(&olive)
            .send()
            .await
            .unwrap(),
    );
    let mut ticketed = ticketed_stream(&org, "olive").await;
    let unused = ticket(&org, 0, "olive").await;
    let mut pat = ticketed_stream(&org, "pat").await;
    let mut quinn = ticketed_stream(&org, "quinn").await;

    let (status, renewed) = org
        .as_(
            "olive",
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "olive's new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    for (what, listener) in [("bearer", &mut bearer), ("ticket", &mut ticketed)] {
        let (sent, reason) = listener.until_end(StdDuration::from_secs(10)).await;
        assert_eq!(reason.as_deref(), Some("session_ended"), "{what}");
        assert!(sent.is_empty(), "{what}: {sent:?}");
    }
    let with_old_token = app
        .request(Method::GET, HOST, "/api/v1/notifications/stream")
        .bearer_auth(&olive)
        .send()
        .await
        .unwrap();
    assert_eq!(with_old_token.status(), StatusCode::UNAUTHORIZED);
    let with_old_ticket = Listener::open(app, HOST, &format!("?ticket={unused}"), None).await;
    assert_eq!(
        with_old_ticket.status(),
        StatusCode::UNAUTHORIZED,
        "a ticket the ended session asked for"
    );
    let renewed_ticket = ticket_for(app, renewed["access_token"].as_str().unwrap()).await;
    let reopened = Listener::open(app, HOST, &format!("?ticket={renewed_ticket}"), None).await;
    assert_eq!(reopened.status(), StatusCode::OK, "the new session streams");

    let (status, _) = org
        .call(
            0,
            None,
            Method::PATCH,
            &format!("/api/v1/users/{}", org.people["pat"].0),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, reason) = pat.until_end(StdDuration::from_secs(10)).await;
    assert_eq!(reason.as_deref(), Some("session_ended"), "deactivated");

    org.db
        .client()
        .await
        .batch_execute("update public.tenants set status = 'suspended' where slug = 'acme'")
        .await
        .unwrap();
    let (_, reason) = quinn.until_end(StdDuration::from_secs(10)).await;
    assert_eq!(reason.as_deref(), Some("tenant_unavailable"), "suspended");
}

/// An open stream is no way around a logout or a token's expiry: when the access token
/// it was opened with (or that asked for its ticket) is revoked or has expired by the
/// server's clock, the next notification is not sent; the stream ends instead, telling
/// its client to authenticate again. (Heartbeats check it too: see the ticket test.)
#[tokio::test]
async fn a_stream_lives_no_longer_than_the_token_behind_it() {
    let mut org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[("PACTUM_SSE_HEARTBEAT_SECS", "300")],
        &[("olive", "member")],
    )
    .await;
    let app = &org.apps[0];
    let contract = org.contract("olive", "Streamed NDA", json!({})).await;

    // Opened with the bearer token of a session that then logs out.
    let login = app.login(HOST, "olive@example.com", PASSWORD).await;
    let session: Value = login.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();
    let mut bearer = Listener::of(
        app.request(Method::GET, HOST, "/api/v1/notifications/stream")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    );
    // Opened with a ticket that token asked for.
    let ticket = ticket_for(app, token).await;
    let mut ticketed =
        Listener::of(Listener::open(app, HOST, &format!("?ticket={ticket}"), None).await);
    // Opened with another session's ticket, which this logout leaves alone.
    let other_ticket = super::ticket(&org, 0, "olive").await;
    let mut other =
        Listener::of(Listener::open(app, HOST, &format!("?ticket={other_ticket}"), None).await);
    org.edit(0, &contract, json!({"title": "Streamed NDA v2"}))
        .await;
    let first = org.inbox("olive", 1).await[0]["id"].as_i64().unwrap();
    for listener in [&mut bearer, &mut ticketed, &mut other] {
        assert_eq!(
            listener.next_id(StdDuration::from_secs(5)).await,
            Some(first)
        );
    }

    // A ticket asked for with the token, not yet used when it logs out.
    let unused = ticket_for(app, token).await;
    assert_eq!(
        app.logout(HOST, &session).await.status(),
        StatusCode::NO_CONTENT
    );
    let refused = Listener::open(app, HOST, &format!("?ticket={unused}"), None).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "a logged-out token's ticket"
    );
    org.edit(0, &contract, json!({"title": "Streamed NDA v3"}))
        .await;
    let second = org.inbox("olive", 2).await[0]["id"].as_i64().unwrap();
    for listener in [&mut bearer, &mut ticketed] {
        let (sent, reason) = listener.until_end(StdDuration::from_secs(10)).await;
        assert_eq!(reason.as_deref(), Some("token_revoked"));
        assert!(sent.is_empty(), "sent after the logout: {sent:?}");
    }
    assert_eq!(
        other.next_id(StdDuration::from_secs(5)).await,
        Some(second),
        "another session's stream goes on"
    );

    // The server's clock passes the other session's token expiry (15 minutes), though
    // the machine's has barely moved: the next notification ends its stream instead.
    org.advance_to(org.now() + Duration::minutes(15) + Duration::seconds(1));
    org.relogin().await;
    org.edit(0, &contract, json!({"title": "Streamed NDA v4"}))
        .await;
    let third = org.inbox("olive", 3).await[0]["id"].as_i64().unwrap();
    let (sent, reason) = other.until_end(StdDuration::from_secs(10)).await;
    assert_eq!(reason.as_deref(), Some("token_expired"));
    assert!(sent.is_empty(), "sent after the token expired: {sent:?}");
    // A new token's stream picks up what the ended one did not send.
    let fresh_ticket = super::ticket(&org, 0, "olive").await;
    let mut fresh = Listener::of(
        Listener::open(
            &org.apps[0],
            HOST,
            &format!("?ticket={fresh_ticket}"),
            Some(second),
        )
        .await,
    );
    assert_eq!(fresh.next_id(StdDuration::from_secs(5)).await, Some(third));
}
