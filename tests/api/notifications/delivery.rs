//! Email and chat delivery through real receivers: preferences, quiet hours and
//! digests, batches over few connections, an SMTP outage that loses and doubles
//! nothing.

use super::*;

#[tokio::test]
async fn preferences_resolve_over_tenant_defaults_and_refuse_muting_critical_types() {
    let org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let path = "/api/v1/notification-preferences";
    let (status, mine) = org.as_("olive", Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(
        mine["effective"]["types"]["mentioned"],
        json!({"in_app": true, "email": true, "chat": false, "critical": false})
    );
    assert_eq!(
        mine["effective"]["types"]["approval_requested"]["critical"],
        true
    );

    // Tenant defaults: admins only; they apply under the user's own choices.
    let defaults = "/api/v1/notification-preferences/defaults";
    let (status, _) = org
        .as_(
            "olive",
            Method::PUT,
            defaults,
            Some(json!({"channels": {"email": {"*": false}}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = org
        .call(0, None, Method::PUT, defaults, Some(json!({"channels": {"email": {"*": false}}, "time_zone": "Europe/Paris", "reminder_days": [30, 7]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["reminder_days"], json!([30, 7]));
    let (_, mine) = org.as_("olive", Method::GET, path, None).await;
    assert_eq!(mine["effective"]["types"]["mentioned"]["email"], false);
    assert_eq!(
        mine["effective"]["types"]["approval_requested"]["email"], true,
        "critical"
    );
    assert_eq!(mine["effective"]["time_zone"], "Europe/Paris");
    let (status, mine) = org
        .as_("olive", Method::PUT, path, Some(json!({"channels": {"email": {"mentioned": true}}, "time_zone": "Asia/Tokyo", "quiet_hours": {"start": "22:00", "end": "07:00"}, "digest": "daily"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["effective"]["types"]["mentioned"]["email"], true);
    assert_eq!(
        mine["effective"]["types"]["contract_updated"]["email"],
        false
    );
    assert_eq!(mine["effective"]["digest"], "daily");
    assert_eq!(
        mine["own"]["quiet_hours"],
        json!({"start": "22:00", "end": "07:00"})
    );

    // Refusals: stable codes, nothing stored.
    for (body, code) in [
        (
            json!({"channels": {"email": {"approval_requested": false}}}),
            "critical_notification_type",
        ),
        (
            json!({"channels": {"in_app": {"approval_overdue": false}}}),
            "critical_notification_type",
        ),
        (
            json!({"channels": {"pager": {"*": true}}}),
            "unknown_channel",
        ),
        (
            json!({"channels": {"email": {"gossip": true}}}),
            "unknown_notification_type",
        ),
        (json!({"time_zone": "Mars/Olympus"}), "invalid_time_zone"),
        (
            json!({"chat_webhook_url": "ftp://example.com/hook"}),
            "invalid_chat_webhook_url",
        ),
        (
            json!({"chat_webhook_url": "not a url"}),
            "invalid_chat_webhook_url",
        ),
        (
            json!({"quiet_hours": {"start": "25:00", "end": "07:00"}}),
            "bad_request",
        ),
        (json!({"digest": "weekly"}), "bad_request"),
        (json!({"surprise": true}), "bad_request"),
        (
            json!({"channels": {"email": {"mentioned": "yes"}}}),
            "bad_request",
        ),
    ] {
        let (status, refused) = org
            .as_("olive", Method::PUT, path, Some(body.clone()))
            .await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body} -> {refused}"
        );
    }
    let (_, after) = org.as_("olive", Method::GET, path, None).await;
    assert_eq!(
        after["own"]["time_zone"], "Asia/Tokyo",
        "a refused change left the saved one alone"
    );
    for body in [
        json!({"reminder_days": [0]}),
        json!({"reminder_days": [30, 30]}),
        json!({"reminder_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}),
        json!({"renewal_notice_lead_days": 400}),
        json!({"obligation_reminder_days": [-1]}),
        json!({"obligation_reminder_days": [366]}),
        json!({"obligation_reminder_days": [7, 7]}),
        json!({"obligation_reminder_days": "7"}),
        json!({"brand_color": "red"}),
        json!({"time_zone": "Nowhere"}),
    ] {
        let (status, refused) = org
            .call(0, None, Method::PUT, defaults, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {refused}");
    }
    let (_, kept) = org.call(0, None, Method::GET, defaults, None).await;
    assert_eq!(kept["reminder_days"], json!([30, 7]));
    assert_eq!(kept["obligation_reminder_days"], json!([7, 0]));
    let (status, saved) = org
        .call(
            0,
            None,
            Method::PUT,
            defaults,
            Some(json!({"obligation_reminder_days": [0, 14, 3]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["obligation_reminder_days"], json!([14, 3, 0]));
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server_and_an_outage_loses_and_doubles_nothing() {
    let (smtp, mut org) = org_with_smtp(
        "2026-12-01T12:00:00Z",
        &[],
        &[("olive", "member"), ("mark", "member")],
    )
    .await;
    let contract = org.contract("olive", "Supply NDA", json!({})).await;

    // The admin edits Olive's contract: Olive (owner) is told, by inbox and email; the
    // admin (the actor) is not.
    org.edit(0, &contract, json!({"title": "Supply NDA v2"}))
        .await;
    let olive = org.inbox("olive", 1).await;
    assert_eq!(olive[0]["type"], "contract_updated");
    let messages = smtp.messages(1).await;
    assert_eq!(messages[0]["to"], json!(["olive@example.com"]));
    assert!(
        messages[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("[acme] "),
        "{}",
        messages[0]
    );
    assert!(
        messages[0]["text"].as_str().unwrap().contains(&format!(
            "Open in acme: http://acme.localhost/api/v1/contracts/{contract}"
        )),
        "links go to the tenant's host: {}",
        messages[0]
    );
    // (minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers read as `/`.)
    assert!(
        messages[0]["html"]
            .as_str()
            .unwrap()
            .contains("acme.localhost"),
        "{}",
        messages[0]
    );
    let (_, admin_inbox) = org
        .call(0, None, Method::GET, "/api/v1/notifications", None)
        .await;
    assert!(
        admin_inbox["items"].as_array().unwrap().is_empty(),
        "never the actor"
    );

    // A mention tells Mark.
    let (status, comment) = org
        .as_(
            "olive",
            Method::POST,
            &format!("/api/v1/contracts/{contract}/comments"),
            Some(json!({"body": "@mark@example.com please check"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(org.inbox("mark", 1).await[0]["type"], "mentioned");
    smtp.messages(2).await;

    // The server goes away; three more edits are made. Nothing is sent, nothing lost.
    smtp.set_down(true).await;
    for n in 3..6 {
        org.edit(0, &contract, json!({"title": format!("Supply NDA v{n}")}))
            .await;
    }
    org.inbox("olive", 4).await;
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let client = org.db.client().await;
        let failed_once: i64 = client
            .query_one("select count(*) from t_acme.notification_deliveries where state = 'pending' and attempts >= 1", &[])
            .await
            .unwrap()
            .get(0);
        if failed_once == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "three failed attempts");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(
        smtp.received().await["messages"].as_array().unwrap().len(),
        2
    );

    // It comes back; the retries come due (the clock moves past their backoff).
    smtp.set_down(false).await;
    org.advance_to(org.now() + Duration::hours(1));
    org.relogin().await;
    let messages = smtp.messages(5).await;
    org.wait_deliveries("sent", 5).await;
    let ids: std::collections::HashSet<_> =
        messages.iter().map(|m| m["message_id"].clone()).collect();
    assert_eq!(ids.len(), 5, "five distinct messages");

    // A delivery that was sent but (as if the process died before marking it) runs
    // again: the same Message-ID, so a deduplicating server still shows one.
    let client = org.db.client().await;
    let row = client
        .query_one("update t_acme.notification_deliveries set state = 'pending' where id = (select min(id) from t_acme.notification_deliveries) returning id", &[])
        .await
        .unwrap();
    let delivery: i64 = row.get(0);
    client
        .execute(
            "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, max_attempts, timeout_ms, created_at) \
             select id, 'notifications.deliver', 'default', jsonb_build_object('delivery_id', $1::bigint), 2, 'available', $2, $2, 3, 60000, $2 \
             from public.tenants where slug = 'acme'",
            // Due by the servers' clock, which is the one the queue runs on.
            &[&delivery, &org.now()],
        )
        .await
        .unwrap();
    org.wait_deliveries("sent", 5).await;
    let received = smtp.received().await;
    assert_eq!(received["messages"].as_array().unwrap().len(), 5);
    assert_eq!(
        received["duplicates"], 1,
        "the repeat carried the same Message-ID"
    );
}

#[tokio::test]
async fn quiet_hours_defer_email_but_not_the_inbox_and_digests_group_by_contract() {
    // 23:00 UTC.
    let (smtp, mut org) = org_with_smtp(
        "2026-12-01T23:00:00Z",
        &[],
        &[("olive", "member"), ("dora", "member")],
    )
    .await;
    org.quiet_hours("olive", "22:00", "07:00").await;
    let (status, _) = org
        .as_(
            "dora",
            Method::PUT,
            "/api/v1/notification-preferences",
            Some(json!({"time_zone": "UTC", "digest": "hourly"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let quiet = org.contract("olive", "Quiet NDA", json!({})).await;
    org.edit(0, &quiet, json!({"title": "Quiet NDA v2"})).await;
    assert_eq!(
        org.inbox("olive", 1).await.len(),
        1,
        "the inbox is never deferred"
    );
    org.wait_deliveries("pending", 1).await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert!(
        smtp.received().await["messages"]
            .as_array()
            .unwrap()
            .is_empty(),
        "quiet until 07:00"
    );
    org.advance_to(at("2026-12-02T06:59:00Z"));
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert!(
        smtp.received().await["messages"]
            .as_array()
            .unwrap()
            .is_empty(),
        "still quiet at 06:59"
    );
    org.advance_to(at("2026-12-02T07:00:00Z"));
    let first = smtp.messages(1).await;
    assert_eq!(first[0]["to"], json!(["olive@example.com"]));

    // Dora's hourly digest: three updates on two contracts in the 07:00 hour, one mail
    // at 08:00, grouped by contract.
    org.advance_to(at("2026-12-02T07:10:00Z"));
    org.relogin().await;
    let alpha = org.contract("dora", "Alpha NDA", json!({})).await;
    let beta = org.contract("dora", "Beta NDA", json!({})).await;
    org.edit(0, &alpha, json!({"tags": ["one"]})).await;
    org.edit(0, &beta, json!({"tags": ["two"]})).await;
    org.edit(0, &alpha, json!({"tags": ["three"]})).await;
    org.inbox("dora", 3).await;
    org.wait_deliveries("digest", 3).await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(
        smtp.received().await["messages"].as_array().unwrap().len(),
        1,
        "held for the digest"
    );
    org.advance_to(at("2026-12-02T08:00:00Z"));
    let messages = smtp.messages(2).await;
    let digest = &messages[1];
    assert_eq!(digest["to"], json!(["dora@example.com"]));
    assert!(
        digest["subject"].as_str().unwrap().contains("3 updates"),
        "{digest}"
    );
    let text = digest["text"].as_str().unwrap();
    let (a, b) = (
        text.find("Alpha NDA").unwrap(),
        text.find("Beta NDA").unwrap(),
    );
    assert!(a < b, "{text}");
    let alpha_items = text[a..b].matches("  - ").count();
    let beta_items = text[b..].matches("  - ").count();
    assert_eq!((alpha_items, beta_items), (2, 1), "{text}");
    org.wait_deliveries("digest", 0).await;
}

#[tokio::test]
async fn a_burst_of_email_goes_in_batches_over_few_connections_each_once() {
    // 23:00 UTC: Olive's quiet hours hold every email until 07:00, when they all come
    // due at once.
    let (smtp, org) = org_with_smtp(
        "2026-12-01T23:00:00Z",
        &[("PACTUM_JOB_WORKERS", "4")],
        &[("olive", "member")],
    )
    .await;
    org.quiet_hours("olive", "22:00", "07:00").await;
    const EMAILS: i64 = 120;
    let contract = org.contract("olive", "Burst NDA", json!({})).await;
    for n in 0..EMAILS {
        org.edit(0, &contract, json!({"title": format!("Burst NDA v{n}")}))
            .await;
    }
    org.wait_deliveries("pending", EMAILS).await;
    assert!(smtp.received().await["messages"]
        .as_array()
        .unwrap()
        .is_empty());

    org.advance_to(at("2026-12-02T07:00:00Z"));
    let messages = smtp.messages(EMAILS as usize).await;
    org.wait_deliveries("sent", EMAILS).await;
    let received = smtp.received().await;
    assert_eq!(messages.len(), EMAILS as usize);
    assert_eq!(received["duplicates"], 0, "each email once");
    let ids: std::collections::HashSet<_> =
        messages.iter().map(|m| m["message_id"].clone()).collect();
    assert_eq!(ids.len(), EMAILS as usize);
    // Batches of up to 50 over connections kept for the next batch: never a
    // connection per email (4 workers could open at most a few each).
    let sessions = received["sessions"].as_i64().unwrap();
    assert!(
        (1..=8).contains(&sessions),
        "{sessions} SMTP sessions for {EMAILS} emails"
    );
    let client = org.db.client().await;
    let tries: Vec<(i32, i64)> = client
        .query(
            "select attempts, count(*) from t_acme.notification_deliveries group by attempts",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(tries, vec![(1, EMAILS)], "one attempt each");
    let held: i64 = client
        .query_one(
            "select count(*) from t_acme.notification_deliveries where held_by is not null or held_until is not null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 0, "no batch holds a settled email");
}

#[tokio::test]
async fn an_email_held_by_a_batch_that_died_is_sent_once_the_hold_lapses() {
    let (smtp, org) = org_with_smtp("2026-12-01T12:00:00Z", &[], &[("olive", "member")]).await;
    // Olive's email is planned, then claimed by a batch whose job died mid-send: the
    // row is held for the next ten minutes by a job that will never come back.
    org.quiet_hours("olive", "11:00", "13:00").await;
    let contract = org.contract("olive", "Held NDA", json!({})).await;
    org.edit(0, &contract, json!({"title": "Held NDA v2"}))
        .await;
    org.wait_deliveries("pending", 1).await;
    let client = org.db.client().await;
    client
        .execute(
            "update t_acme.notification_deliveries set held_by = gen_random_uuid(), held_until = $1",
            &[&(org.now() + Duration::hours(1) + Duration::minutes(10))],
        )
        .await
        .unwrap();
    // 13:00: the email is due, its own job runs and finds it held: it waits for the
    // holder, and nothing is sent while the hold lasts.
    org.advance_to(at("2026-12-01T13:00:00Z"));
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert!(
        smtp.received().await["messages"]
            .as_array()
            .unwrap()
            .is_empty(),
        "held by a batch"
    );
    assert_eq!(org.deliveries().await.get("pending"), Some(&1));
    // The hold lapses: the email's own job takes it and sends it, once.
    org.advance_to(at("2026-12-01T13:11:00Z"));
    let messages = smtp.messages(1).await;
    assert_eq!(messages[0]["to"], json!(["olive@example.com"]));
    org.wait_deliveries("sent", 1).await;
    assert_eq!(smtp.received().await["duplicates"], 0);
}

#[tokio::test]
async fn chat_notifications_reach_a_slack_compatible_webhook() {
    use actix_web::{web, App, HttpServer};
    let received: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/hook",
            web::post().to(move |body: web::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(body.into_inner());
                    "ok"
                }
            }),
        )
    })
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());

    let org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let (status, saved) = org
        .as_("olive", Method::PUT, "/api/v1/notification-preferences", Some(json!({"chat_webhook_url": format!("http://127.0.0.1:{port}/hook"), "channels": {"chat": {"*": true}}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let contract = org.contract("olive", "Chatty NDA", json!({})).await;
    org.edit(0, &contract, json!({"tags": ["x"]})).await;
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "a chat message");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let message = received.lock().unwrap()[0].clone();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("*A contract you own or approve was updated*"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "<http://acme.localhost/api/v1/contracts/{contract}|Open in acme>"
        )),
        "{text}"
    );
    org.wait_deliveries("sent", 2).await; // email (outbox) and chat
}
