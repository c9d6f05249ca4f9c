//! The routes that belong to attachments alone: download and delete by id. Listing and
//! uploading live under the record a file belongs to (`/contracts/{id}/attachments`),
//! in the area that owns it.

use actix_files::NamedFile;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::mime;
use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::files;
use super::model::{AttachmentView, COLUMNS};
use super::reading::{self, TextPage, TextStatus};
use super::service;
use super::settings::{self, DocumentSettings};
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
    serve(&req, path, &view.sha256, view.filename, &view.content_type).await
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}/searchable-pdf",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The searchable PDF made by OCR from a scanned PDF or an image: the scan with its recognised text as an invisible layer, streamed once its SHA-256 has been checked; Range and If-None-Match are honoured. 404 `not_found` while there is none: the file had text of its own, or OCR has not finished or failed"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments/{id}/searchable-pdf")]
pub async fn download_searchable_pdf(
    req: HttpRequest,
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (id, filename, sha256) =
        reading::searchable_pdf(&db, &user.principal(), id.into_inner()).await?;
    let folder = tenant_folder(&state.config.upload_dir, tenant.0.id);
    let stem = filename
        .rsplit_once('.')
        .map_or(filename.as_str(), |(stem, _)| stem);
    let name = format!("{stem}.searchable.pdf");
    serve(
        &req,
        files::searchable_path(&folder, id),
        &sha256,
        name,
        "application/pdf",
    )
    .await
}

/// Streams the file at `path` from disk (ranges and conditional requests honoured,
/// never whole in memory) as a download named `filename`, once its SHA-256 is checked.
async fn serve(
    req: &HttpRequest,
    path: std::path::PathBuf,
    sha256: &str,
    filename: String,
    content_type: &str,
) -> Result<HttpResponse, ApiError> {
    if !service::intact(&path, sha256).await? {
        return Err(DomainError::Internal(anyhow::anyhow!(
            "{} on disk no longer matches the SHA-256 it was stored with",
            path.display()
        ))
        .into());
    }
    let shown = path.display().to_string();
    let file = web::block(move || NamedFile::open(path))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("opening a stored file: {e}")))?
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("{shown} is not on disk: {e}")))?;
    // RFC 6266: an ASCII fallback plus the exact UTF-8 name.
    let ascii: String = filename
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
                value: filename.into_bytes(),
            }),
        ],
    };
    let mut response = file
        .set_content_type(
            content_type
                .parse()
                .unwrap_or(mime::APPLICATION_OCTET_STREAM),
        )
        .set_content_disposition(disposition)
        .into_response(req);
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
        (status = 200, description = "Where reading the file's text stands: `pending` until a job has read it after the upload, `recognizing` while OCR reads its scanned pages with its progress, then `extracted`, `failed` with the reason, or `unsupported`", body = TextStatus),
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
    files::remove_files(
        &tenant_folder(&state.config.upload_dir, tenant.0.id),
        &[view.id],
    )
    .await;
    Ok(NoContent)
}

#[utoipa::path(get, path = "/api/v1/document-settings", tag = "attachments",
    responses((status = 200, description = "The tenant's document settings: OCR languages and its own upload bounds", body = DocumentSettings), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/document-settings")]
pub async fn get_document_settings(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<DocumentSettings>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::get(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/document-settings", tag = "attachments", request_body = DocumentSettings,
    responses((status = 200, description = "Set by admins; a language Tesseract has not installed is a 400", body = DocumentSettings), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/document-settings")]
pub async fn put_document_settings(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<DocumentSettings>,
) -> Result<Json<DocumentSettings>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::put(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}
