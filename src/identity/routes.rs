//! `/api/v1/auth/*`: login, refresh (rotating, with reuse detection), logout, me.

use std::sync::OnceLock;

use actix_web::{get, post, web};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::UserView;
use super::password::{self, NewPassword, MAX_PASSWORD_BYTES};
use crate::kernel::tokens::{self, ACCESS_TOKEN_TTL_SECS, REFRESH_TOKEN_TTL_DAYS};
use crate::kernel::unit;
use crate::tenancy::scoped::TenantTx;
use crate::web::error::ApiError;
use crate::web::error::{DomainError, ErrorBody, TenantRouteErrors};
use crate::web::json::Json;
use crate::web::reply::{NoContent, Secret};
use crate::web::tenant::RequestDb;
use crate::web::tenant::{AuthUser, CurrentTenant};
use crate::web::AppState;

const MAX_EMAIL_BYTES: usize = 254;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    email: String,
    #[schema(max_length = 1024)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 200)]
    refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Verifying against this when the email is unknown makes "no such user" cost as much
/// time as "wrong password", so response times do not reveal who has an account.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        NewPassword::parse("not-a-real-password-anywhere")
            .map(|p| p.hash().expect("argon2 hashes"))
            .expect("the dummy password meets the policy")
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 429, description = "Too many attempts (Retry-After)", body = ErrorBody),
        TenantRouteErrors
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    tenant: CurrentTenant,
    db: RequestDb,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<Secret<TokenResponse>, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    if email.len() > MAX_EMAIL_BYTES || password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::BadRequest("email or password is too long".into()).into());
    }
    if let Err(wait) = state.login_limiter.check(tenant.0.id.0, &email).await {
        tracing::warn!(tenant = %tenant.0.slug, "login rate limit hit");
        return Err(DomainError::RateLimited(wait.as_secs().max(1)).into());
    }
    let tx = db.begin().await?;
    let user = tx
        .query_opt(
            "select id, password_hash, role, active, session_generation from users \
             where lower(email) = lower($1)",
            &[&email],
        )
        .await
        .map_err(DomainError::database)?;
    let (user_id, hash, role, active, generation) = match &user {
        Some(row) => (
            Some(row.get::<_, Uuid>(0)),
            row.get::<_, Option<String>>(1),
            row.get::<_, String>(2),
            row.get::<_, bool>(3),
            row.get::<_, i32>(4),
        ),
        None => (None, None, String::new(), false, 0),
    };
    let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
    let matches = web::block(move || password::verify(&password, &hash))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("password check: {e}")))?;
    let user_id = match user_id {
        Some(id) if matches && active => id,
        _ => return Err(DomainError::InvalidCredentials.into()),
    };
    let session = Session {
        user: user_id,
        generation,
        family: Uuid::new_v4(),
    };
    let response = issue_tokens(&tx, &state, &tenant, session, &role).await?;
    tx.commit().await?;
    tracing::info!(user = %user_id, tenant = %tenant.0.slug, "login");
    Ok(Secret(response))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Rotated", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused refresh token", body = ErrorBody),
        TenantRouteErrors
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    tenant: CurrentTenant,
    db: RequestDb,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<Secret<TokenResponse>, ApiError> {
    let hash = tokens::hash_refresh_token(&body.refresh_token);
    let tx = db.begin().await?;
    let row = tx
        .query_opt(
            "select t.id, t.user_id, t.family_id, t.expires_at, t.revoked_at, t.replaced_by, u.role, u.active, \
             u.session_generation, t.session_generation \
             from refresh_tokens t join users u on u.id = t.user_id \
             where t.token_hash = $1 for update of t",
            &[&hash],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::InvalidToken)?;
    let (token_id, user_id, family): (Uuid, Uuid, Uuid) = (row.get(0), row.get(1), row.get(2));
    let expires_at: DateTime<Utc> = row.get(3);
    let revoked_at: Option<DateTime<Utc>> = row.get(4);
    let replaced_by: Option<Uuid> = row.get(5);
    let (role, active, generation): (String, bool, i32) = (row.get(6), row.get(7), row.get(8));
    // Issued in an earlier session generation: ended with it, even if it was issued
    // while the password change that ended it was committing.
    let issued_in: Option<i32> = row.get(9);
    if revoked_at.is_some() && replaced_by.is_none() {
        // Logged out (or its family ended): simply no longer valid.
        return Err(DomainError::InvalidToken.into());
    }
    if revoked_at.is_some() {
        // An already-rotated token came back: someone holds a copy. End the family.
        revoke_family(&tx, family).await?;
        tx.commit().await?;
        tracing::warn!(user = %user_id, tenant = %tenant.0.slug, "refresh token reused; family revoked");
        return Err(DomainError::RefreshTokenReused.into());
    }
    if expires_at <= state.clock.now() || !active || issued_in.unwrap_or(0) != generation {
        return Err(DomainError::InvalidToken.into());
    }
    let session = Session {
        user: user_id,
        generation,
        family,
    };
    let response = issue_tokens(&tx, &state, &tenant, session, &role).await?;
    tx.execute(
        "update refresh_tokens set revoked_at = now(), \
         replaced_by = (select id from refresh_tokens where token_hash = $2) where id = $1",
        &[
            &token_id,
            &tokens::hash_refresh_token(&response.refresh_token),
        ],
    )
    .await
    .map_err(DomainError::database)?;
    tx.commit().await?;
    Ok(Secret(response))
}

