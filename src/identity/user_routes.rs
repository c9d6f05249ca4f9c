//! `/api/v1/users` for tenant admins, and `/api/v1/auth/password` for everyone.
//!
//! Role checks read the acting user's current role and active flag in the handler's own
//! transaction, so a demotion or deactivation takes effect at once rather than when the
//! access token expires.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::password::{self, MAX_PASSWORD_BYTES};
use super::routes::{issue_tokens, Session, TokenResponse};
use super::service::{self, NewUser, UserChange};
use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::{Actor, Role};
use crate::tenancy::provision::validate_display_name;
use crate::tenancy::Email;
use crate::web::error::ApiError;
use crate::web::error::{DomainError, ErrorBody, TenantRouteErrors};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent, Secret};
use crate::web::tenant::{AuthUser, CurrentTenant, RequestDb};
use crate::web::AppState;
use serde_json::json;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(ListQuery),
    responses(
        (status = 200, description = "Users, by email", body = Page<UserView>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users")]
pub async fn list_users(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ListQuery>,
) -> Result<Json<Page<UserView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_PAGE)?;
    Ok(Json(
        service::users_page(&db, &user.principal(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 409, description = "email_taken", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/users")]
pub async fn create_user(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<CreateUser>,
) -> Result<Created<UserView>, ApiError> {
    let body = body.into_inner();
    let email = Email::parse(&body.email).map_err(|e| DomainError::Validation(e.to_string()))?;
    let display_name = validate_display_name("display name", &body.display_name)
        .map_err(|e| DomainError::Validation(e.to_string()))?;
    let role = parse_role(&body.role)?;
    let password_hash = service::hash(parse_password(&body.password)?).await?;
    let new = NewUser {
        email,
        display_name,
        role,
        password_hash,
    };
    let view = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create_user(tx, actor, &origin, new).await
    })
    .await?;
    Ok(Created::new(view))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/users/{id}")]
pub async fn get_user(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(service::get_user(&db, &user.principal(), *id).await?))
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    request_body = UpdateUser,
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 409, description = "last_admin", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/users/{id}")]
pub async fn update_user(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let body = body.into_inner();
    let display_name = body
        .display_name
        .as_deref()
        .map(|n| validate_display_name("display name", n))
        .transpose()
        .map_err(|e| DomainError::Validation(e.to_string()))?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let password_hash = match body.password.as_deref() {
        Some(p) => Some(service::hash(parse_password(p)?).await?),
        None => None,
    };
    let change = UserChange {
        display_name,
        role,
        active: body.active,
        password_hash,
    };
    let new = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update_user(tx, actor, &origin, *id, change).await
    })
    .await?;
    Ok(Json(new))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 409, description = "last_admin; user_holds_records (owns contracts or holds approvals: reassign them or deactivate the user; details give the counts)", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/users/{id}")]
pub async fn delete_user(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete_user(tx, actor, &origin, *id).await
    })
    .await?;
    Ok(NoContent)
}

/// Changes the caller's own password and ends every session of theirs: each access
/// and refresh token already handed out is refused from now on. This session goes on
/// with the new pair of tokens returned.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 200, description = "Changed; every earlier token of the caller's is refused from now on, and this session goes on with these", body = TokenResponse),
        (status = 401, description = "Wrong current password", body = ErrorBody),
        TenantRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/auth/password")]
pub async fn change_password(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    origin: RequestOrigin,
    state: web::Data<AppState>,
    body: Json<ChangePassword>,
) -> Result<Secret<TokenResponse>, ApiError> {
    let body = body.into_inner();
    if body.current_password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::InvalidCredentials.into());
    }
    let new_password = parse_password(&body.new_password)?;
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Viewer).await?;
    let row = tx
        .query_one(
            "select password_hash, role, email from users where id = $1",
            &[&user.claims.sub],
        )
        .await
        .map_err(DomainError::database)?;
    let (stored, role, email): (Option<String>, String, String) =
        (row.get(0), row.get(1), row.get(2));
    // Guessing the current password here (with a stolen token, say) spends the same
    // budget as guessing it at the login.
    if let Err(wait) = state.login_limiter.check(tenant.0.id.0, &email).await {
        tracing::warn!(tenant = %tenant.0.slug, "password change rate limit hit");
        return Err(DomainError::RateLimited(wait.as_secs().max(1)).into());
    }
    let stored = stored.unwrap_or_default();
    let current = body.current_password;
    let matches = web::block(move || password::verify(&current, &stored))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("password check: {e}")))?;
    if !matches {
        return Err(DomainError::InvalidCredentials.into());
    }
    let new_hash = service::hash(new_password).await?;
    tx.execute(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        &[&user.claims.sub, &new_hash],
    )
    .await
    .map_err(DomainError::database)?;
    let generation = service::end_sessions(&tx, user.claims.sub).await?;
    let session = Session {
        user: user.claims.sub,
        generation,
        family: Uuid::new_v4(),
    };
    let tokens = issue_tokens(&tx, &state, &tenant, session, &role).await?;
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "change_password",
            entity: "user",
            entity_id: Some(user.claims.sub),
            changes: json!({}),
        },
    )
    .await?;
    Ok(Secret(tokens))
}
