//! The web layer: actix-web state, middleware, extractors, and the mapping of domain
//! errors to HTTP. Areas mount their routes on it; `app` assembles the server.

mod answer_json;
pub mod csv;
pub mod error;
pub mod form_digest;
pub mod head;
pub mod idempotency;
pub mod json;
pub mod list_query;
pub mod metrics;
mod objects_only;
pub mod origin;
pub mod platform;
pub mod reply;
pub mod request_id;
pub mod routes;
pub mod tenant;

use std::sync::Arc;

use crate::config::Config;
use crate::kernel::clock::SharedClock;
use crate::kernel::rate_limit::LoginLimiter;
use crate::kernel::tokens::TokenKeys;
use crate::tenancy::connection::RequestPool;
use crate::tenancy::resolver::TenantResolver;

/// Largest JSON body any route accepts.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// The most files one upload form carries (an import's): with the server's upload
/// bound, what a form may weigh at most.
pub const MAX_FILES_PER_FORM: usize = 50;

/// Everything handlers share.
pub struct AppState {
    /// Validated settings.
    pub config: Config,
    /// The bounded connection pool; connections are reset on checkout.
    pub pool: RequestPool,
    /// Host -> tenant cache, invalidated by registry notifications.
    pub resolver: Arc<TenantResolver>,
    /// The tenant schema version this binary was built for; tenants at another version
    /// are answered 503 `tenant_migrating`.
    pub expected_tenant_version: i32,
    /// Signs and checks access tokens.
    pub tokens: TokenKeys,
    /// Login attempts per tenant and email (shared through Redis when configured).
    pub login_limiter: LoginLimiter,
    /// Prometheus metrics of this process.
    pub metrics: metrics::Metrics,
    /// What "now" is: token expiry and every deadline are judged by it.
    pub clock: SharedClock,
    /// The clock and event reactions attached to every tenant handle.
    pub unit: Arc<crate::kernel::unit::Unit>,
    /// The kinds of record comments and files may hang off, from the areas that own
    /// them, to resolve a stored kind name.
    pub targets: crate::kernel::target::TargetKinds,
    /// Every mounted route and its methods, from the OpenAPI document: unmatched
    /// requests are told 405 or 404 from it.
    pub routes: Arc<routes::RouteTable>,
}
