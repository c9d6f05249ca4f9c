//! `/api/v1/teams`: thin handlers over [`super::service`].

use actix_web::{delete, get, patch, post, put, web};
use uuid::Uuid;

use super::model::{CreateTeam, TeamView, UpdateTeam};
use super::service;
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_teams)
        .service(create_team)
        .service(get_team)
        .service(update_team)
        .service(delete_team)
        .service(add_member)
        .service(remove_member);
}

#[utoipa::path(
    get,
    path = "/api/v1/teams",
    tag = "teams",
    responses(
        (status = 200, description = "Every team, by name, with its member count", body = Page<TeamView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/teams")]
pub async fn list_teams(user: AuthUser, db: RequestDb) -> Result<Json<Page<TeamView>>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::list(tx, actor).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/teams",
    tag = "teams",
    request_body = CreateTeam,
    responses(
        (status = 201, description = "Created (admins)", body = TeamView),
        (status = 409, description = "name_taken, too_many_teams", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/teams")]
pub async fn create_team(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<CreateTeam>,
) -> Result<Created<TeamView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    let location = format!("/api/v1/teams/{}", out.id);
    Ok(Created::new(out).at(location))
}

#[utoipa::path(
    get,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    responses(
        (status = 200, description = "The team with its members", body = TeamView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/teams/{id}")]
pub async fn get_team(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<TeamView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::get(tx, actor, id.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    patch,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    request_body = UpdateTeam,
    responses(
        (status = 200, description = "Updated (admins)", body = TeamView),
        (status = 409, description = "name_taken", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/teams/{id}")]
pub async fn update_team(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateTeam>,
) -> Result<Json<TeamView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/teams/{id}",
    tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    responses(
        (status = 204, description = "Deleted with its memberships (admins)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/teams/{id}")]
pub async fn delete_team(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    put,
    path = "/api/v1/teams/{id}/members/{user_id}",
    tag = "teams",
    params(
        ("id" = Uuid, Path, description = "Team id"),
        ("user_id" = Uuid, Path, description = "The user to add")
    ),
    responses(
        (status = 200, description = "The team with its members; adding a member again changes nothing (admins)", body = TeamView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/teams/{id}/members/{user_id}")]
pub async fn add_member(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<Json<TeamView>, ApiError> {
    let (id, member) = path.into_inner();
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::add_member(tx, actor, &origin, id, member).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/teams/{id}/members/{user_id}",
    tag = "teams",
    params(
        ("id" = Uuid, Path, description = "Team id"),
        ("user_id" = Uuid, Path, description = "The member to remove")
    ),
    responses(
        (status = 204, description = "Removed (admins)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/teams/{id}/members/{user_id}")]
pub async fn remove_member(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<NoContent, ApiError> {
    let (id, member) = path.into_inner();
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::remove_member(tx, actor, &origin, id, member).await
    })
    .await?;
    Ok(NoContent)
}
