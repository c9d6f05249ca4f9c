//! The routes the web layer itself serves: on the platform (apex) host health,
//! readiness and metrics; on a tenant host, the tenant's own name.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use super::error::{DomainError, ErrorBody, TenantRouteErrors};
use super::json::Json;
use super::tenant::{CurrentTenant, PlatformHost};
use super::AppState;
use crate::web::error::ApiError;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(healthz)
        .service(readyz)
        .service(super::metrics::metrics)
        .service(current_tenant);
}

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
        // A simple query: nothing prepared, so it holds behind any pooler.
        let client = state.pool.get(None).await?;
        client.batch_execute("select 1").await?;
        Ok::<_, anyhow::Error>(())
    };
    match tokio::time::timeout(READINESS_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        Ok(Err(error)) => {
            Err(DomainError::Unavailable(error.context("database not reachable")).into())
        }
        Err(_) => Err(DomainError::Unavailable(anyhow::anyhow!(
            "database did not answer within {READINESS_TIMEOUT:?}"
        ))
        .into()),
    }
}

/// The tenant this host belongs to, as its users may see it.
#[utoipa::path(
    get,
    path = "/api/v1/tenant",
    tag = "tenant",
    responses(
        (status = 200, description = "This host's tenant", body = TenantInfo),
        TenantRouteErrors
    )
)]
#[get("/api/v1/tenant")]
async fn current_tenant(tenant: CurrentTenant) -> Json<TenantInfo> {
    Json(TenantInfo {
        slug: tenant.0.slug.to_string(),
        name: tenant.0.name.clone(),
    })
}

/// The tenant a host belongs to.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TenantInfo {
    slug: String,
    name: String,
}
