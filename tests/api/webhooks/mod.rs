//! Webhooks and events through the real server, delivered to a real HTTP receiver
//! (`tests/receivers/webhook_receiver.py`) that verifies each request with the
//! `standardwebhooks` package from PyPI, an implementation independent of ours.

use std::process::Child;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{
    code, spawn_app_with_clock, tenant_with_admin, ReceiverControl, TestApp, PASSWORD,
};
use crate::support::TestDb;
use pactum::kernel::clock::{Clock, ManualClock, SharedClock};

mod delivery;
mod endpoints;
mod events;

const HOST: &str = "acme.localhost";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The Python receiver, killed when dropped.
struct PyReceiver {
    child: Child,
    port: u16,
    control: ReceiverControl,
}

impl PyReceiver {
    fn start(extra: &[&str]) -> Self {
        pactum::webhooks::delivery::install_tls_provider();
        let mut all = vec![SECRET];
        all.extend_from_slice(extra);
        let (child, line) = crate::app::start_receiver("webhook_receiver.py", &all);
        let port = line.parse().expect("the receiver prints its port");
        Self {
            child,
            port,
            control: ReceiverControl::new(port),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/pactum", self.port)
    }

    async fn received(&self) -> Value {
        self.control.received().await
    }

    async fn control(&self, body: Value) {
        self.control.control(body).await;
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
    db: TestDb,
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
        Self { db, app, admin }
    }

    /// A fresh token, after the clock moved past the last one's expiry.
    async fn relogin(&mut self) {
        self.admin = self
            .app
            .access_token(HOST, "admin@example.com", PASSWORD)
            .await;
    }

    /// A tenant on `clock` (with `settings` besides private destinations and no
    /// destination cap) whose endpoint at `receiver` wants `contract.created`, and the
    /// endpoint's id.
    async fn watching(
        receiver: &PyReceiver,
        clock: &std::sync::Arc<ManualClock>,
        settings: &[(&str, &str)],
    ) -> (Self, String) {
        let mut all = vec![ALLOW_PRIVATE, NO_DESTINATION_CAP];
        all.extend_from_slice(settings);
        let tenant = Self::with_clock(&all, clock.clone()).await;
        let webhook = tenant
            .webhook(&receiver.url(), json!(["contract.created"]))
            .await;
        let id = webhook["id"].as_str().unwrap().to_owned();
        (tenant, id)
    }

    /// The items of the first page of a list.
    async fn items(&self, path: &str) -> Vec<Value> {
        let (status, page) = self.json(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    async fn messages(&self, webhook: &str) -> Vec<Value> {
        self.items(&format!("/api/v1/webhooks/{webhook}/messages?limit=200"))
            .await
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

    /// The endpoint's delivery attempts, newest first.
    async fn deliveries(&self, webhook: &str) -> Vec<Value> {
        self.items(&format!("/api/v1/webhooks/{webhook}/deliveries?limit=200"))
            .await
    }

    /// The tenant's schema.
    async fn schema(&self) -> String {
        self.db
            .client()
            .await
            .query_one(
                "select schema_name from public.tenants where slug = 'acme'",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Creates a contract and waits until its deliveries have run to their end (each
    /// recorded), so that the next finds the log as this one left it.
    async fn deliver_one(&self, title: &str) {
        self.contract(title).await;
        self.db
            .until_none(
                "select count(*) from public.jobs where kind = 'webhook.deliver' \
                 and state in ('scheduled', 'available', 'held', 'running', 'retryable')",
                Duration::from_secs(20),
                "every delivery recorded",
            )
            .await;
    }

    /// `PATCH /webhooks/{id}` with `{"enabled": enabled}`.
    async fn set_enabled(&self, webhook: &str, enabled: bool) -> (StatusCode, Value) {
        self.json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{webhook}"),
            Some(json!({"enabled": enabled})),
        )
        .await
    }

    /// `POST /webhooks/{id}/recover` with `body`.
    async fn recover(&self, webhook: &str, body: Value) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            &format!("/api/v1/webhooks/{webhook}/recover"),
            Some(body),
        )
        .await
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
