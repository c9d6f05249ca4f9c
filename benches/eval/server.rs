//! A running server as the benchmark programs drive it (`eval_intelligence`,
//! `search_bench`): calls with the tenant's host and a token, and a wait for the
//! intelligence jobs through `DATABASE_URL`.

use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    http: reqwest::Client,
    url: String,
    host: String,
    token: String,
}

impl Server {
    pub fn new(url: &str, host: &str, token: &str) -> Self {
        // The server is plain HTTP, but a client is not built without a TLS provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            host: host.to_owned(),
            token: token.to_owned(),
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .header("host", &self.host)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// Waits until no intelligence job is waiting or running.
pub async fn settled(database_url: &str) {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .expect("DATABASE_URL connects");
    tokio::spawn(connection);
    let started = Instant::now();
    loop {
        let waiting: i64 = client
            .query_one(
                // Timers (an obligation's reminder) wait for their day, not for this.
                "select count(*) from public.jobs where kind like 'intelligence.%' \
                 and state in ('scheduled', 'available', 'running', 'retryable') \
                 and (state <> 'scheduled' or run_at <= now())",
                &[],
            )
            .await
            .expect("the queue reads")
            .get(0);
        if waiting == 0 {
            eprintln!("jobs done in {:.1} s", started.elapsed().as_secs_f64());
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "{waiting} intelligence jobs still waiting after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
