//! The tenant middleware and the extractors that hand handlers their tenant.
//!
//! The host comes from the `Host` header (port and trailing dot stripped, lower-cased,
//! validated). `X-Forwarded-Host` is believed only with `PACTUM_TRUST_PROXY`, because
//! any client can send it.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HOST;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::error::{ApiError, DomainError};
use super::AppState;
use crate::kernel::tokens::Claims;
use crate::kernel::validate::no_forbidden_chars_in_query;
use crate::kernel::Principal;
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::{Host, Tenant, TenantStatus};

/// What the request's host turned out to be.
#[derive(Clone)]
enum HostKind {
    Platform,
    Tenant(Arc<Tenant>),
}

pub async fn resolve_tenant(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let host = request_host(req.request(), state.config.trust_proxy)?;
    // Once for every route: no query parameter may carry NUL or a control character.
    no_forbidden_chars_in_query(req.query_string()).map_err(ApiError::from)?;
    let kind = if host == state.config.public_host {
        HostKind::Platform
    } else {
        let tenant = state
            .resolver
            .resolve(&host)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::from(DomainError::UnknownTenant))?;
        match tenant.status {
            TenantStatus::Active => {}
            TenantStatus::Suspended => {
                return Err(ApiError::from(DomainError::TenantSuspended).into())
            }
            TenantStatus::Provisioning | TenantStatus::Deleting => {
                return Err(ApiError::from(DomainError::UnknownTenant).into())
            }
        }
        if tenant.schema_version != state.expected_tenant_version {
            return Err(ApiError::from(DomainError::TenantMigrating).into());
        }
        tracing::Span::current().record("tenant", tenant.slug.as_str());
        HostKind::Tenant(tenant)
    };
    req.extensions_mut().insert(kind);
    next.call(req).await
}

fn request_host(req: &HttpRequest, trust_proxy: bool) -> Result<Host, ApiError> {
    let forwarded = trust_proxy
        .then(|| req.headers().get("x-forwarded-host"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next());
    let raw = match forwarded {
        Some(host) => host,
        None => {
            // Exactly one Host header (RFC 9112, 3.2): two could name two tenants.
            let mut hosts = req.headers().get_all(HOST);
            match (hosts.next(), hosts.next()) {
                (Some(host), None) => host.to_str().map_err(|_| ApiError::InvalidHost)?,
                (None, _) => req.uri().host().ok_or(ApiError::InvalidHost)?,
                (Some(_), Some(_)) => return Err(ApiError::InvalidHost),
            }
        }
    };
    Host::parse(strip_port(raw.trim())).map_err(|_| ApiError::InvalidHost)
}

/// The host the request named, as the tenant was resolved from it.
pub fn tenant_host(req: &HttpRequest, state: &AppState) -> Result<Host, ApiError> {
    request_host(req, state.config.trust_proxy)
}

/// `acme.localhost:8000` -> `acme.localhost`. Bracketed IPv6 literals are left whole
/// (and then refused by `Host::parse`: tenants are named hosts).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !name.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => host,
    }
}

/// The request's tenant. A tenant route reached on the platform host is a 404.
pub struct CurrentTenant(pub Arc<Tenant>);

impl FromRequest for CurrentTenant {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(match req.extensions().get::<HostKind>() {
            Some(HostKind::Tenant(tenant)) => Ok(Self(Arc::clone(tenant))),
            _ => Err(DomainError::Missing("route").into()),
        })
    }
}

/// Proof that the request came to the platform (apex) host.
pub struct PlatformHost;

impl FromRequest for PlatformHost {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(match req.extensions().get::<HostKind>() {
            Some(HostKind::Platform) => Ok(Self),
            _ => Err(DomainError::Missing("route").into()),
        })
    }
}

/// Routing guard: the request came to the platform (apex) host.
pub fn is_platform_request(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    matches!(ctx.req_data().get::<HostKind>(), Some(HostKind::Platform))
}

/// The request's tenant, when its host is one.
pub fn tenant_in(req: &HttpRequest) -> Option<Arc<Tenant>> {
    tenant_of(req).ok()
}

