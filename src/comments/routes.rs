//! The route that belongs to comments alone.

use actix_web::{delete, web};
use uuid::Uuid;

use super::service;
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::AuthedRouteErrors;
use crate::web::origin::RequestOrigin;
use crate::web::reply::NoContent;
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    delete,
    path = "/api/v1/comments/{id}",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted (its author, or a manager)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/comments/{id}")]
pub async fn delete_comment(
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
