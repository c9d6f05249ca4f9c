//! Webhooks and events through the real server, delivered to a real HTTP receiver
//! (`tests/receivers/webhook_receiver.py`) that verifies each request with the
//! `standardwebhooks` package from PyPI, an implementation independent of ours.

use std::process::Child;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{code, spawn_app_with_clock, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;
use pactum::kernel::clock::{Clock, ManualClock, SharedClock};

const HOST: &str = "acme.localhost";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The Python receiver, killed when dropped.
struct PyReceiver {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl PyReceiver {
    fn start(extra: &[&str]) -> Self {
        pactum::webhooks::delivery::install_tls_provider();
        let http = reqwest::Client::new();
        let mut all = vec![SECRET];
        all.extend_from_slice(extra);
        let (child, line) = crate::app::start_receiver("webhook_receiver.py", &all);
        let port = line.parse().expect("the receiver prints its port");
        Self { child, port, http }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/pactum", self.port)
    }

    async fn received(&self) -> Value {
        self.http
            .get(format!("http://127.0.0.1:{}/received", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn control(&self, body: Value) {
        self.http
            .post(format!("http://127.0.0.1:{}/control", self.port))
            .json(&body)
            .send()
            .await
            .unwrap();
    }

    /// Waits until `accepted` holds `n` deliveries.
    async fn wait_accepted(&self, n: usize, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received().await;
            if received["accepted"].as_array().unwrap().len() >= n {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{n} deliveries within {within:?}; got {received}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PyReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Tenant {
    _db: TestDb,
    app: TestApp,
    admin: String,
}

impl Tenant {
    async fn new(settings: &[(&str, &str)]) -> Self {
        Self::with_clock(settings, pactum::kernel::clock::system()).await
    }

    async fn with_clock(settings: &[(&str, &str)], clock: SharedClock) -> Self {
        let db = TestDb::migrated().await;
        tenant_with_admin(&db, "acme", PASSWORD).await;
        let mut all = vec![("PACTUM_JOB_POLL_MS", "50")];
        all.extend_from_slice(settings);
        let app = spawn_app_with_clock(&db, &all, clock).await;
        let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
        Self {
            _db: db,
            app,
            admin,
        }
    }

    /// A fresh token, after the clock moved past the last one's expiry.
    async fn relogin(&mut self) {
        self.admin = self
            .app
            .access_token(HOST, "admin@example.com", PASSWORD)
            .await;
    }

    async fn messages(&self, webhook: &str) -> Vec<Value> {
        let (status, page) = self
            .json(
                Method::GET,
                &format!("/api/v1/webhooks/{webhook}/messages?limit=200"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Waits until every message of `webhook` satisfies `done`, and there are `n`.
    async fn wait_messages(
        &self,
        webhook: &str,
        n: usize,
        done: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages(webhook).await;
            if messages.len() == n && messages.iter().all(&done) {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "messages of {webhook}: {messages:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let response = self.app.call(method, HOST, path, &self.admin, body).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn webhook(&self, url: &str, types: Value) -> Value {
        let (status, created) = self
            .json(
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({"url": url, "event_types": types, "secret": SECRET})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    async fn contract(&self, title: &str) -> String {
        let (status, created) = self
            .json(
                Method::POST,
                "/api/v1/contracts",
                Some(
                    json!({"title": title, "contract_type": "nda", "body": "Secrets stay secret."}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    async fn wait_for(&self, path: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (_, body) = self.json(Method::GET, path, None).await;
            if done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} within {within:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const ALLOW_PRIVATE: (&str, &str) = ("PACTUM_WEBHOOK_ALLOW_PRIVATE", "1");
/// For tests whose clock stands still between their steps: a delivery put off because
/// its destination is at its share waits for the clock to move, so these run without
/// the cap (what it does is tested in the job tests).
const NO_DESTINATION_CAP: (&str, &str) = ("PACTUM_WEBHOOK_MAX_PER_DESTINATION", "100");

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

/// Every entity id the receiver accepted, sorted.
fn accepted_ids(received: &Value) -> Vec<String> {
    let mut ids: Vec<String> = received["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["payload"]["data"]["entity_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn an_outage_loses_nothing_and_only_days_of_failure_disable_an_endpoint() {
    let receiver = PyReceiver::start(&["--fail-always", "--any-timestamp"]);
    let clock = ManualClock::starting_at(chrono::Utc::now());
    let mut tenant = Tenant::with_clock(
        &[
            ALLOW_PRIVATE,
            NO_DESTINATION_CAP,
            ("PACTUM_WEBHOOK_DISABLE_AFTER_HOURS", "24"),
        ],
        clock.clone(),
    )
    .await;
    let webhook = tenant
        .webhook(&receiver.url(), json!(["contract.created"]))
        .await;
    let id = webhook["id"].as_str().unwrap().to_owned();
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
    let (status, enabled) = tenant
        .json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"enabled": true})),
        )
        .await;
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
    let mut tenant = Tenant::with_clock(&[ALLOW_PRIVATE, NO_DESTINATION_CAP], clock.clone()).await;
    let webhook = tenant
        .webhook(&receiver.url(), json!(["contract.created"]))
        .await;
    let id = webhook["id"].as_str().unwrap().to_owned();
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
        let (status, error) = tenant
            .json(
                Method::POST,
                &format!("/api/v1/webhooks/{id}/recover"),
                Some(body.clone()),
            )
            .await;
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
    let (status, none) = tenant
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/recover"),
            Some(json!({"since": clock.now()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["queued"], 0);

    receiver.control(json!({"fail_always": false})).await;
    let (status, resent) = tenant
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/recover"),
            Some(json!({"since": start - chrono::Duration::minutes(1)})),
        )
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
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/recover"),
            Some(json!({"since": start - chrono::Duration::minutes(1)})),
        )
        .await;
    assert_eq!(again["queued"], 0);
}

#[tokio::test]
async fn destinations_inside_the_network_are_refused_at_save_and_after_resolution() {
    let receiver = PyReceiver::start(&[]);
    // The operator setting is off here (the default).
    let tenant = Tenant::new(&[]).await;
    let port = receiver.port;
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        // Names of this machine, and names that resolve only to it.
        format!("http://localhost:{port}/"),
        format!("http://hooks.localhost:{port}/"),
    ] {
        let response = tenant
            .app
            .call(
                Method::POST,
                HOST,
                "/api/v1/webhooks",
                &tenant.admin,
                Some(json!({"url": url, "event_types": ["*"], "secret": SECRET})),
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(error, "invalid_input", "{url}");
    }
    // A name whose address changed after it was saved is refused at delivery, by the
    // test send and by the job, which gives up at once.
    let webhook = tenant
        // Contract events only: the endpoint's own `webhook.*` events would add
        // deliveries (to the name as first saved) to the log this test reads.
        .webhook("https://hooks.example.com/", json!(["contract.*"]))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let (status, changed) = tenant
        .json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"url": format!("http://localhost:{port}/")})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an update is checked too: {changed}"
    );
    let client = tenant._db.client().await;
    client
        .execute(
            "update t_acme.webhook_endpoints set url = $1",
            &[&format!("http://localhost:{port}/")],
        )
        .await
        .unwrap();
    let (status, sent) = tenant
        .json(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["outcome"], "refused", "{sent}");
    assert!(
        sent["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{sent}"
    );
    tenant.contract("Not for localhost").await;
    let log = tenant
        .wait_for(
            &format!("/api/v1/webhooks/{id}/deliveries"),
            Duration::from_secs(10),
            |log| log["items"].as_array().is_some_and(|i| i.len() == 2),
        )
        .await;
    assert_eq!(log["items"][0]["outcome"], "refused");
    let received = receiver.received().await;
    assert_eq!(received["accepted"].as_array().unwrap().len(), 0);
    assert_eq!(received["failed"], 0);
    assert_eq!(received["rejected"], 0, "nothing reached the receiver");
}

#[tokio::test]
async fn webhook_input_is_checked_and_only_admins_manage_webhooks() {
    let tenant = Tenant::new(&[]).await;
    for (body, why) in [
        (
            json!({"url": "ftp://example.com/", "event_types": ["*"]}),
            "scheme",
        ),
        (json!({"url": "not a url", "event_types": ["*"]}), "garbage"),
        (
            json!({"url": "https://u:p@example.com/", "event_types": ["*"]}),
            "credentials",
        ),
        (
            json!({"url": "https://example.com/", "event_types": []}),
            "no types",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["Contract Created"]}),
            "bad type",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["*"], "secret": "hunter2"}),
            "bad secret",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["*"], "extra": 1}),
            "unknown field",
        ),
        (
            json!({"url": "x".repeat(3000), "event_types": ["*"]}),
            "huge url",
        ),
    ] {
        let response = tenant
            .app
            .call(
                Method::POST,
                HOST,
                "/api/v1/webhooks",
                &tenant.admin,
                Some(body),
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert!(!error.is_empty(), "{why}: a stable code");
    }
    let (_, listed) = tenant.json(Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(listed["items"], json!([]), "nothing half-written");
    let (status, _) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/webhooks/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = tenant
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "m@example.com", "display_name": "M", "role": "manager", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let manager = tenant
        .app
        .access_token(HOST, "m@example.com", PASSWORD)
        .await;
    for (method, path) in [
        (Method::GET, "/api/v1/webhooks".to_owned()),
        (Method::GET, "/api/v1/events".to_owned()),
    ] {
        let response = tenant.app.call(method, HOST, &path, &manager, None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let response = tenant
        .app
        .call(
            Method::POST,
            HOST,
            "/api/v1/webhooks",
            &manager,
            Some(json!({"url": "https://example.com/", "event_types": ["*"]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_event_stream_is_filtered_and_paged_from_a_cursor() {
    let tenant = Tenant::new(&[]).await;
    let first = tenant.contract("One").await;
    tenant.contract("Two").await;
    let (status, _) = tenant
        .json(
            Method::POST,
            "/api/v1/counterparties",
            Some(json!({"name": "Globex"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Two contracts and a counterparty, each with its event.
    let all = tenant
        .app
        .settled_events(HOST, &tenant.admin, "/api/v1/events", 3)
        .await;
    let items = all["items"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    let (_, contracts) = tenant
        .json(Method::GET, "/api/v1/events?type=contract.*", None)
        .await;
    let types: Vec<&str> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["contract.created", "contract.created"]);
    let (_, one) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/events?entity=contract&entity_id={first}"),
            None,
        )
        .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["items"][0]["actor_kind"], "user");
    assert!(one["items"][0]["request_id"].is_string());

    // Paging one at a time visits every event once, in order.
    let mut seen = Vec::new();
    let mut path = "/api/v1/events?limit=1".to_owned();
    loop {
        let (_, page) = tenant.json(Method::GET, &path, None).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/events?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let (_, after) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/events?after={}", ids[ids.len() - 2]),
            None,
        )
        .await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1);

    for bad in [
        "type=DROP%20TABLE",
        "type=contract",
        "after=-1",
        "limit=0",
        "limit=501",
        "bogus=1",
    ] {
        let response = tenant
            .app
            .call(
                Method::GET,
                HOST,
                &format!("/api/v1/events?{bad}"),
                &tenant.admin,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn the_event_cursor_never_skips_an_event_whose_transaction_was_still_open() {
    let tenant = Tenant::new(&[]).await;
    let (_, before) = tenant.json(Method::GET, "/api/v1/events", None).await;
    let mut cursor = before["items"]
        .as_array()
        .unwrap()
        .last()
        .map(|e| e["id"].as_i64().unwrap());
    let seen = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entity"].as_str().unwrap().to_owned())
            .collect()
    };
    // A slow unit of work takes an event id, and stays open...
    let mut slow = tenant._db.client().await;
    let open = slow.transaction().await.unwrap();
    open.execute(
        "insert into t_acme.audit_logs (action, entity, changes) values ('create', 'slow', '{}')",
        &[],
    )
    .await
    .unwrap();
    // ...while a quick one takes a later id and commits.
    tenant.contract("Quick").await;
    let path = |after: Option<i64>| match after {
        Some(id) => format!("/api/v1/events?after={id}"),
        None => "/api/v1/events".to_owned(),
    };
    let (_, page) = tenant.json(Method::GET, &path(cursor), None).await;
    assert!(
        !seen(&page).contains(&"contract".to_owned()),
        "not served while an older transaction may still add an event before it: {page}"
    );
    if let Some(last) = page["items"].as_array().unwrap().last() {
        cursor = last["id"].as_i64();
    }
    open.commit().await.unwrap();
    // A client that continues from what it saw gets both, in commit order.
    let (_, page) = tenant.json(Method::GET, &path(cursor), None).await;
    assert_eq!(seen(&page), ["slow", "contract"], "{page}");
}
