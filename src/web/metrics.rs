//! Prometheus metrics, served at `/metrics` on the platform host: requests by route
//! pattern, method and status; a latency histogram; the connection pool's use.
//! Routes are labelled by their pattern (`/api/v1/users/{id}`), never by raw path or
//! tenant, so the number of series stays bounded.

use std::time::Duration;

use crate::tenancy::connection::RequestPool;
use actix_web::{get, web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use super::error::DomainError;
use super::tenant::PlatformHost;
use super::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_max: IntGauge,
    pool_open: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
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
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_max.clone()),
            Box::new(pool_open.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_waiting.clone()),
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

    fn render(&self, pool: &RequestPool) -> Result<String, prometheus::Error> {
        let status = pool.status();
        self.pool_max.set(status.max_size as i64);
        self.pool_open.set(status.open as i64);
        self.pool_idle.set(status.idle as i64);
        self.pool_waiting.set(status.waiting as i64);
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
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
) -> Result<HttpResponse, DomainError> {
    let text = state
        .metrics
        .render(&state.pool)
        .map_err(|e| DomainError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
