//! The role-grant routes: list, grant and revoke (admins). The rules live in
//! [`super::grants`].

use actix_web::{delete, get, post, web};
use uuid::Uuid;

use super::grants::{self, GrantView, NewGrant};
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::AuthedRouteErrors;
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(get, path = "/api/v1/role-grants", tag = "users",
    responses((status = 200, description = "Every grant, newest first (admins)", body = Page<GrantView>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/role-grants")]
pub async fn list_grants(user: AuthUser, db: RequestDb) -> Result<Json<Page<GrantView>>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        grants::list(tx, actor).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/role-grants", tag = "users", request_body = NewGrant,
    responses((status = 201, description = "Granted until `expires_at` (admins); it lapses by itself", body = GrantView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/role-grants")]
pub async fn create_grant(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewGrant>,
) -> Result<Created<GrantView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        grants::grant(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    let location = format!("/api/v1/role-grants/{}", out.id);
    Ok(Created::new(out).at(location))
}

#[utoipa::path(delete, path = "/api/v1/role-grants/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "Grant id")),
    responses((status = 204, description = "Revoked (admins)"), AuthedRouteErrors),
    security(("bearer" = [])))]
#[delete("/api/v1/role-grants/{id}")]
pub async fn revoke_grant(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        grants::revoke(tx, actor, &origin, *id).await
    })
    .await?;
    Ok(NoContent)
}
