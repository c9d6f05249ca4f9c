//! A real Pactum server on a random port, for tests that speak HTTP. Kept apart from
//! `support/mod.rs`, which the tenantctl tests share and which needs no HTTP client.
#![allow(dead_code)]

use crate::support::TestDb;

/// A running Pactum server on a random port over a test database.
pub struct TestApp {
    pub port: u16,
    pub http: reqwest::Client,
}

/// Starts the real server against `db`. `settings` adds or overrides environment
/// variables (e.g. `PACTUM_TRUST_PROXY`).
pub async fn spawn_app(db: &TestDb, settings: &[(&str, &str)]) -> TestApp {
    let mut vars: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", db.url.as_str()),
        ("PACTUM_BIND", "127.0.0.1:0"),
        ("PACTUM_PUBLIC_HOST", "localhost"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123"),
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
    let app = pactum::http::Application::build(config)
        .await
        .expect("the server starts");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
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