fn tenant_of(req: &HttpRequest) -> Result<Arc<Tenant>, DomainError> {
    match req.extensions().get::<HostKind>() {
        Some(HostKind::Tenant(tenant)) => Ok(Arc::clone(tenant)),
        _ => Err(DomainError::Missing("route")),
    }
}

fn state_of(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered")
}

/// The commit guard a request carries (one with an `Idempotency-Key`: its key is
/// recorded with whatever the request writes); the [`RequestDb`] extractor attaches it.
#[derive(Clone)]
pub struct RequestCommitGuard(pub Arc<crate::tenancy::scoped::CommitGuard>);

/// The database of the request's tenant, as a handler takes it: a [`TenantDb`] (every
/// transaction on it is scoped to the tenant's schema) carrying the unit of work's
/// clock and reactions and the request's commit guard. A type of the web layer because
/// the tenant handle belongs to the tenancy crate, which knows nothing of actix; it
/// dereferences to the handle, so services take `&db` as they are.
pub struct RequestDb(TenantDb);

impl std::ops::Deref for RequestDb {
    type Target = TenantDb;

    fn deref(&self) -> &TenantDb {
        &self.0
    }
}

impl FromRequest for RequestDb {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            tenant_of(req)
                .map(|tenant| {
                    let state = state_of(req);
                    let db = state.unit.attach(TenantDb::new(
                        state.pool.clone(),
                        tenant.id,
                        &tenant.schema,
                        tenant.role.as_ref(),
                    ));
                    // A request with an Idempotency-Key records it with whatever it writes.
                    RequestDb(match req.extensions().get::<RequestCommitGuard>() {
                        Some(guard) => db.with_commit_guard(guard.0.clone()),
                        None => db,
                    })
                })
                .map_err(ApiError::from),
        )
    }
}

/// The claims of the request's `Authorization: Bearer` token, if it is valid (which
/// tenant it belongs to is the caller's check).
pub fn verified_claims(req: &HttpRequest, state: &AppState) -> Result<Claims, DomainError> {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(DomainError::InvalidToken)?;
    state
        .tokens
        .verify(token.trim(), state.clock.unix_now())
        .ok_or(DomainError::InvalidToken)
}

/// A request with a valid access token minted for this very tenant. A token of
/// another tenant is refused even if a user with the same id exists here.
pub struct AuthUser {
    pub claims: Claims,
    pub tenant: Arc<Tenant>,
}

impl AuthUser {
    /// Who asks, for the services: their live role is read in the unit of work.
    pub fn principal(&self) -> Principal {
        Principal::Session {
            user: self.claims.sub,
            generation: self.claims.generation,
            token: self.claims.jti,
        }
    }
}

/// The token's signature, expiry and tenant. Whether its session still stands (not
/// logged out, the user active, no password change since) is read with the user's live
/// role in the handler's own unit of work, from [`AuthUser::principal`].
impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = state_of(req);
        ready((|| {
            let tenant = tenant_of(req)?;
            let claims = verified_claims(req, &state)?;
            if claims.tid != tenant.id.0 {
                return Err(DomainError::InvalidToken.into());
            }
            Ok(Self { claims, tenant })
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_but_ipv6_literals_are_not_mangled() {
        assert_eq!(strip_port("acme.localhost:8000"), "acme.localhost");
        assert_eq!(strip_port("acme.localhost"), "acme.localhost");
        assert_eq!(strip_port("[::1]:8000"), "[::1]:8000");
        assert_eq!(strip_port("acme.localhost:"), "acme.localhost:");
    }

    #[test]
    fn forwarded_host_is_ignored_unless_the_proxy_is_trusted() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((HOST, "acme.localhost:8000"))
            .insert_header(("x-forwarded-host", "globex.localhost"))
            .to_http_request();
        assert_eq!(
            request_host(&req, false).unwrap().as_str(),
            "acme.localhost"
        );
        assert_eq!(
            request_host(&req, true).unwrap().as_str(),
            "globex.localhost"
        );
    }
}
