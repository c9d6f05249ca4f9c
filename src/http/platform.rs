//! Routes of the platform (apex) host: health and readiness.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use super::error::{ApiError, ErrorBody};
use super::tenant::PlatformHost;
use super::AppState;

const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "platform",
    responses(
        (status = 200, description = "The process answers")
    )
)]
#[get("/healthz")]
pub async fn healthz(_: PlatformHost) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers within two seconds.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "platform",
    responses(
        (status = 200, description = "The database answers"),
        (status = 503, description = "It does not", body = ErrorBody)
    )
)]
#[get("/readyz")]
pub async fn readyz(_: PlatformHost, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let check = async {
        let client = state.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        client.query_one("select 1", &[]).await?;
        Ok::<_, anyhow::Error>(())
    };
    match tokio::time::timeout(READINESS_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        Ok(Err(error)) => Err(ApiError::Unavailable(
            error.context("database not reachable"),
        )),
        Err(_) => Err(ApiError::Unavailable(anyhow::anyhow!(
            "database did not answer within {READINESS_TIMEOUT:?}"
        ))),
    }
}
