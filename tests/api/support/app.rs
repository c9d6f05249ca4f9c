//! A real Pactum server on a random port, for tests that speak HTTP. Kept apart from
//! `support/mod.rs`, which the tenantctl tests share and which needs no HTTP client.
#![allow(dead_code)]

use crate::support::TestDb;
use pactum::identity::password::NewPassword;
use pactum::tenancy::first_admin::FirstAdmin;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Email, Host, MigrationSet, TenantSlug};
use serde_json::{json, Value};

/// The admin password `tenant_with_admin` uses unless told otherwise.
pub const PASSWORD: &str = "correct horse battery";

/// Creates `slug` on `<slug>.localhost` with an admin `admin@example.com` (the same
/// address in every tenant) whose display name names the tenant.
pub async fn tenant_with_admin(db: &TestDb, slug: &str, password: &str) {
    let mut new = NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.localhost")).unwrap(),
    )
    .unwrap();
    new.admin = Some(FirstAdmin {
        email: Email::parse("admin@example.com").unwrap(),
        display_name: format!("Admin of {slug}"),
        password_hash: NewPassword::parse(password).unwrap().hash().unwrap(),
    });
    let mut client = db.client().await;
    provision::create_tenant(&mut client, &MigrationSet::tenant(), &new)
        .await
        .unwrap();
}

/// The `acme` tenant's schema as a handle with nothing attached (no reactions, the
/// system clock), on a pool of one connection: for calling services directly.
pub async fn acme_db(db: &TestDb) -> pactum::tenancy::scoped::TenantDb {
    let pool = pactum::tenancy::connection::RequestPool::new(
        &db.database_url(),
        1,
        pactum::tenancy::connection::Pooler::None,
    )
    .unwrap();
    tenant_db(db, "acme", pool).await
}

/// A provisioned tenant's handle as the server makes it: its id, schema and role from
/// the registry.
pub async fn tenant_db(
    db: &TestDb,
    slug: &str,
    pool: pactum::tenancy::connection::RequestPool,
) -> pactum::tenancy::scoped::TenantDb {
    let slug = pactum::tenancy::TenantSlug::parse(slug).unwrap();
    let tenant = pactum::tenancy::registry::get_by_slug(&db.client().await, &slug)
        .await
        .unwrap();
    pactum::tenancy::scoped::TenantDb::new(pool, tenant.id, &tenant.schema, tenant.role.as_ref())
}

/// The Redis the tests use: `REDIS_URL` when set, else the project's private one
/// (`scripts/redis.sh`, which installs and starts redis-server as needed). Tests keep
/// apart by key: every Redis key names a tenant id or token id, unique per test.
pub fn redis_url() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| crate::support::service_url("REDIS_URL", "redis.sh"))
}

/// Asserts a 429 `rate_limited` that says, in `Retry-After`, to wait 1 to 60 seconds.
pub async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("429 says when to retry")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        code(response).await,
        (
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited".into()
        )
    );
}

