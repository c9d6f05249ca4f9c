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

use crate::app::{
    redis_url, spawn_app_with_clock, tenant_with_admin, ReceiverControl, TestApp, PASSWORD,
};
use crate::support::TestDb;

mod case_escalation;
mod cases;
mod delivery;
mod dunning;
mod inbox;
mod invoices;
mod obligation_tasks;
mod recurring;
mod reminders;
mod streams;
mod tasks;

const HOST: &str = "acme.localhost";

/// The project's SMTP test server.
struct Smtp {
    child: Child,
    smtp_port: u16,
    control: ReceiverControl,
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
            control: ReceiverControl::new(http_port),
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    async fn received(&self) -> Value {
        self.control.received().await
    }

    async fn set_down(&self, down: bool) {
        self.control.control(json!({"down": down})).await;
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
        self.inbox_until(who, &format!("{n} notifications"), |items| items.len() >= n)
            .await
    }

    /// `who`'s inbox once it holds what `holds` waits for (`what`, for the message when
    /// it never does within 30 s). Notifications are made by jobs after the change that
    /// causes them, so a test waits for the ones it names, not for a count that others
    /// already made may reach first.
    async fn inbox_until(
        &self,
        who: &str,
        what: &str,
        holds: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            let (status, page) = self
                .as_(who, Method::GET, "/api/v1/notifications?limit=200", None)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap().clone();
            if holds(&items) {
                return items;
            }
            assert!(Instant::now() < deadline, "{who}: {what}; got {page}");
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

/// A one-instance tenant at `now` that sends email to a real SMTP server.
async fn org_with_smtp(
    now: &str,
    settings: &[(&str, &str)],
    people: &[(&str, &str)],
) -> (Smtp, Org) {
    let smtp = Smtp::start();
    let url = smtp.url();
    let mut all = vec![("SMTP_URL", url.as_str())];
    all.extend_from_slice(settings);
    let org = org(at(now), 1, &all, people).await;
    (smtp, org)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
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

impl Listener {
    /// The id of the next notification event within `within`.
    async fn next_id(&mut self, within: StdDuration) -> Option<i64> {
        self.next(within).await.map(|(id, _)| id)
    }

    /// Reads the stream to its end, within `within`: the notifications it still sent and
    /// the reason of its `reauthenticate` frame, if it ended with one.
    async fn until_end(&mut self, within: StdDuration) -> (Vec<i64>, Option<String>) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => break,
                Err(_) => panic!("the stream did not end within {within:?}: {}", self.buffer),
            }
        }
        let (mut notifications, mut reason) = (Vec::new(), None);
        for frame in self.buffer.split("\n\n") {
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|line| line.strip_prefix(name).map(str::to_owned))
            };
            match field("event: ").as_deref() {
                Some("notification") => notifications.push(field("id: ").unwrap().parse().unwrap()),
                Some("reauthenticate") => {
                    let data: Value = serde_json::from_str(&field("data: ").unwrap()).unwrap();
                    reason = Some(data["reason"].as_str().unwrap().to_owned());
                }
                _ => {}
            }
        }
        self.buffer.clear();
        (notifications, reason)
    }
}

/// A live stream of `who`'s, opened on the first instance with a ticket.
async fn ticketed_stream(org: &Org, who: &str) -> Listener {
    let ticket = ticket(org, 0, who).await;
    Listener::of(Listener::open(&org.apps[0], HOST, &format!("?ticket={ticket}"), None).await)
}

async fn ticket(org: &Org, app: usize, who: &str) -> String {
    ticket_for(&org.apps[app], &org.people[who].1).await
}

/// A stream ticket asked for with `token`.
async fn ticket_for(app: &TestApp, token: &str) -> String {
    let response = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/notifications/stream-tickets",
            token,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ticket: Value = response.json().await.unwrap();
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

/// What `who` creates at `path`, asserted created.
async fn created(org: &Org, who: &str, path: &str, body: Value) -> Value {
    let (status, made) = org.as_(who, Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {made}");
    made
}

/// The admin replaces the settings at `path` with `body`, which must be saved.
async fn put_ok(org: &Org, path: &str, body: Value) {
    let (status, saved) = org.call(0, None, Method::PUT, path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {saved}");
}

/// A count the test database answers.
async fn count(org: &Org, sql: &str) -> i64 {
    org.db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

/// Waits until the pending timers of `kind` whose key is `like` are `expected` (by key):
/// a walk after new settings moves them in the background.
async fn settle_timers(org: &Org, kind: &str, like: &str, expected: &[(String, DateTime<Utc>)]) {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let pending = timers(org, kind, like).await;
        if pending == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending:?} never became {expected:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// The contract reminder jobs pending for `contract`: (unique key, run_at), by key.
async fn reminders(org: &Org, contract: &str) -> Vec<(String, DateTime<Utc>)> {
    timers(
        org,
        "notifications.contract_reminder",
        &format!("reminder:{contract}:%"),
    )
    .await
}

/// The jobs of `kind` pending with a key `like`: (unique key, run_at), by key.
async fn timers(org: &Org, kind: &str, like: &str) -> Vec<(String, DateTime<Utc>)> {
    let client = org.db.client().await;
    client
        .query(
            "select unique_key, run_at from public.jobs where kind = $1 \
             and state in ('scheduled', 'available') and unique_key like $2 order by unique_key",
            &[&kind, &like],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}
