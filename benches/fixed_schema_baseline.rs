//! The overhead baseline of the HTTP benchmark (scripts/bench-http.sh): the
//! `GET /api/v1/auth/me` handler on a fixed schema, that is, without what multi-tenancy
//! adds. No tenant resolution middleware (the Host header is ignored) and no
//! `SET LOCAL search_path` (every connection is opened with the schema as its
//! search_path). The rest is the real server's: request-id middleware with metrics, the
//! same token check, the same allocator, the same pool, the same pipelined read-only
//! transaction, the same SQL (with its session and logout checks) and JSON.
//!
//! Not a product: a single-schema server would be unsafe for more than one tenant.
//!   PACTUM_FIXED_SCHEMA=t_bench0 cargo bench --bench fixed_schema_baseline

use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use pactum::config::Config;
use pactum::identity::model::UserView;
use pactum::kernel::rate_limit::LoginLimiter;
use pactum::kernel::tokens::TokenKeys;
use pactum::tenancy::connection::{RequestPool, Scope};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::resolver::TenantResolver;
use pactum::tenancy::{MigrationSet, SchemaName};
use pactum::web::error::{ApiError, DomainError};
use pactum::web::{metrics, request_id, AppState};

// The server's allocator, so that the comparison measures multi-tenancy alone.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ME_SQL: &str = "select id, email, display_name, role, active from users \
     where id = $1 and active and session_generation = $2 \
       and not exists (select 1 from revoked_access_tokens where token_id = $3)";

#[get("/api/v1/auth/me")]
async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let claims = pactum::web::tenant::verified_claims(&req, &state)?;
    let conn = state
        .pool
        .get(None)
        .await
        .map_err(|e| DomainError::Internal(e.into()))?;
    let statement = conn
        .prepare(Scope::standalone(), ME_SQL)
        .await
        .map_err(DomainError::database)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&claims.sub, &claims.generation, &claims.jti];
    let (begun, rows, committed) = tokio::join!(
        conn.batch_execute("BEGIN READ ONLY"),
        conn.query_prepared(&statement, ME_SQL, &params),
        conn.batch_execute("COMMIT"),
    );
    begun.map_err(DomainError::database)?;
    let rows = rows.map_err(DomainError::database)?;
    committed.map_err(DomainError::database)?;
    let row = rows.first().ok_or(DomainError::InvalidToken)?;
    Ok(HttpResponse::Ok().json(UserView::from(row)))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let schema = std::env::var("PACTUM_FIXED_SCHEMA")
        .map_err(|_| anyhow::anyhow!("PACTUM_FIXED_SCHEMA: set it to a tenant schema"))?;
    let schema = SchemaName::from_stored(&schema)
        .ok_or_else(|| anyhow::anyhow!("PACTUM_FIXED_SCHEMA: not a tenant schema name"))?;
    let raw_url = std::env::var("DATABASE_URL")?;
    let separator = if raw_url.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(
        &format!(
            "{raw_url}{separator}options=-c%20search_path%3D{}",
            schema.as_str()
        ),
        "pactum-baseline",
    )?;
    let pool = RequestPool::new(&url, config.pool_size, config.pooler)?;
    let state = web::Data::new(AppState {
        metrics: metrics::Metrics::new(),
        login_limiter: LoginLimiter::new(config.login_attempts_per_minute, None),
        tokens: TokenKeys::new(config.jwt_secret.expose().as_bytes()),
        resolver: TenantResolver::new(url, pool.clone(), config.tenant_cache_ttl),
        expected_tenant_version: MigrationSet::tenant().latest_version(),
        pool,
        config,
        clock: pactum::kernel::clock::system(),
        unit: pactum::kernel::unit::Unit::new(
            pactum::kernel::clock::system(),
            pactum::app::reactions(false),
        ),
        targets: Default::default(),
        routes: std::sync::Arc::new(pactum::web::routes::RouteTable::from_document(
            &pactum::app::openapi_document(),
        )),
    });
    let listener = TcpListener::bind(state.config.bind)?;
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(request_id::with_request_id))
            .service(me)
    })
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
