//! The redaction routes: a contract's preview and redacted copies, a copy as a PDF,
//! and the tenant's own patterns. The logic is in [`super::service`].

use actix_web::{delete, get, post, web, HttpResponse};
use uuid::Uuid;

use super::service::{self, ApplyRedaction, NewPattern, PatternView, Preview, RedactionView};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::web::error::{ApiError, AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/redaction-preview",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "What would be redacted in the contract's current text: email addresses, phone numbers, IBANs, card numbers, national ids that pass their checksums, names of the tenant's users and contacts, matches of its own patterns; each with its position in characters and the version read. 403 for a reader a restricted original is kept from", body = Preview),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/redaction-preview")]
pub async fn preview(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::preview(tx, actor, id.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/redactions",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = ApplyRedaction,
    responses(
        (status = 201, description = "A redacted copy of the version previewed: every finding accepted or rejected, the accepted ones gone from its text. The contract's owner or a manager who may read its original; an audited event. Unless `restrict_original` is false, the copy then stands in for the original for readers below the tenant's `original_role` who do not own the contract", body = RedactionView),
        (status = 409, description = "version_conflict: the contract has changed since the preview", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/redactions")]
pub async fn apply(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<ApplyRedaction>,
) -> Result<Created<RedactionView>, ApiError> {
    Ok(Created::new(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::apply(tx, actor, &origin, id.into_inner(), body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/redactions",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "The contract's redacted copies, oldest first", body = Page<RedactionView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/redactions")]
pub async fn list(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<RedactionView>>, ApiError> {
    let page = query.parse()?;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::list(tx, actor, id.into_inner(), &page).await
        })
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/redactions/{id}",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Redaction id")),
    responses(
        (status = 200, description = "One redacted copy", body = RedactionView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/redactions/{id}")]
pub async fn get(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<RedactionView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::get(tx, actor, id.into_inner()).await
        })
        .await?
        .0,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/redactions/{id}/pdf",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Redaction id")),
    responses(
        (status = 200, description = "The redacted copy as application/pdf: the contract's title and the redacted text, rendered from it, so nothing redacted is in the file"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/redactions/{id}/pdf")]
pub async fn redaction_pdf(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (copy, title) = as_actor(&db, &user.principal(), async |tx, actor| {
        service::get(tx, actor, id).await
    })
    .await?;
    let bytes = web::block(move || {
        crate::documents::pdf::text_pdf(&format!("{title} (redacted)"), &copy.body)
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("pdf: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"redacted-{id}.pdf\""),
        ))
        .body(bytes))
}

#[utoipa::path(
    get,
    path = "/api/v1/redaction-patterns",
    tag = "redaction",
    responses(
        (status = 200, description = "The tenant's own patterns of sensitive text", body = [PatternView]),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/redaction-patterns")]
pub async fn patterns(user: AuthUser, db: RequestDb) -> Result<Json<Vec<PatternView>>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::patterns(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/redaction-patterns",
    tag = "redaction",
    request_body = NewPattern,
    responses(
        (status = 201, description = "Added, by admins: a pattern that does not compile, or matches empty text, is a 400", body = PatternView),
        (status = 409, description = "duplicate: a pattern of this name exists", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/redaction-patterns")]
pub async fn add_pattern(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewPattern>,
) -> Result<Created<PatternView>, ApiError> {
    Ok(Created::new(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::add_pattern(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/redaction-patterns/{id}",
    tag = "redaction",
    params(("id" = Uuid, Path, description = "Pattern id")),
    responses(
        (status = 204, description = "Removed, by admins"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/redaction-patterns/{id}")]
pub async fn delete_pattern(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete_pattern(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}
