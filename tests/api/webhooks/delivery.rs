//! Webhook delivery to real receivers: signed and verified, retried on a schedule
//! through outages, disabled only after days, recovered on request.

use super::*;

#[tokio::test]
async fn matching_events_are_delivered_signed_and_verified_independently() {
    let receiver = PyReceiver::start(&[]);
    let tenant = Tenant::new(&[ALLOW_PRIVATE]).await;
    let created = tenant.webhook(&receiver.url(), json!(["contract.*"])).await;
    assert_eq!(
        created["secret"], SECRET,
        "the secret is shown once, at creation"
    );
    assert_eq!(created["enabled"], true);
    let webhook = created["id"].as_str().unwrap().to_owned();
    let (_, listed) = tenant.json(Method::GET, "/api/v1/webhooks", None).await;
    assert!(listed["items"][0].get("secret").is_none(), "never again");

    // A counterparty is not a contract event: not delivered.
    let (status, _) = tenant
        .json(
            Method::POST,
            "/api/v1/counterparties",
            Some(json!({"name": "Globex"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let contract = tenant.contract("Mutual NDA").await;
    let (status, _) = tenant
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/transition"),
            Some(json!({"to": "in_review"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let received = receiver.wait_accepted(2, Duration::from_secs(20)).await;
    assert_eq!(received["rejected"], 0, "every signature verified");
    let accepted = received["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), 2, "{received}");
    let mut by_type: Vec<(&str, &Value)> = accepted
        .iter()
        .map(|d| (d["payload"]["type"].as_str().unwrap(), &d["payload"]))
        .collect();
    by_type.sort_by_key(|(t, _)| *t);
    assert_eq!(by_type[0].0, "contract.created");
    assert_eq!(by_type[0].1["data"]["entity_id"], contract.as_str());
    assert_eq!(by_type[0].1["data"]["current"]["title"], "Mutual NDA");
    assert_eq!(by_type[1].0, "contract.status_changed");
    assert_eq!(by_type[1].1["data"]["previous"]["status"], "draft");
    assert_eq!(by_type[1].1["data"]["current"]["status"], "in_review");

    // The delivery log says the same.
    let log = tenant
        .wait_for(
            &format!("/api/v1/webhooks/{webhook}/deliveries"),
            Duration::from_secs(5),
            |log| log["items"].as_array().is_some_and(|i| i.len() == 2),
        )
        .await;
    for delivery in log["items"].as_array().unwrap() {
        assert_eq!(delivery["outcome"], "delivered");
        assert_eq!(delivery["response_status"], 204);
        assert!(delivery["message_id"].as_str().unwrap().starts_with("msg_"));
    }

    // A test send, signed the same way.
    let (status, sent) = tenant
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{webhook}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["outcome"], "delivered");
    let received = receiver.wait_accepted(3, Duration::from_secs(5)).await;
    assert_eq!(received["accepted"][2]["payload"]["type"], "webhook.test");
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_every_event_exactly_once() {
    let receiver = PyReceiver::start(&["--fail-first", "3"]);
    let tenant = Tenant::new(&[ALLOW_PRIVATE]).await;
    let webhook = tenant
        .webhook(&receiver.url(), json!(["contract.created"]))
        .await;
    let mut contracts = Vec::new();
    for i in 0..4 {
        contracts.push(tenant.contract(&format!("Contract {i}")).await);
    }
    // The first retry comes 4-6 s after the failed attempt.
    let received = receiver.wait_accepted(4, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = {
        let again = receiver.received().await;
        assert_eq!(
            again["accepted"], received["accepted"],
            "nothing more arrived"
        );
        again
    };
    assert_eq!(received["failed"], 3);
    assert_eq!(
        received["duplicates"], 0,
        "a delivered event is never sent again"
    );
    assert_eq!(received["rejected"], 0);
    let mut delivered: Vec<String> = received["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["payload"]["data"]["entity_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    delivered.sort();
    contracts.sort();
    assert_eq!(delivered, contracts, "every event, once");

    let id = webhook["id"].as_str().unwrap();
    let (_, log) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries?limit=200"),
            None,
        )
        .await;
    let outcomes: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "failed").count(), 3);
    assert_eq!(outcomes.iter().filter(|o| **o == "delivered").count(), 4);
    let (_, endpoint) = tenant
        .json(Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(
        endpoint["consecutive_failures"], 0,
        "a success resets the count"
    );
}

#[tokio::test]
async fn an_outage_loses_nothing_and_only_days_of_failure_disable_an_endpoint() {
    let receiver = PyReceiver::start(&["--fail-always", "--any-timestamp"]);
    let clock = ManualClock::starting_at(chrono::Utc::now());
    let (mut tenant, id) = Tenant::watching(
        &receiver,
        &clock,
        &[("PACTUM_WEBHOOK_DISABLE_AFTER_HOURS", "24")],
    )
    .await;
    let mut contracts = Vec::new();
    for i in 0..3 {
        contracts.push(tenant.contract(&format!("During the outage {i}")).await);
    }
    // Many failed attempts in a row within a short time disable nothing.
    tenant
        .wait_messages(&id, 3, |m| m["attempts"] == 1 && m["state"] == "pending")
        .await;
    let (_, endpoint) = tenant
        .json(Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(endpoint["enabled"], true, "{endpoint}");
    assert_eq!(endpoint["consecutive_failures"], 3);
    assert!(endpoint["failing_since"].is_string(), "{endpoint}");
    // Two hours on, the retries (due 5 s after the first attempts) fail again: still
    // enabled, because failures have lasted less than the operator's 24 hours.
    clock.advance(chrono::Duration::hours(2));
    tenant.relogin().await;
    tenant
        .wait_messages(&id, 3, |m| m["attempts"] == 2 && m["state"] == "pending")
        .await;
    let (_, endpoint) = tenant
        .json(Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(endpoint["enabled"], true, "{endpoint}");
    // A day later the next retries find the endpoint failing for over 24 hours.
    clock.advance(chrono::Duration::hours(23));
    tenant.relogin().await;
    let disabled = tenant
        .wait_for(
            &format!("/api/v1/webhooks/{id}"),
            Duration::from_secs(20),
            |w| w["enabled"] == false,
        )
        .await;
    assert_eq!(
        disabled["disabled_reason"],
        "disabled after failing for 24 hours (since the last success)"
    );
    let failed_before = receiver.received().await["failed"].as_i64().unwrap();
    // Events while it is disabled are kept for it, not attempted.
    for i in 0..2 {
        contracts.push(tenant.contract(&format!("While disabled {i}")).await);
    }
    let kept = tenant
        .wait_messages(&id, 5, |m| m["state"] == "pending")
        .await;
    assert_eq!(
        kept.iter().filter(|m| m["attempts"] == 0).count(),
        2,
        "{kept:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().await["failed"], failed_before);

    // The receiver is back; enabling the endpoint sends every kept message, once.
    receiver.control(json!({"fail_always": false})).await;
    let (status, enabled) = tenant.set_enabled(&id, true).await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabled_reason"], Value::Null);
    assert_eq!(enabled["failing_since"], Value::Null);
    let received = receiver.wait_accepted(5, Duration::from_secs(20)).await;
    contracts.sort();
    assert_eq!(
        accepted_ids(&received),
        contracts,
        "every event of the outage, once"
    );
    assert_eq!(received["duplicates"], 0);
    tenant
        .wait_messages(&id, 5, |m| m["state"] == "delivered")
        .await;
    let (_, endpoint) = tenant
        .json(Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert!(endpoint["last_delivered_at"].is_string(), "{endpoint}");
    assert_eq!(endpoint["consecutive_failures"], 0);
}

#[tokio::test]
async fn messages_whose_attempts_ran_out_are_sent_again_by_recover() {
    let receiver = PyReceiver::start(&["--fail-always", "--any-timestamp"]);
    let start = chrono::Utc::now();
    let clock = ManualClock::starting_at(start);
    let (mut tenant, id) = Tenant::watching(&receiver, &clock, &[]).await;
    let contract = tenant.contract("Never received").await;
    // Eight attempts, each retry at most 12 hours after the one before.
    for attempt in 1..=8 {
        tenant
            .wait_messages(&id, 1, |m| m["attempts"] == attempt)
            .await;
        clock.advance(chrono::Duration::hours(13));
        tenant.relogin().await;
    }
    let messages = tenant
        .wait_messages(&id, 1, |m| m["state"] == "failed")
        .await;
    assert_eq!(messages[0]["next_attempt_at"], Value::Null);
    assert_eq!(receiver.received().await["failed"], 8);
    let (_, endpoint) = tenant
        .json(Method::GET, &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(
        endpoint["enabled"], true,
        "4 days of failure is under the default 5"
    );

    for (body, expected) in [
        (
            json!({"since": "+262142-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"since": "yesterday"}), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
        (json!(["2026-01-01T00:00:00Z"]), StatusCode::BAD_REQUEST),
    ] {
        let (status, error) = tenant.recover(&id, body.clone()).await;
        assert_eq!(status, expected, "{body}: {error}");
    }
    let (status, _) = tenant
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{}/recover", uuid::Uuid::new_v4()),
            Some(json!({"since": start})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Since a time after the message: nothing to send.
    let (status, none) = tenant.recover(&id, json!({"since": clock.now()})).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["queued"], 0);

    receiver.control(json!({"fail_always": false})).await;
    let (status, resent) = tenant
        .recover(&id, json!({"since": start - chrono::Duration::minutes(1)}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_eq!(resent["queued"], 1);
    let received = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    assert_eq!(accepted_ids(&received), vec![contract]);
    tenant
        .wait_messages(&id, 1, |m| m["state"] == "delivered")
        .await;
    // Delivered messages are not sent again by a second recovery.
    let (_, again) = tenant
        .recover(&id, json!({"since": start - chrono::Duration::minutes(1)}))
        .await;
    assert_eq!(again["queued"], 0);
}

#[tokio::test]
async fn a_long_backlog_is_sent_again_a_batch_to_a_transaction_and_every_message_once() {
    let receiver = PyReceiver::start(&["--any-timestamp"]);
    let start = chrono::Utc::now();
    // This server runs no jobs, so what its requests queued can be counted; a second
    // one, started below, sends it.
    let tenant = Tenant::new(&[
        ALLOW_PRIVATE,
        NO_DESTINATION_CAP,
        ("PACTUM_JOB_WORKERS", "0"),
    ])
    .await;
    let webhook = tenant
        .webhook(&receiver.url(), json!(["contract.created"]))
        .await;
    let id = webhook["id"].as_str().unwrap().to_owned();
    tenant.contract("The first of many").await;
    // Days of an outage: 2,500 events of the tenant whose attempts ran out.
    let db = tenant.db.client().await;
    let schema = tenant.schema().await;
    db.batch_execute(&format!(
        "set search_path to {schema}; \
         insert into audit_logs (at, actor_id, action, entity, entity_id, changes, actor_kind) \
             select l.at, l.actor_id, l.action, l.entity, gen_random_uuid(), l.changes, \
                 l.actor_kind \
             from audit_logs l, generate_series(1, 2499) \
             where l.entity = 'contract' and l.action = 'create'; \
         insert into webhook_messages (endpoint_id, event_id, created_at) \
             select '{id}', l.id, l.at from audit_logs l \
             where l.entity = 'contract' and l.action = 'create' \
             on conflict do nothing; \
         update webhook_messages set state = 'failed', attempts = 8; \
         reset search_path"
    ))
    .await
    .unwrap();
    let counts = format!(
        "select (select count(*) from {schema}.webhook_messages where state = 'pending'), \
                (select count(*) from public.jobs where kind = 'webhook.deliver'), \
                (select count(*) from public.jobs where kind = 'webhook.resend')"
    );
    let states = async || {
        let row = db.query_one(&counts, &[]).await.unwrap();
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
        )
    };

    let (status, resent) = tenant
        .recover(&id, json!({"since": start - chrono::Duration::minutes(1)}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_eq!(resent["queued"], 2500, "every message to be sent again");
    assert_eq!(
        states().await,
        (1000, 1000, 1),
        "the request queued one batch and the walk that queues the rest"
    );
    // Disabled and enabled again before the walk ran: enabling starts a walk of its own;
    // the first walk, finding the endpoint enabled, goes on too, and nothing is queued
    // twice.
    for enabled in [false, true] {
        let (status, body) = tenant.set_enabled(&id, enabled).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(states().await, (1000, 1000, 2));

    let _runner = crate::app::spawn_app(
        &tenant.db,
        &[
            ALLOW_PRIVATE,
            NO_DESTINATION_CAP,
            ("PACTUM_JOB_POLL_MS", "50"),
            ("PACTUM_JOB_WORKERS", "8"),
        ],
    )
    .await;
    let received = receiver.wait_accepted(2500, Duration::from_secs(120)).await;
    assert_eq!(received["duplicates"], 0, "each message once");
    let mut ids = accepted_ids(&received);
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    tenant
        .db
        .until_none(
            &format!("select count(*) from {schema}.webhook_messages where state <> 'delivered'"),
            Duration::from_secs(20),
            "every message delivered",
        )
        .await;
}

#[tokio::test]
async fn the_delivery_log_forgets_what_is_past_its_period_and_keeps_what_is_still_to_send() {
    let receiver = PyReceiver::start(&["--any-timestamp"]);
    let start = chrono::Utc::now();
    let clock = ManualClock::starting_at(start);
    let (mut tenant, id) =
        Tenant::watching(&receiver, &clock, &[("PACTUM_WEBHOOK_LOG_DAYS", "30")]).await;
    for i in 0..6 {
        tenant.deliver_one(&format!("Early {i}")).await;
    }
    let messages = tenant
        .wait_messages(&id, 6, |m| m["state"] == "delivered")
        .await;
    for attempt in tenant.deliveries(&id).await {
        let at: chrono::DateTime<chrono::Utc> = attempt["at"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            at.timestamp_micros(),
            start.timestamp_micros(),
            "stamped by the server's clock: {attempt}"
        );
    }
    // The oldest message is still to send (its endpoint was disabled when it was made,
    // say): never forgotten, however old.
    let oldest = messages.last().unwrap()["event_id"].as_i64().unwrap();
    let schema = tenant.schema().await;
    tenant
        .db
        .client()
        .await
        .execute(
            &format!("update {schema}.webhook_messages set state = 'pending' where event_id = $1"),
            &[&oldest],
        )
        .await
        .unwrap();

    clock.advance(chrono::Duration::days(31));
    tenant.relogin().await;
    for i in 0..2 {
        tenant.deliver_one(&format!("Late {i}")).await;
    }
    assert_eq!(
        receiver.received().await["accepted"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    // Each delivery forgot up to four of the oldest attempts and settled messages.
    let attempts = tenant.deliveries(&id).await;
    assert_eq!(attempts.len(), 2, "only the new attempts: {attempts:?}");
    let kept: Vec<(i64, String)> = tenant
        .messages(&id)
        .await
        .iter()
        .map(|m| {
            (
                m["event_id"].as_i64().unwrap(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kept.len(),
        3,
        "the new ones and the one still to send: {kept:?}"
    );
    assert_eq!(kept[2], (oldest, "pending".to_owned()));
    assert!(
        kept[..2].iter().all(|(_, state)| state == "delivered"),
        "{kept:?}"
    );
}
