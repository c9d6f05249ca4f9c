//! Comments and files on a contract: the routes under `/contracts/{id}`, served by the
//! comments and attachments areas' services with the contract as their target.

use actix_multipart::Multipart;
use actix_web::{get, post, web};
use uuid::Uuid;

use super::model::CONTRACT_TARGET;
use crate::attachments::attach;
use crate::attachments::{self, AttachmentView};
use crate::comments::{self, CommentView, NewComment};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::target::Target;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::Created;
use crate::web::tenant::RequestDb;
use crate::web::tenant::{AuthUser, CurrentTenant};
use crate::web::AppState;

fn contract(id: Uuid) -> Target {
    Target::new(&CONTRACT_TARGET, id)
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first. A reader the contract's redacted copy stands in for reads each comment with what the copy removed masked as `[redacted: kind]`, wherever it is written, and whatever else of the kinds it redacted", body = Page<CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/comments")]
pub async fn list_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<CommentView>>, ApiError> {
    let page = query.parse()?;
    let comments =
        comments::service::list(&db, &user.principal(), contract(id.into_inner()), &page).await?;
    Ok(Json(comments))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/comments")]
pub async fn create_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<NewComment>,
) -> Result<Created<CommentView>, ApiError> {
    let comment = as_actor(&db, &user.principal(), async |tx, actor| {
        comments::service::create(
            tx,
            actor,
            &origin,
            contract(id.into_inner()),
            body.into_inner(),
        )
        .await
    })
    .await?;
    Ok(Created::new(comment))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/attachments",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "The contract's files, oldest first; for a reader its redacted copy stands in for, their names masked as the copy was (`[redacted: kind]`) and the files themselves refused", body = Page<AttachmentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/attachments")]
pub async fn list_attachments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<AttachmentView>>, ApiError> {
    let page = query.parse()?;
    let files =
        attachments::service::list(&db, &user.principal(), contract(id.into_inner()), &page)
            .await?;
    Ok(Json(files))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/attachments",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body(content_type = "multipart/form-data", description = "One field named `file`; a form with a second is refused (400) rather than the second dropped"),
    responses(
        (status = 201, description = "Stored", body = AttachmentView),
        (status = 408, description = "The upload sent nothing for PACTUM_UPLOAD_IDLE_TIMEOUT_SECS", body = ErrorBody),
        (status = 409, description = "`file_quota_reached`: the tenant keeps as many files as its document settings allow", body = ErrorBody),
        (status = 413, description = "Larger than PACTUM_MAX_UPLOAD_BYTES or the tenant's own max_file_bytes", body = ErrorBody),
        (status = 422, description = "`malware_found`: ClamAV found a signature, named in details.signature; nothing stored, the refusal audited", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data, type not accepted, or content not of the declared type", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/attachments")]
pub async fn upload_attachment(
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    multipart: Multipart,
) -> Result<Created<AttachmentView>, ApiError> {
    let target = contract(id.into_inner());
    let view = attach::attach(&user, tenant.0.id, &state, &db, &origin, target, multipart).await?;
    Ok(Created::new(view))
}
