//! Files attached to contracts. Bytes live on local disk at
//! `<PACTUM_UPLOAD_DIR>/<tenant id>/<attachment id>`: the folder comes from the tenant
//! the request's host resolved to and the file name from a row of that tenant's own
//! schema, so no path or id sent by a client can reach another tenant's file. The
//! client's file name is kept in the database only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_files::NamedFile;
use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::mime;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::contracts::{lock_editable_contract, read_contract_rows};
use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::{delete_row, read_one_as};
use crate::kernel::validate;
use crate::kernel::{Actor, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::tenant::{AuthUser, CurrentTenant};
use crate::web::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_attachments)
        .service(upload_attachment)
        .service(download_attachment)
        .service(delete_attachment);
}

const COLUMNS: &str =
    "id, contract_id, filename, content_type, size_bytes, sha256, uploaded_by, created_at";

/// Accepted types, each with the leading bytes its files must start with.
const ACCEPTED: &[(&str, &[&[u8]])] = &[
    ("application/pdf", &[b"%PDF-"]),
    ("image/png", &[b"\x89PNG\r\n\x1a\n"]),
    ("image/jpeg", &[b"\xff\xd8\xff"]),
    ("text/plain", &[]),
    ("application/msword", &[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &[b"PK\x03\x04"],
    ),
];

/// Whether the first bytes of a file fit its declared type. Plain text must be UTF-8
/// without NUL bytes (a partial character at the end of the sample is fine).
fn content_matches(content_type: &str, head: &[u8]) -> bool {
    let Some((_, magics)) = ACCEPTED.iter().find(|(t, _)| *t == content_type) else {
        return false;
    };
    if content_type == "text/plain" {
        let valid_prefix = match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        return valid_prefix && !head.contains(&0);
    }
    magics.iter().any(|magic| head.starts_with(magic))
}

/// The client's file name made safe to store and to send back in a header: its last
/// path component, without control characters or quotes, at most 255 characters.
fn clean_filename(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !validate::is_bidi_control(*c) && *c != '"')
        .take(255)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

fn tenant_folder(state: &AppState, tenant: &CurrentTenant) -> PathBuf {
    state.config.upload_dir.join(tenant.0.id.0.to_string())
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    id: Uuid,
    contract_id: Uuid,
    filename: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    uploaded_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<&Row> for AttachmentView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            contract_id: row.get(1),
            filename: row.get(2),
            content_type: row.get(3),
            size_bytes: row.get(4),
            sha256: row.get(5),
            uploaded_by: row.get(6),
            created_at: row.get(7),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/attachments",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "The contract's files, oldest first", body = Page<AttachmentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/attachments")]
pub async fn list_attachments(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, DomainError> {
    let page = query.parse()?;
    let (after_at, after_id) = page.after::<(DateTime<Utc>, Uuid)>()?.unzip();
    let id = id.into_inner();
    let sql = format!(
        "select {COLUMNS} from attachments where contract_id = $1 \
         and ($3::timestamptz is null or (created_at, id) > ($3, $4::uuid)) \
         order by created_at, id limit $2"
    );
    let rows = read_contract_rows(
        &db,
        &user.principal(),
        id,
        &sql,
        &[&page.fetch(), &after_at, &after_id],
    )
    .await?;
    let list: Vec<AttachmentView> = rows.iter().map(AttachmentView::from).collect();
    Ok(HttpResponse::Ok().json(Page::keyset(list, &page, |a| (a.created_at, a.id))))
}

/// A file being received: removed from disk unless `keep` is called.
struct PendingFile {
    path: PathBuf,
    kept: bool,
}

impl PendingFile {
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

struct Received {
    filename: String,
    content_type: String,
    size: u64,
    sha256: String,
    file: PendingFile,
}

/// Streams the multipart's `file` field to `folder`, hashing and counting as it goes
/// and giving up as soon as it passes `limit`.
async fn receive(
    mut multipart: Multipart,
    folder: &Path,
    limit: u64,
    idle: Duration,
) -> Result<Received, DomainError> {
    let bad = |message: String| DomainError::BadRequest(message);
    let stalled =
        || DomainError::UploadStalled(format!("the upload sent nothing for {} s", idle.as_secs()));
    let mut field = loop {
        let field = tokio::time::timeout(idle, multipart.try_next())
            .await
            .map_err(|_| stalled())?
            .map_err(|e| match e {
                MultipartError::ContentTypeMissing | MultipartError::ContentTypeIncompatible => {
                    DomainError::UnsupportedMediaType(
                        "attachments are uploaded as multipart/form-data".into(),
                    )
                }
                e => bad(format!("invalid multipart body: {e}")),
            })?
            .ok_or_else(|| bad("the form has no \"file\" field".into()))?;
        if field.name() == Some("file") {
            break field;
        }
    };
    let filename = field
        .content_disposition()
        .and_then(|d| d.get_filename())
        .and_then(clean_filename)
        .ok_or_else(|| bad("the file field needs a file name".into()))?;
    let content_type = field
        .content_type()
        .map(|m| m.essence_str().to_owned())
        .unwrap_or_default();
    if !ACCEPTED.iter().any(|(t, _)| *t == content_type) {
        return Err(DomainError::UnsupportedMediaType(format!(
            "attachments may be {}",
            ACCEPTED
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    tokio::fs::create_dir_all(folder).await.map_err(|e| {
        DomainError::Internal(anyhow::anyhow!("creating {}: {e}", folder.display()))
    })?;
    let file = PendingFile {
        path: folder.join(format!(".upload-{}", Uuid::new_v4())),
        kept: false,
    };
    let mut out = tokio::fs::File::create(&file.path)
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("creating an upload file: {e}")))?;
    let (mut size, mut hasher, mut head) = (0u64, Sha256::new(), Vec::with_capacity(512));
    while let Some(chunk) = tokio::time::timeout(idle, field.try_next())
        .await
        .map_err(|_| stalled())?
        .map_err(|e| bad(format!("the upload broke off: {e}")))?
    {
        size += chunk.len() as u64;
        if size > limit {
            return Err(DomainError::PayloadTooLarge(format!(
                "attachments are at most {limit} bytes"
            )));
        }
        if head.len() < 512 {
            head.extend_from_slice(&chunk[..chunk.len().min(512 - head.len())]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .await
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("writing an upload: {e}")))?;
    }
    out.sync_all()
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("writing an upload: {e}")))?;
    if size == 0 {
        return Err(bad("the file is empty".into()));
    }
    if !content_matches(&content_type, &head) {
        return Err(DomainError::UnsupportedMediaType(format!(
            "the file's content is not {content_type}"
        )));
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Received {
        filename,
        content_type,
        size,
        sha256,
        file,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/attachments",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body(content_type = "multipart/form-data", description = "One field named `file`"),
    responses(
        (status = 201, description = "Stored", body = AttachmentView),
        (status = 408, description = "The upload sent nothing for PACTUM_UPLOAD_IDLE_TIMEOUT_SECS", body = ErrorBody),
        (status = 413, description = "Larger than PACTUM_MAX_UPLOAD_BYTES", body = ErrorBody),
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
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    multipart: Multipart,
) -> Result<HttpResponse, DomainError> {
    // Permission first, so nobody may make us store bytes they could not attach.
    let contract_id = id.into_inner();
    {
        let tx = db.begin().await?;
        lock_editable_contract(&tx, &user.principal(), contract_id).await?;
        tx.commit().await.map_err(DomainError::database)?;
    }
    let folder = tenant_folder(&state, &tenant);
    let received = receive(
        multipart,
        &folder,
        state.config.max_upload_bytes,
        state.config.upload_idle_timeout,
    )
    .await?;
    // Again, now that the bytes are here: the contract or the caller may have changed.
    let tx = db.begin().await?;
    let (contract, actor) = lock_editable_contract(&tx, &user.principal(), contract_id).await?;
    let row = tx
        .query_one(
            &format!(
                "insert into attachments (contract_id, filename, content_type, size_bytes, sha256, uploaded_by) \
                 values ($1, $2, $3, $4, $5, $6) returning {COLUMNS}"
            ),
            &[
                &contract.id,
                &received.filename,
                &received.content_type,
                &(received.size as i64),
                &received.sha256,
                &user.claims.sub,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = AttachmentView::from(&row);
    let final_path = folder.join(view.id.to_string());
    tokio::fs::rename(&received.file.path, &final_path)
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("storing an upload: {e}")))?;
    received.file.keep();
    let stored = PendingFile {
        path: final_path,
        kept: false,
    };
    audit::record_and_commit(tx, &actor, &origin,
        Entry {
            action: "create",
            entity: "attachment",
            entity_id: Some(view.id),
            changes: json!({"contract_id": contract.id, "filename": view.filename,
                "content_type": view.content_type, "size_bytes": view.size_bytes, "sha256": view.sha256}),
        },
    )
    .await?;
    stored.keep();
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments/{id}",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file, as a download, streamed from disk; Range (206) and If-None-Match (304) are honoured"),
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
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, DomainError> {
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
    let path = tenant_folder(&state, &tenant).join(view.id.to_string());
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
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, DomainError> {
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Member).await?;
    let view = AttachmentView::from(
        &delete_row(
            &tx,
            &format!("delete from attachments where id = $1 returning {COLUMNS}"),
            id.into_inner(),
            "attachment",
        )
        .await?,
    );
    let owner: Option<uuid::Uuid> = tx
        .query_opt(
            "select owner_id from contracts where id = $1",
            &[&view.contract_id],
        )
        .await
        .map_err(DomainError::database)?
        .map(|r| r.get(0));
    if !actor.may_edit(owner) {
        return Err(DomainError::Forbidden(
            "members delete files only from contracts they own".into(),
        ));
    }
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "delete",
            entity: "attachment",
            entity_id: Some(view.id),
            changes: json!({"contract_id": view.contract_id, "filename": view.filename}),
        },
    )
    .await?;
    // The record is gone for good; a file left behind by a failed removal is unreachable.
    let path = tenant_folder(&state, &tenant).join(view.id.to_string());
    if let Err(e) = tokio::fs::remove_file(&path).await {
        tracing::warn!(error = %e, path = %path.display(), "attachment file not removed");
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_bidirectional_overrides() {
        assert_eq!(
            clean_filename("invoice\u{202E}fdp.exe").as_deref(),
            Some("invoicefdp.exe")
        );
        assert_eq!(
            clean_filename("a\u{2066}b\u{2069}\u{200F}.txt").as_deref(),
            Some("ab.txt")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\x\\..\\\"q\".pdf").as_deref(),
            Some("q.pdf")
        );
        assert_eq!(clean_filename("\u{202E}"), None);
    }

    #[test]
    fn file_names_lose_paths_and_dangerous_characters() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\Users\\x\\contract.pdf").as_deref(),
            Some("contract.pdf")
        );
        assert_eq!(clean_filename("a\"b\r\nc.pdf").as_deref(), Some("abc.pdf"));
        assert_eq!(clean_filename("..").as_deref(), None);
        assert_eq!(clean_filename("/").as_deref(), None);
    }

    #[test]
    fn content_must_match_the_declared_type() {
        assert!(content_matches("application/pdf", b"%PDF-1.7\n"));
        assert!(!content_matches("application/pdf", b"MZ\x90\x00"));
        assert!(content_matches("text/plain", "héllo".as_bytes()));
        assert!(!content_matches("text/plain", b"\x00\x01binary"));
        assert!(!content_matches("application/x-msdownload", b"MZ"));
    }
}
