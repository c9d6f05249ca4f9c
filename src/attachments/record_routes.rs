//! Files on any record, named by kind and id (`?target_kind=lead&target_id=...`): the
//! CRM's accounts, contacts, leads, opportunities, invoices and cases, and contracts
//! too (which also have their own `/contracts/{id}/attachments`).

use actix_multipart::Multipart;
use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::AttachmentView;
use super::{attach, service};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::target::Target;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::Created;
use crate::web::tenant::{AuthUser, CurrentTenant, RequestDb};
use crate::web::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// `counterparty`, `contact`, `lead`, `opportunity`, `invoice`, `case` or `contract`.
    #[param(max_length = 40)]
    target_kind: String,
    target_id: Uuid,
}

/// [`RecordQuery`] and a page.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordPageQuery {
    /// `counterparty`, `contact`, `lead`, `opportunity`, `invoice`, `case` or `contract`.
    #[param(max_length = 40)]
    target_kind: String,
    target_id: Uuid,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

fn target(state: &AppState, kind: &str, id: Uuid) -> Result<Target, ApiError> {
    Ok(Target::new(state.targets.named("target_kind", kind)?, id))
}

#[utoipa::path(
    get,
    path = "/api/v1/attachments",
    tag = "attachments",
    params(RecordPageQuery),
    responses(
        (status = 200, description = "The record's files, oldest first; on a contract whose redacted copy stands in for its original for this reader, their names masked as the copy was (`[redacted: kind]`)", body = Page<AttachmentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/attachments")]
pub async fn list_record_attachments(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<RecordPageQuery>,
) -> Result<Json<Page<AttachmentView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let target = target(&state, &query.target_kind, query.target_id)?;
    Ok(Json(
        service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/attachments",
    tag = "attachments",
    params(RecordQuery),
    request_body(content_type = "multipart/form-data", description = "One field named `file`, checked and bounded as on contracts"),
    responses(
        (status = 201, description = "Stored on the record: by its owner or a manager", body = AttachmentView),
        (status = 408, description = "The upload sent nothing for PACTUM_UPLOAD_IDLE_TIMEOUT_SECS", body = ErrorBody),
        (status = 409, description = "`file_quota_reached`: the tenant keeps as many files as its document settings allow", body = ErrorBody),
        (status = 413, description = "Larger than PACTUM_MAX_UPLOAD_BYTES or the tenant's own max_file_bytes", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data, type not accepted, or content not of the declared type", body = ErrorBody),
        (status = 422, description = "`malware_found`: ClamAV found a signature; nothing stored", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/attachments")]
pub async fn upload_record_attachment(
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<RecordQuery>,
    multipart: Multipart,
) -> Result<Created<AttachmentView>, ApiError> {
    let target = target(&state, &query.target_kind, query.target_id)?;
    let view = attach::attach(&user, tenant.0.id, &state, &db, &origin, target, multipart).await?;
    Ok(Created::new(view))
}
