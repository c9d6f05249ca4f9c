//! The routes that belong to attachments alone: download, change and delete by id.
//! Listing and uploading live under the record a file belongs to
//! (`/contracts/{id}/attachments`), in the area that owns it.

use actix_files::NamedFile;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::mime;
use actix_web::{delete, get, patch, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::files;
use super::model::{AttachmentView, UpdateAttachment, COLUMNS};
use super::originals::{self, Guard};
use super::reading::{self, TextPage, TextStatus};
use super::service;
use super::settings::{self, DocumentSettings};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::read_as;
use crate::kernel::storage::{Store, StoredName};
use crate::kernel::Role;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
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
    let view = readable(&db, &user, id.into_inner()).await?;
    let stored = Stored {
        store: &state.config.store,
        tenant: tenant.0.id,
        name: StoredName::original(view.id),
        sha256: &view.sha256,
    };
    serve(&req, stored, view.filename, &view.content_type).await
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
    let stem = filename
        .rsplit_once('.')
        .map_or(filename.as_str(), |(stem, _)| stem);
    let name = format!("{stem}.searchable.pdf");
    let stored = Stored {
        store: &state.config.store,
        tenant: tenant.0.id,
        name: StoredName::searchable_pdf(id),
        sha256: &sha256,
    };
    serve(&req, stored, name, "application/pdf").await
}

/// How long a signed link may be asked to last.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkQuery {
    /// Seconds the link works for: 60 to 86,400, 300 by default.
    pub expires_in: Option<u64>,
}

/// A link to download a file without credentials, until it expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedLink {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}/link",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id"), LinkQuery),
    responses(
        (status = 200, description = "A presigned link straight to the file in the bucket, for anyone who may read the attachment; whoever holds it can download the file until it expires", body = SignedLink),
        (status = 409, description = "`links_unavailable`: the files are on the server's own disk, downloaded through /attachments/{id}", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments/{id}/link")]
pub async fn attachment_link(
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<Json<SignedLink>, ApiError> {
    let seconds = query.expires_in.unwrap_or(300);
    if !(60..=86_400).contains(&seconds) {
        return Err(DomainError::Validation("expires_in: 60 to 86400 seconds".into()).into());
    }
    let view = readable(&db, &user, id.into_inner()).await?;
    let valid_for = std::time::Duration::from_secs(seconds);
    let url = state
        .config
        .store
        .signed_link(tenant.0.id, &StoredName::original(view.id), valid_for)
        .await
        .map_err(|e| DomainError::Unavailable(anyhow::anyhow!("signing a link: {e}")))?
        .ok_or_else(|| {
            DomainError::Conflict(
                "links_unavailable",
                "files are kept on the server's disk: download them through /attachments/{id}"
                    .into(),
            )
        })?;
    Ok(Json(SignedLink {
        url: url.to_string(),
        expires_at: state.clock.now() + chrono::Duration::seconds(seconds as i64),
    }))
}

/// The attachment `id`, for anyone who may read it and, on a redacted contract, its
/// original.
async fn readable(db: &RequestDb, user: &AuthUser, id: Uuid) -> Result<AttachmentView, ApiError> {
    let sql = format!("select {COLUMNS} from attachments where id = $1");
    let (actor, results) = read_as(
        db,
        &user.principal(),
        Role::Viewer,
        &[(&sql, &[&id]), (originals::ATTACHMENT_GUARD_SQL, &[&id])],
    )
    .await?;
    let view = results[0]
        .first()
        .map(AttachmentView::from)
        .ok_or(DomainError::Missing("attachment"))?;
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    Ok(view)
}

/// A stored file and the SHA-256 it was stored with.
struct Stored<'a> {
    store: &'a Store,
    tenant: crate::tenancy::TenantId,
    name: StoredName,
    sha256: &'a str,
}

/// Sends a stored file as a download named `filename`, never whole in memory. From
/// local disk: its SHA-256 checked first, then streamed with ranges and conditional
/// requests. From a bucket: streamed as it comes, hashed on the way, and broken off
/// before its end if the hash does not match, so a changed file never arrives whole.
async fn serve(
    req: &HttpRequest,
    stored: Stored<'_>,
    filename: String,
    content_type: &str,
) -> Result<HttpResponse, ApiError> {
    let disposition = disposition(filename);
    let content_type: mime::Mime = content_type
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let Some(path) = stored.store.local_path(stored.tenant, &stored.name) else {
        let blocks = stored
            .store
            .stream(stored.tenant, &stored.name)
            .await
            .map_err(|e| DomainError::Unavailable(anyhow::anyhow!("reading a stored file: {e}")))?
            .ok_or_else(|| {
                DomainError::Internal(anyhow::anyhow!(
                    "{} is not in the bucket",
                    stored.name.as_str()
                ))
            })?;
        return Ok(HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CONTENT_DISPOSITION, disposition))
            .insert_header((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .streaming(checked(blocks, stored.sha256.to_owned())));
    };
    if !service::intact(&path, stored.sha256).await? {
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
    let mut response = file
        .set_content_type(content_type)
        .set_content_disposition(disposition)
        .into_response(req);
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `blocks`, hashed as they pass; an error in place of the end when the whole does not
/// have the SHA-256 `expected`, which breaks the response off.
fn checked(
    blocks: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    expected: String,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    use futures::StreamExt;
    use sha2::{Digest, Sha256};
    let state = (blocks, Some(Sha256::new()), expected);
    futures::stream::unfold(state, |(mut blocks, hasher, expected)| async move {
        let mut hasher = hasher?;
        match blocks.next().await {
            Some(Ok(block)) => {
                hasher.update(&block);
                Some((Ok(block), (blocks, Some(hasher), expected)))
            }
            Some(Err(e)) => Some((Err(e), (blocks, None, expected))),
            None => {
                let actual = files::hex(&hasher.finalize());
                if actual == expected {
                    None
                } else {
                    tracing::error!(
                        expected,
                        actual,
                        "a stored file no longer matches its SHA-256; download broken off"
                    );
                    Some((
                        Err(std::io::Error::other(
                            "the stored file does not match its SHA-256",
                        )),
                        (blocks, None, expected),
                    ))
                }
            }
        }
    })
}

/// RFC 6266: an ASCII fallback plus the exact UTF-8 name.
fn disposition(filename: String) -> ContentDisposition {
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
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: filename.into_bytes(),
            }),
        ],
    }
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
    files::remove_files(&state.config.store, tenant.0.id, &[view.id]).await;
    Ok(NoContent)
}

#[utoipa::path(
    patch,
    path = "/api/v1/attachments/{id}",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    request_body = UpdateAttachment,
    responses(
        (status = 200, description = "Changed by a member who owns the record it belongs to, or a manager: `text_language` set re-stems every page of its text now and later; null hands each page back to its own words. Audited", body = AttachmentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/attachments/{id}")]
pub async fn update_attachment(
    user: AuthUser,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateAttachment>,
) -> Result<Json<AttachmentView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            service::update(
                tx,
                actor,
                &origin,
                id.into_inner(),
                body.into_inner(),
                &state.targets,
            )
            .await
        })
        .await?,
    ))
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
    let installed = super::ocr::installed_languages().await;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            settings::put(tx, actor, &origin, body.into_inner(), installed.as_deref()).await
        })
        .await?,
    ))
}
