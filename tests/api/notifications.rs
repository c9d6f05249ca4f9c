//! Notifications beyond the inbox, through real components: a real SMTP server
//! (`tests/receivers/smtp_server.py`, aiosmtpd, which keeps one message per Message-ID
//! and counts repeats), a real Redis, two server instances on one database, an HTTP
//! receiver for chat, and a manual clock for quiet hours, digests, retries and
//! reminders (nothing sleeps for a deadline).

use std::collections::HashMap;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use pactum::kernel::clock::{Clock, ManualClock, SharedClock};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{redis_url, spawn_app_with_clock, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;

const HOST: &str = "acme.localhost";

/// The project's SMTP test server.
struct Smtp {
    child: Child,
    smtp_port: u16,
    http_port: u16,
    http: reqwest::Client,
}

impl Smtp {
    fn start() -> Self {
        pactum::webhooks::delivery::install_tls_provider();
        let (child, line) = crate::app::start_receiver("smtp_server.py", &[]);
        let mut ports = line.split_whitespace().map(|p| p.parse().unwrap());
        let (smtp_port, http_port) = (ports.next().unwrap(), ports.next().unwrap());
        Self {
            child,
            smtp_port,
            http_port,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    async fn received(&self) -> Value {
        self.http
            .get(format!("http://127.0.0.1:{}/received", self.http_port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn set_down(&self, down: bool) {
        self.http
            .post(format!("http://127.0.0.1:{}/control", self.http_port))
            .json(&json!({"down": down}))
            .send()
            .await
            .unwrap();
    }

    /// The messages, once there are at least `n`.
    async fn messages(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            let received = self.received().await;
            let messages = received["messages"].as_array().unwrap().clone();
            if messages.len() >= n {
                return messages;
            }
            assert!(Instant::now() < deadline, "{n} messages; got {received}");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant with people, on one or more server instances sharing a database and clock.
struct Org {
    db: TestDb,
    apps: Vec<TestApp>,
    admin: String,
    /// name -> (user id, token)
    people: HashMap<String, (String, String)>,
    clock: Arc<ManualClock>,
}

async fn org(
    start: DateTime<Utc>,
    instances: usize,
    settings: &[(&str, &str)],
    people: &[(&str, &str)],
) -> Org {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let clock = ManualClock::starting_at(start);
    let mut all = vec![
        ("PACTUM_JOB_POLL_MS", "50"),
        ("PACTUM_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("PACTUM_LINK_SCHEME", "http"),
    ];
    all.extend_from_slice(settings);
    let mut apps = Vec::new();
    for _ in 0..instances {
        apps.push(spawn_app_with_clock(&db, &all, clock.clone() as SharedClock).await);
    }
    let admin = apps[0]
        .access_token(HOST, "admin@example.com", PASSWORD)
        .await;
    let mut org = Org {
        db,
        apps,
        admin,
        people: HashMap::new(),
        clock,
    };
    for (name, role) in people {
        let email = format!("{name}@example.com");
        let (status, user) = org
            .call(0, None, Method::POST, "/api/v1/users", Some(json!({"email": email, "display_name": name, "role": role, "password": PASSWORD})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let token = org.apps[0].access_token(HOST, &email, PASSWORD).await;
        org.people.insert(
            (*name).to_owned(),
            (user["id"].as_str().unwrap().to_owned(), token),
        );
    }
    org
}

impl Org {
    /// A call on instance `app` as `who` (the admin when `None`).
    async fn call(
        &self,
        app: usize,
        who: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = who.map_or(self.admin.clone(), |name| self.people[name].1.clone());
        let response = self.apps[app].call(method, HOST, path, &token, body).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn as_(
        &self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(0, Some(who), method, path, body).await
    }

    /// Logs everyone in again (after the clock moved past their tokens' expiry).
    async fn relogin(&mut self) {
        self.admin = self.apps[0]
            .access_token(HOST, "admin@example.com", PASSWORD)
            .await;
        let names: Vec<String> = self.people.keys().cloned().collect();
        for name in names {
            let token = self.apps[0]
                .access_token(HOST, &format!("{name}@example.com"), PASSWORD)
                .await;
            self.people.get_mut(&name).unwrap().1 = token;
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn advance_to(&self, at: DateTime<Utc>) {
        self.clock.advance(at - self.now());
    }

    /// A draft owned by `owner`.
    async fn contract(&self, owner: &str, title: &str, extra: Value) -> String {
        let mut body = json!({"title": title, "contract_type": "nda", "body": "Terms."});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, created) = self
            .as_(owner, Method::POST, "/api/v1/contracts", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// The admin edits `contract` on instance `app`: its owner is told.
    async fn edit(&self, app: usize, contract: &str, change: Value) -> Value {
        let (_, current) = self
            .call(
                app,
                None,
                Method::GET,
                &format!("/api/v1/contracts/{contract}"),
                None,
            )
            .await;
        let mut body = change;
        body["version"] = current["version"].clone();
        let (status, updated) = self
            .call(
                app,
                None,
                Method::PATCH,
                &format!("/api/v1/contracts/{contract}"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        updated
    }

    /// The caller's inbox once it holds `n`.
    async fn inbox(&self, who: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            let (status, page) = self
                .as_(who, Method::GET, "/api/v1/notifications?limit=200", None)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap().clone();
            if items.len() >= n {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "{who}: {n} notifications; got {page}"
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    /// `who`'s quiet hours, in UTC.
    async fn quiet_hours(&self, who: &str, start: &str, end: &str) {
        let (status, body) = self
            .as_(
                who,
                Method::PUT,
                "/api/v1/notification-preferences",
                Some(json!({"time_zone": "UTC", "quiet_hours": {"start": start, "end": end}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Deliveries by state.
    async fn deliveries(&self) -> HashMap<String, i64> {
        let client = self.db.client().await;
        client
            .query(
                "select state, count(*) from t_acme.notification_deliveries group by state",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    /// Waits until no delivery is `state` any more... or has `n` in `state`.
    async fn wait_deliveries(&self, state: &str, n: i64) {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            let states = self.deliveries().await;
            if states.get(state).copied().unwrap_or(0) == n {
                return;
            }
            assert!(Instant::now() < deadline, "{n} {state}; got {states:?}");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

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
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server_and_an_outage_loses_and_doubles_nothing() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let mut org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[("SMTP_URL", &url)],
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
    let smtp = Smtp::start();
    let url = smtp.url();
    // 23:00 UTC.
    let mut org = org(
        at("2026-12-01T23:00:00Z"),
        1,
        &[("SMTP_URL", &url)],
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
    let smtp = Smtp::start();
    let url = smtp.url();
    // 23:00 UTC: Olive's quiet hours hold every email until 07:00, when they all come
    // due at once.
    let org = org(
        at("2026-12-01T23:00:00Z"),
        1,
        &[("SMTP_URL", &url), ("PACTUM_JOB_WORKERS", "4")],
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
    let smtp = Smtp::start();
    let url = smtp.url();
    let org = org(
        at("2026-12-01T12:00:00Z"),
        1,
        &[("SMTP_URL", &url)],
        &[("olive", "member")],
    )
    .await;
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

/// An SSE client: frames as they arrive.
struct Listener {
    events: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Listener {
    async fn open(
        app: &TestApp,
        host: &str,
        query: &str,
        last_event_id: Option<i64>,
    ) -> reqwest::Response {
        let mut request = app.request(
            Method::GET,
            host,
            &format!("/api/v1/notifications/stream{query}"),
        );
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        request.send().await.unwrap()
    }

    fn of(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            events: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next notification event within `within`: (id, data).
    async fn next(&mut self, within: StdDuration) -> Option<(i64, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                let mut event = None;
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(v).ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    }
                }
                if event.as_deref() == Some("notification") {
                    return Some((id.unwrap(), data.unwrap()));
                }
            }
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}

async fn ticket(org: &Org, app: usize, who: &str) -> String {
    let (status, ticket) = org
        .call(
            app,
            Some(who),
            Method::POST,
            "/api/v1/notifications/stream-tickets",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["ticket"].as_str().unwrap().to_owned()
}

async fn a_stream_on_one_instance_hears_the_other_and_replays_after_reconnecting(
    redis: Option<&str>,
) {
    let settings: Vec<(&str, &str)> = redis
        .map(|url| vec![("REDIS_URL", url)])
        .unwrap_or_default();
    let org = org(Utc::now(), 2, &settings, &[("olive", "member")]).await;
    let contract = org.contract("olive", "Live NDA", json!({})).await;

    let mut live = Listener::of(
        Listener::open(
            &org.apps[1],
            HOST,
            &format!("?ticket={}", ticket(&org, 1, "olive").await),
            None,
        )
        .await,
    );
    let caused = Instant::now();
    org.edit(0, &contract, json!({"title": "Live NDA v2"}))
        .await;
    let (first, data) = live
        .next(StdDuration::from_secs(5))
        .await
        .expect("a live notification");
    assert!(
        caused.elapsed() < StdDuration::from_secs(1),
        "heard on B within a second of the change on A: {:?}",
        caused.elapsed()
    );
    assert_eq!(data["type"], "contract_updated");
    assert_eq!(data["id"], first);
    let inbox = org.inbox("olive", 1).await;
    assert_eq!(inbox[0], data, "the stream sends what the inbox lists");
    drop(live);

    // Offline: two more. Reconnecting with Last-Event-ID replays exactly those.
    org.edit(0, &contract, json!({"title": "Live NDA v3"}))
        .await;
    org.edit(0, &contract, json!({"title": "Live NDA v4"}))
        .await;
    let missed = org.inbox("olive", 3).await;
    let mut again = Listener::of(
        Listener::open(
            &org.apps[1],
            HOST,
            &format!("?ticket={}", ticket(&org, 0, "olive").await),
            Some(first),
        )
        .await,
    );
    let (a, _) = again.next(StdDuration::from_secs(5)).await.unwrap();
    let (b, _) = again.next(StdDuration::from_secs(5)).await.unwrap();
    assert_eq!(
        vec![a, b],
        vec![
            missed[1]["id"].as_i64().unwrap(),
            missed[0]["id"].as_i64().unwrap()
        ]
    );
    assert!(
        again.next(StdDuration::from_millis(700)).await.is_none(),
        "nothing else"
    );
    // And it is live after the replay, without a repeat.
    org.edit(0, &contract, json!({"title": "Live NDA v5"}))
        .await;
    let (c, _) = again.next(StdDuration::from_secs(5)).await.unwrap();
    assert_eq!(c, b + 1);
    assert_eq!(org.apps[1].streams.open_streams(), 1);
}

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

/// The contract reminder jobs pending for `contract`: (unique key, run_at), by key.
async fn reminders(org: &Org, contract: &str) -> Vec<(String, DateTime<Utc>)> {
    let client = org.db.client().await;
    client
        .query(
            "select unique_key, run_at from public.jobs where kind = 'notifications.contract_reminder' \
             and state in ('scheduled', 'available') and unique_key like $1 order by unique_key",
            &[&format!("reminder:{contract}:%")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn reminders_are_timers_that_move_and_cancel_with_the_contract() {
    let mut org = org(at("2026-12-01T12:00:00Z"), 1, &[], &[("olive", "member")]).await;
    let contract = org
        .contract("olive", "Lease", json!({"start_date": "2026-01-01", "end_date": "2027-06-30", "renewal_notice_days": 60}))
        .await;
    let key = |rest: &str| format!("reminder:{contract}:{rest}");
    assert_eq!(
        reminders(&org, &contract).await,
        vec![
            (key("expiring:30"), at("2027-05-31T09:00:00Z")),
            (key("expiring:60"), at("2027-05-01T09:00:00Z")),
            (key("expiring:90"), at("2027-04-01T09:00:00Z")),
            (key("renewal_notice:14"), at("2027-04-17T09:00:00Z")),
        ]
    );

    // Renewed: the end date moves a year; every reminder moves with it.
    org.edit(0, &contract, json!({"end_date": "2028-06-30"}))
        .await;
    let moved = reminders(&org, &contract).await;
    assert_eq!(moved.len(), 4);
    assert!(
        moved.contains(&(key("expiring:90"), at("2028-04-01T09:00:00Z"))),
        "{moved:?}"
    );
    let client = org.db.client().await;
    let cancelled: i64 = client
        .query_one("select count(*) from public.jobs where kind = 'notifications.contract_reminder' and state = 'cancelled'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        cancelled, 4,
        "the old ones were cancelled, not left to fire"
    );

    // Its time comes: the owner is told, once.
    org.advance_to(at("2028-04-01T09:00:00Z"));
    org.relogin().await;
    // The inbox also holds the `contract_updated` of the admin's edit above.
    let inbox = org.inbox("olive", 2).await;
    let told: Vec<&Value> = inbox
        .iter()
        .filter(|n| n["type"] == "contract_expiring")
        .collect();
    assert_eq!(told.len(), 1, "{inbox:?}");
    assert!(
        told[0]["title"]
            .as_str()
            .unwrap()
            .contains("Lease ends in 90 days"),
        "{}",
        told[0]
    );
    assert_eq!(reminders(&org, &contract).await.len(), 3);

    // Fourteen days before the renewal-notice date (end minus 60 days: 2028-05-01).
    org.advance_to(at("2028-04-17T09:00:00Z"));
    org.relogin().await;
    let inbox = org.inbox("olive", 3).await;
    let notice: Vec<&Value> = inbox
        .iter()
        .filter(|n| n["type"] == "renewal_notice_due")
        .collect();
    assert_eq!(notice.len(), 1, "{inbox:?}");
    assert!(
        notice[0]["title"].as_str().unwrap().contains("2028-05-01"),
        "{}",
        notice[0]
    );
    assert_eq!(reminders(&org, &contract).await.len(), 2);

    // Terminated: nothing left to remind of.
    for to in ["in_review", "approved", "executed", "terminated"] {
        let (status, body) = org
            .call(
                0,
                None,
                Method::POST,
                &format!("/api/v1/contracts/{contract}/transition"),
                Some(json!({"to": to})),
            )
            .await;
        assert!(status.is_success(), "{to}: {status} {body}");
    }
    assert!(reminders(&org, &contract).await.is_empty());
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
