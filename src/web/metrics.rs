//! Prometheus metrics, served at `/metrics` on the platform host: requests by route
//! pattern, method and status; a latency histogram; the connection pool's use; jobs by
//! kind and state (read from the queue at each scrape, so every process's jobs), and
//! this process's job outcomes, rescues, queue waits and run times.
//! Routes are labelled by their pattern (`/api/v1/users/{id}`), never by raw path or
//! tenant, so the number of series stays bounded.

use std::sync::Mutex;
use std::time::Duration;

use crate::tenancy::connection::{CheckoutCounts, RequestPool};
use actix_web::{get, web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::kernel::jobs::admin::COUNTS_SQL;
use crate::kernel::jobs::metrics::JobMetrics;
use crate::tenancy::connection::Scope;

use super::error::DomainError;
use super::tenant::PlatformHost;
use super::AppState;
use crate::web::error::ApiError;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_max: IntGauge,
    pool_open: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
    pool_checkouts: IntCounterVec,
    /// The pool's counts at the last scrape: the counter grows by what came since.
    checkouts_seen: Mutex<CheckoutCounts>,
    job_counts: IntGaugeVec,
    /// What this process's job runner records.
    pub jobs: JobMetrics,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["route", "method"],
        )
        .expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let pool_max = gauge(
            "pactum_db_pool_max_size",
            "Largest number of pooled connections",
        );
        let pool_open = gauge("pactum_db_pool_connections", "Open pooled connections");
        let pool_idle = gauge("pactum_db_pool_idle", "Idle pooled connections");
        let pool_waiting = gauge(
            "pactum_db_pool_waiting",
            "Requests waiting for a connection",
        );
        let pool_checkouts = IntCounterVec::new(
            Opts::new(
                "pactum_db_pool_checkouts_total",
                "Connections taken from the pool, by which served them: the tenant's \
                 home, another whose backend had served the tenant's schema \
                 (warm_elsewhere) or had not (elsewhere), any (no tenant named), or a \
                 pool without homes (tenant affinity off, a transaction pooler, or one \
                 connection)",
            ),
            &["connection"],
        )
        .expect("valid metric");
        let job_counts = IntGaugeVec::new(
            Opts::new("pactum_jobs", "Jobs in the queue by kind and state"),
            &["kind", "state"],
        )
        .expect("valid metric");
        let jobs = JobMetrics::new();
        jobs.register(&registry).expect("metric names are unique");
        for collector in [
            Box::new(job_counts.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(requests.clone()),
            Box::new(latency.clone()),
            Box::new(pool_max.clone()),
            Box::new(pool_open.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_waiting.clone()),
            Box::new(pool_checkouts.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            requests,
            latency,
            pool_max,
            pool_open,
            pool_idle,
            pool_waiting,
            pool_checkouts,
            checkouts_seen: Mutex::default(),
            job_counts,
            jobs,
        }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(took.as_secs_f64());
    }

    /// Reads the queue's counts; a database that does not answer leaves the last ones.
    pub async fn refresh_job_counts(&self, pool: &RequestPool) {
        let counted = async {
            let conn = pool.get(None).await?;
            let rows = conn.query(Scope::standalone(), COUNTS_SQL, &[]).await?;
            Ok::<_, crate::tenancy::TenancyError>(rows)
        };
        match counted.await {
            Ok(rows) => {
                self.job_counts.reset();
                for row in rows {
                    let (kind, state, jobs): (&str, &str, i64) =
                        (row.get(0), row.get(1), row.get(2));
                    self.job_counts.with_label_values(&[kind, state]).set(jobs);
                }
            }
            Err(error) => tracing::warn!(%error, "cannot count jobs for /metrics"),
        }
    }

    /// The Prometheus text of everything registered, with `pool`'s gauges.
    /// Adds what another part of the process measures (the loaded vectors, say).
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(collector)
    }

    pub fn render(&self, pool: &RequestPool) -> Result<String, prometheus::Error> {
        let status = pool.status();
        self.pool_max.set(status.max_size as i64);
        self.pool_open.set(status.open as i64);
        self.pool_idle.set(status.idle as i64);
        self.pool_waiting.set(status.waiting as i64);
        self.count_checkouts(pool.checkouts());
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }

    fn count_checkouts(&self, now: CheckoutCounts) {
        let mut seen = self.checkouts_seen.lock().expect("checkouts seen");
        for (label, now, before) in [
            ("home", now.home, seen.home),
            ("elsewhere", now.elsewhere, seen.elsewhere),
            ("warm_elsewhere", now.warm_elsewhere, seen.warm_elsewhere),
            ("no_tenant", now.no_tenant, seen.no_tenant),
            ("shared", now.shared, seen.shared),
        ] {
            self.pool_checkouts
                .with_label_values(&[label])
                .inc_by(now.saturating_sub(before));
        }
        *seen = now;
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "platform",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain")
    )
)]
#[get("/metrics")]
pub async fn metrics(
    _: PlatformHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.metrics.refresh_job_counts(&state.pool).await;
    let text = state
        .metrics
        .render(&state.pool)
        .map_err(|e| DomainError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

/// `/metrics` for a `pactum worker`, which serves no API: a plain HTTP/1.1 responder
/// on `bind`, one request per connection, `GET /metrics` only (404 for another path,
/// 405 for another method), requests read with a deadline and a size bound so a slow
/// or hostile client holds nothing. Runs until `stop`.
pub async fn serve_worker_metrics(
    listener: tokio::net::TcpListener,
    registry: std::sync::Arc<Metrics>,
    pool: RequestPool,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut socket, _)) = accepted else {
            continue;
        };
        let (registry, pool) = (registry.clone(), pool.clone());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut request = Vec::with_capacity(1024);
            let mut chunk = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return false,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                true
            })
            .await;
            let line = String::from_utf8_lossy(&request);
            let mut parts = line.lines().next().unwrap_or_default().split(' ');
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            // A HEAD is answered as the GET is, without its content (RFC 9110, 9.3.2).
            let head_only = method == "HEAD";
            let method = if head_only { "GET" } else { method };
            let (status, body) = match (read, method, path.split('?').next()) {
                (Ok(true), "GET", Some("/metrics")) => {
                    registry.refresh_job_counts(&pool).await;
                    match registry.render(&pool) {
                        Ok(text) => ("200 OK", text),
                        Err(_) => ("500 Internal Server Error", String::new()),
                    }
                }
                (Ok(true), "GET", _) => ("404 Not Found", String::new()),
                (Ok(true), _, _) => ("405 Method Not Allowed", String::new()),
                _ => ("400 Bad Request", String::new()),
            };
            let allow = if status.starts_with("405") {
                "allow: GET, HEAD\r\n"
            } else {
                ""
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\n\
                 content-length: {}\r\n{allow}connection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            if !head_only {
                let _ = socket.write_all(body.as_bytes()).await;
            }
            let _ = socket.shutdown().await;
        });
    }
}
