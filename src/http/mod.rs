//! actix-web wiring: application state, middleware, routes, errors.

pub mod error;
pub mod metrics;
pub mod openapi;
pub mod platform;
pub mod request_id;
pub mod tenant;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{get, web, App, HttpResponse, HttpServer};
use deadpool_postgres::Pool;

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::revocation::Revocations;
use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::tenancy::resolver::TenantResolver;
use crate::tenancy::MigrationSet;
use error::{ApiError, TenantRouteErrors};
use tenant::CurrentTenant;

/// Largest JSON body any route accepts.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// Everything handlers share.
pub struct AppState {
    /// Validated settings.
    pub config: Config,
    /// The bounded connection pool; connections are reset on checkout.
    pub pool: Pool,
    /// Host -> tenant cache, invalidated by registry notifications.
    pub resolver: Arc<TenantResolver>,
    /// The tenant schema version this binary was built for; tenants at another version
    /// are answered 503 `tenant_migrating`.
    pub expected_tenant_version: i32,
    /// Signs and checks access tokens.
    pub tokens: TokenKeys,
    /// Login attempts per tenant and email (shared through Redis when configured).
    pub login_limiter: LoginLimiter,
    /// Access tokens revoked by logout (shared through Redis when configured).
    pub revocations: Revocations,
    /// Prometheus metrics of this process.
    pub metrics: metrics::Metrics,
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = config.database_url.request_pool(config.pool_size)?;
        let resolver = TenantResolver::new(
            config.database_url.clone(),
            pool.clone(),
            config.tenant_cache_ttl,
        );
        resolver.spawn_listener().await;
        let listener = TcpListener::bind(config.bind)
            .map_err(|e| anyhow::anyhow!("PACTUM_BIND: cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let tokens = TokenKeys::new(config.jwt_secret.expose().as_bytes());
        let redis = match &config.redis_url {
            Some(url) => Some(crate::shared::connect(url).await?),
            None => None,
        };
        let login_limiter = LoginLimiter::new(config.login_attempts_per_minute, redis.clone());
        let state = web::Data::new(AppState {
            metrics: metrics::Metrics::new(),
            login_limiter,
            revocations: Revocations::new(redis),
            tokens,
            config,
            pool,
            resolver,
            expected_tenant_version: MigrationSet::tenant().latest_version(),
        });
        let sweeper = state.clone();
        tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                sweeper.login_limiter.forget_idle();
                sweeper.revocations.forget_expired();
            }
        });
        let openapi = <openapi::ApiDoc as utoipa::OpenApi>::openapi();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(error::json_config(MAX_JSON_BODY_BYTES))
                .app_data(error::path_config())
                .app_data(error::query_config())
                .wrap(from_fn(tenant::resolve_tenant))
                // Outermost, so tenant resolution and its errors run inside the span.
                .wrap(from_fn(request_id::with_request_id))
                .service(platform::healthz)
                .service(platform::readyz)
                .service(metrics::metrics)
                .service(current_tenant)
                .service(crate::auth::routes::login)
                .service(crate::auth::routes::refresh)
                .service(crate::auth::routes::logout)
                .service(crate::auth::routes::me)
                .service(crate::auth::user_routes::change_password)
                .service(crate::auth::user_routes::list_users)
                .service(crate::auth::user_routes::create_user)
                .service(crate::auth::user_routes::get_user)
                .service(crate::auth::user_routes::update_user)
                .service(crate::auth::user_routes::delete_user)
                .configure(crate::clm::configure)
                // Last: an empty-prefix scope would otherwise catch the routes after it.
                .service(
                    web::scope("")
                        .guard(actix_web::guard::fn_guard(tenant::is_platform_request))
                        .service(
                            utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                                .url("/api/openapi.json", openapi.clone()),
                        ),
                )
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ApiError::NotFound)
                }))
        })
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then finishes in-flight requests (actix's graceful
    /// shutdown) and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
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
async fn current_tenant(tenant: CurrentTenant) -> HttpResponse {
    HttpResponse::Ok().json(TenantInfo {
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
