//! Builds the server: shared state, middleware, every area's routes (each registered
//! with its OpenAPI entry in one call, through `utoipa-actix-web`), the document itself
//! and Swagger UI. The top layer: it may import everything, nothing imports it.

pub mod openapi;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::config::Config;
use crate::kernel::clock::{self, SharedClock};
use crate::kernel::rate_limit::LoginLimiter;
use crate::kernel::revocation::Revocations;
use crate::kernel::target::TargetKinds;
use crate::kernel::tokens::TokenKeys;
use crate::tenancy::connection::RequestPool;
use crate::tenancy::resolver::TenantResolver;
use crate::tenancy::MigrationSet;
use crate::web::routes::RouteTable;
use crate::web::{error, metrics, request_id, tenant, AppState, MAX_JSON_BODY_BYTES};

/// Mounts every area's routes. The one list of what the API serves: the OpenAPI
/// document is built from the same calls, so the two cannot drift.
pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    crate::web::platform::configure(cfg);
    crate::identity::configure(cfg);
    crate::contracts::configure(cfg);
    crate::counterparties::configure(cfg);
    crate::clauses::configure(cfg);
    crate::templates::configure(cfg);
    crate::comments::configure(cfg);
    crate::attachments::configure(cfg);
    crate::documents::configure(cfg);
    crate::audit::configure(cfg);
}

/// The OpenAPI document of everything [`mount`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(mount)
        .split_for_parts();
    openapi::add_body_refusals(&mut document);
    document
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, clock::system()).await
    }

    /// As [`Application::build`], with the clock that token expiry (and every other
    /// deadline) is judged by; tests pass one they can move.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let pool = RequestPool::with_strategy(
            &config.database_url,
            config.pool_size,
            config.pooler,
            config.pool_strategy,
        )?;
        let resolver = TenantResolver::new(
            config.direct_database_url.clone(),
            pool.clone(),
            config.tenant_cache_ttl,
        );
        resolver.spawn_listener().await;
        let listener = TcpListener::bind(config.bind)
            .map_err(|e| anyhow::anyhow!("PACTUM_BIND: cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let tokens = TokenKeys::new(config.jwt_secret.expose().as_bytes());
        let redis = match &config.redis_url {
            Some(url) => Some(crate::kernel::shared::connect(url).await?),
            None => None,
        };
        let login_limiter = LoginLimiter::new(config.login_attempts_per_minute, redis.clone());
        let document = openapi_document();
        let state = web::Data::new(AppState {
            metrics: metrics::Metrics::new(),
            login_limiter,
            revocations: Revocations::new(redis),
            tokens,
            config,
            pool,
            resolver,
            expected_tenant_version: MigrationSet::tenant().latest_version(),
            clock,
            targets: TargetKinds::new(vec![&crate::contracts::model::CONTRACT_TARGET]),
            routes: Arc::new(RouteTable::from_document(&document)),
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
        let server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .map(|app| {
                    app.app_data(state.clone())
                        .app_data(error::json_config(MAX_JSON_BODY_BYTES))
                        .app_data(error::path_config())
                        .app_data(error::query_config())
                        .wrap(from_fn(tenant::resolve_tenant))
                        // Outermost, so tenant resolution and its errors run inside the
                        // span.
                        .wrap(from_fn(request_id::with_request_id))
                })
                .configure(mount)
                .map(|app| {
                    // Last: an empty-prefix scope would otherwise catch the routes
                    // after it.
                    app.service(
                        web::scope("")
                            .guard(actix_web::guard::fn_guard(tenant::is_platform_request))
                            .service(
                                utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                                    .url("/api/openapi.json", document.clone()),
                            ),
                    )
                })
                .default_service(web::to(crate::web::routes::unrouted))
                .into_app()
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
