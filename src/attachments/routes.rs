//! The routes that belong to attachments alone: download and delete by id. Listing and
//! uploading live under the record a file belongs to (`/contracts/{id}/attachments`),
//! in the area that owns it.

use actix_files::NamedFile;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::mime;
use actix_web::{delete, get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::model::{AttachmentView, COLUMNS};
use super::reading::{self, TextPage, TextStatus};
use super::service;
use super::upload::tenant_folder;
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::read_one_as;
use crate::kernel::Role;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, DomainError};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::NoContent;
use crate::web::tenant::RequestDb;
use crate::web::tenant::{AuthUser, CurrentTenant};
use crate::web::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file, as a download, streamed from disk once its SHA-256 has been checked against the upload's (a file damaged on disk is a 500, never served); Range (206) and If-None-Match (304) are honoured"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments/{id}")]
pub async fn download_attachment(
    req: HttpRequest,
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let sql = format!("select {COLUMNS} from attachments where id = $1");
    let view: AttachmentView = read_one_as(
        &db,
        &user.principal(),
        Role::Viewer,
        &sql,
        id.into_inner(),
        "attachment",
    )
    .await?;
    let path = tenant_folder(&state.config.upload_dir, tenant.0.id).join(view.id.to_string());
    if !service::intact(&path, &view.sha256).await? {
        return Err(DomainError::Internal(anyhow::anyhow!(
            "attachment {} on disk no longer matches the SHA-256 of its upload",
            view.id
        ))
        .into());
    }
    let file = web::block(move || NamedFile::open(path))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("opening an attachment: {e}")))?
        .map_err(|e| {
            DomainError::Internal(anyhow::anyhow!(
                "attachment {} is not on disk: {e}",
                view.id
            ))
        })?;
    // RFC 6266: an ASCII fallback plus the exact UTF-8 name.
    let ascii: String = view
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: view.filename.into_bytes(),
            }),
        ],
    };
    // Streamed from disk, with ranges and conditional requests, never whole in memory.
    let mut response = file
        .set_content_type(
            view.content_type
                .parse()
                .unwrap_or(mime::APPLICATION_OCTET_STREAM),
        )
        .set_content_disposition(disposition)
        .into_response(&req);
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}/text",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "Where reading the file's text stands: `pending` until a job has read it after the upload, then `extracted`, `failed` (with the reason) or `unsupported`", body = TextStatus),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments/{id}/text")]
pub async fn attachment_text(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<TextStatus>, ApiError> {
    Ok(Json(
        reading::status(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}/text/pages",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id"), PageQuery),
    responses(
        (status = 200, description = "The file's text, page by page (empty until it is extracted)", body = Page<TextPage>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments/{id}/text/pages")]
pub async fn attachment_text_pages(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<TextPage>>, ApiError> {
    Ok(Json(
        reading::pages(&db, &user.principal(), id.into_inner(), &query.parse()?).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/attachments/{id}",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 204, description = "Deleted, file and record"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/attachments/{id}")]
pub async fn delete_attachment(
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    let view = as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete(tx, actor, &origin, id.into_inner(), &state.targets).await
    })
    .await?;
    service::remove_files(
        &tenant_folder(&state.config.upload_dir, tenant.0.id),
        &[view.id],
    )
    .await;
    Ok(NoContent)
}