/// Status and stable error code of an error response.
pub async fn code(response: reqwest::Response) -> (reqwest::StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Starts `tests/receivers/<script>` with the project's Python tools
/// (`scripts/pytools.sh`); returns the process and the first line it prints (its ports).
pub fn start_receiver(script: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let root = crate::support::workspace_root();
    let mut child = std::process::Command::new("bash")
        .arg(root.join("scripts/pytools.sh"))
        .arg("run")
        .arg(root.join("tests/receivers").join(script))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the receiver starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// The control side of a receiver in `tests/receivers`: what it received, and
/// `/control` to change how it answers.
pub struct ReceiverControl {
    port: u16,
    http: reqwest::Client,
}

impl ReceiverControl {
    pub fn new(port: u16) -> Self {
        Self {
            port,
            http: reqwest::Client::new(),
        }
    }

    /// `GET /received`: what the receiver has taken so far.
    pub async fn received(&self) -> serde_json::Value {
        self.http
            .get(format!("http://127.0.0.1:{}/received", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `POST /control` with `body`.
    pub async fn control(&self, body: serde_json::Value) {
        self.http
            .post(format!("http://127.0.0.1:{}/control", self.port))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
}

/// The `JWT_SECRET` of servers `spawn_app` starts.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A running Pactum server on a random port over a test database.
pub struct TestApp {
    pub port: u16,
    /// Where this server keeps attachments (a fresh temporary folder).
    pub upload_dir: std::path::PathBuf,
    /// Where this server writes email without an SMTP server (a fresh temporary folder).
    pub outbox_dir: std::path::PathBuf,
    /// The server's open notification streams.
    pub streams: std::sync::Arc<pactum::notifications::stream::Hub>,
    pub http: reqwest::Client,
}

/// Starts the real server against `db`. `settings` adds or overrides environment
/// variables (e.g. `PACTUM_TRUST_PROXY`).
pub async fn spawn_app(db: &TestDb, settings: &[(&str, &str)]) -> TestApp {
    spawn_app_with_clock(db, settings, pactum::kernel::clock::system()).await
}

/// As [`spawn_app`], with the clock every deadline, timer and token is judged by.
pub async fn spawn_app_with_clock(
    db: &TestDb,
    settings: &[(&str, &str)],
    clock: pactum::kernel::clock::SharedClock,
) -> TestApp {
    let upload_dir =
        std::env::temp_dir().join(format!("pactum-test-uploads-{}", uuid::Uuid::new_v4()));
    let upload_dir_text = upload_dir.display().to_string();
    let outbox_dir =
        std::env::temp_dir().join(format!("pactum-test-outbox-{}", uuid::Uuid::new_v4()));
    let outbox_dir_text = outbox_dir.display().to_string();
    let mut vars: std::collections::HashMap<String, String> = [
        ("PACTUM_UPLOAD_DIR", upload_dir_text.as_str()),
        ("PACTUM_OUTBOX_DIR", outbox_dir_text.as_str()),
        ("DATABASE_URL", db.url.as_str()),
        ("PACTUM_BIND", "127.0.0.1:0"),
        ("PACTUM_PUBLIC_HOST", "localhost"),
        ("JWT_SECRET", TEST_JWT_SECRET),
        ("PACTUM_DB_POOL_SIZE", "4"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in settings {
        vars.insert(k.to_string(), v.to_string());
    }
    if std::env::var_os("TEST_LOG").is_some() {
        pactum::telemetry::init(pactum::config::LogFormat::Text);
    }
    let config = pactum::config::Config::from_lookup(|name| vars.get(name).cloned())
        .expect("test configuration is valid");
    let app = pactum::app::Application::build_with_clock(config, clock)
        .await
        .expect("the server starts");
    let port = app.port();
    let streams = app.notification_streams();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        upload_dir,
        outbox_dir,
        streams,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // The server closes a connection idle for its keep-alive (5 s); a pooled
            // connection reused just as it does broke uploads with EPIPE after a
            // test's long wait. Idle connections are dropped well before that.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap(),
    }
}

impl Drop for TestApp {
    /// The server's attachments go with the test.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.upload_dir);
        let _ = std::fs::remove_dir_all(&self.outbox_dir);
    }
}

impl TestApp {
    /// A GET to `path` as if sent to `host` (the Host header carries the port, as
    /// browsers send it).
    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, host, path)
            .send()
            .await
            .expect("request sent")
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://127.0.0.1:{}{path}", self.port))
            .header("host", format!("{host}:{}", self.port))
    }
}

impl TestApp {
    pub async fn login(&self, host: &str, email: &str, password: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, host, "/api/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the access token, asserting success.
    pub async fn access_token(&self, host: &str, email: &str, password: &str) -> String {
        let response = self.login(host, email, password).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "login of {email} on {host}"
        );
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Logs out `session` (a login response), showing its access token too.
    pub async fn logout(&self, host: &str, session: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, host, "/api/v1/auth/logout")
            .bearer_auth(session["access_token"].as_str().unwrap())
            .json(&json!({"refresh_token": session["refresh_token"]}))
            .send()
            .await
            .unwrap()
    }

    /// A request with a bearer token and, when given, a JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.request(method, host, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// `GET path` on the events API once at least `count` events are served. The API
    /// serves an event only once every older transaction in the cluster has ended
    /// (waiting a second, then serving what has settled), and the suite's tests share
    /// one cluster: another test's long transaction can hold this one's newest events
    /// back, so a test that expects events waits for them to settle.
    pub async fn settled_events(&self, host: &str, token: &str, path: &str, count: usize) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let response = self
                .call(reqwest::Method::GET, host, path, token, None)
                .await;
            assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
            let body: Value = response.json().await.unwrap();
            let served = body["items"].as_array().map_or(0, Vec::len);
            if served >= count {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: {served} of {count} events after a minute: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