/// Revokes the refresh token's whole family and, when one is sent as `Authorization:
/// Bearer`, the access token too. Idempotent: an unknown token is a 204 too.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The token's family is revoked"),
        TenantRouteErrors
    ),
    security((), ("bearer" = []))
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    _tenant: CurrentTenant,
    access: Option<AuthUser>,
    db: RequestDb,
    body: Json<RefreshRequest>,
) -> Result<NoContent, ApiError> {
    let hash = tokens::hash_refresh_token(&body.refresh_token);
    let tx = db.begin().await?;
    // The access token shown with the logout stops working now, not at its expiry,
    // on every instance: every request's acting-user read finds it here. Tokens past
    // their expiry (by the server's clock) need no keeping and go.
    if let Some(user) = access {
        let now = unit::now(&tx);
        let expires_at =
            DateTime::<Utc>::from_timestamp(i64::try_from(user.claims.exp).unwrap_or(i64::MAX), 0)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        tx.execute(
            "delete from revoked_access_tokens where expires_at <= $1",
            &[&now],
        )
        .await
        .map_err(DomainError::database)?;
        if expires_at > now {
            tx.execute(
                "insert into revoked_access_tokens (token_id, expires_at) values ($1, $2) \
                 on conflict (token_id) do nothing",
                &[&user.claims.jti, &expires_at],
            )
            .await
            .map_err(DomainError::database)?;
        }
    }
    if let Some(row) = tx
        .query_opt(
            "select family_id from refresh_tokens where token_hash = $1",
            &[&hash],
        )
        .await
        .map_err(DomainError::database)?
    {
        revoke_family(&tx, row.get(0)).await?;
    }
    tx.commit().await?;
    Ok(NoContent)
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "The logged-in user", body = UserView),
        (status = 401, description = "Missing, invalid or foreign token", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/auth/me")]
pub async fn me(user: AuthUser, db: RequestDb) -> Result<Json<UserView>, ApiError> {
    let rows = db
        .read(&[(
            "select id, email, display_name, role, active from users \
             where id = $1 and active and session_generation = $2 \
               and not exists (select 1 from revoked_access_tokens where token_id = $3)",
            &[&user.claims.sub, &user.claims.generation, &user.claims.jti],
        )])
        .await?;
    let row = rows
        .first()
        .and_then(|rows| rows.first())
        .ok_or(DomainError::InvalidToken)?;
    Ok(Json(UserView::from(row)))
}

/// Whose tokens are issued: the user, the session generation they are in, and the
/// refresh-token family the new refresh token joins.
pub(super) struct Session {
    pub user: Uuid,
    pub generation: i32,
    pub family: Uuid,
}

pub(super) async fn issue_tokens(
    tx: &TenantTx,
    state: &AppState,
    tenant: &CurrentTenant,
    session: Session,
    role: &str,
) -> Result<TokenResponse, DomainError> {
    let Session {
        user: user_id,
        generation,
        family,
    } = session;
    let access_token = state
        .tokens
        .mint(
            user_id,
            generation,
            tenant.0.id.0,
            tenant.0.slug.as_str(),
            role,
            state.clock.unix_now(),
        )
        .map_err(DomainError::Internal)?;
    let (refresh_token, hash) = tokens::new_refresh_token();
    let now = state.clock.now();
    let expires_at = now + ChronoDuration::days(REFRESH_TOKEN_TTL_DAYS);
    // Every refresh leaves a spent token (kept to spot its reuse) until it expires;
    // the user's expired ones go as each new one is issued, so the table holds about
    // a lifetime's worth per user, not every token ever issued.
    // Pipelined: one round trip for both.
    let expired: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&user_id, &now];
    let issued: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&user_id, &family, &hash, &expires_at, &generation];
    tokio::try_join!(
        tx.execute(
            "delete from refresh_tokens where user_id = $1 and expires_at < $2",
            &expired,
        ),
        tx.execute(
            "insert into refresh_tokens (user_id, family_id, token_hash, expires_at, session_generation) \
             values ($1, $2, $3, $4, $5)",
            &issued,
        ),
    )
    .map_err(DomainError::database)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL_SECS,
    })
}

async fn revoke_family(tx: &TenantTx, family: Uuid) -> Result<(), DomainError> {
    tx.execute(
        "update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null",
        &[&family],
    )
    .await
    .map_err(DomainError::database)?;
    Ok(())
}
