//! The import route: files in, drafts out. The logic lives in [`super::import`].

use actix_multipart::Multipart;
use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::import::{self, ImportedFile, MAX_FILES};
use crate::attachments::upload;
use crate::kernel::{Actor, DomainError, Role};
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::tenant::{AuthUser, CurrentTenant, RequestDb};
use crate::web::AppState;

// A retried import is read whole to be compared with the first (Idempotency-Key), up
// to as many files as any upload form carries.
const _: () = assert!(MAX_FILES <= crate::web::MAX_FILES_PER_FORM);

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The type of the drafts made: a key of `GET /api/v1/contract-types`.
    #[param(max_length = 40)]
    contract_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    /// One entry per file, in the form's order.
    pub files: Vec<ImportedFile>,
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/import",
    tag = "contracts",
    params(ImportQuery),
    request_body(content_type = "multipart/form-data", description = "One or more `file` fields (at most 50): PDF, DOCX, HTML or plain text, each checked and bounded as an attachment is. The files are received first: one that is refused refuses the whole form, and nothing is made"),
    responses(
        (status = 200, description = "A draft per file, for members and above: titled after the file, tagged `imported`, with the file attached; once a job has read the file, its body is the file's text and its counterparty the one existing account the text names", body = ImportReport),
        (status = 408, description = "The upload sent nothing for PACTUM_UPLOAD_IDLE_TIMEOUT_SECS", body = ErrorBody),
        (status = 409, description = "`file_quota_reached`: the tenant keeps as many files as its document settings allow", body = ErrorBody),
        (status = 413, description = "A file larger than PACTUM_MAX_UPLOAD_BYTES or the tenant's own max_file_bytes", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data, a type not accepted, or content not of the declared type", body = ErrorBody),
        (status = 422, description = "`malware_found` in one of the files: nothing of the form is made", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/import")]
pub async fn import_contracts(
    user: AuthUser,
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    multipart: Multipart,
) -> Result<Json<ImportReport>, ApiError> {
    // Permission and the tenant's bounds first, so nobody may make us store bytes
    // they could not import. Checks, not the request's change: an Idempotency-Key is
    // recorded with the drafts, once the form has been read.
    let bound = {
        let tx = db.without_commit_guard().begin().await?;
        Actor::resolve(&tx, &user.principal())
            .await?
            .require(Role::Member)?;
        let bound =
            crate::attachments::service::upload_bound(&tx, state.config.max_upload_bytes).await?;
        tx.commit().await?;
        bound
    };
    let folder = state.config.store.scratch(tenant.0.id);
    let mut received = Vec::new();
    let mut form = upload::Form::new(multipart);
    while let Some(file) =
        upload::receive_next(&mut form, &folder, bound, state.config.upload_idle_timeout).await?
    {
        if received.len() == MAX_FILES {
            return Err(DomainError::Validation(format!(
                "an import takes at most {MAX_FILES} files"
            ))
            .into());
        }
        crate::attachments::service::screen(
            &db,
            &user.principal(),
            &origin,
            state.config.clamd.as_ref(),
            &file,
        )
        .await?;
        received.push(file);
    }
    if received.is_empty() {
        return Err(DomainError::BadRequest("the form has no \"file\" field".into()).into());
    }
    let uploaded =
        crate::attachments::service::put_in_store(&db, &state.config.store, received).await?;
    // One transaction: every draft is made, or none is.
    let tx = db.begin().await?;
    let mut files = Vec::with_capacity(uploaded.len());
    for file in &uploaded {
        let (contract, attachment) =
            import::start(&tx, &user.principal(), &origin, file, &query.contract_type).await?;
        files.push(ImportedFile {
            filename: file.filename.clone(),
            contract_id: contract.id,
            attachment_id: attachment.id,
        });
    }
    tx.commit().await?;
    for file in uploaded {
        file.stored.keep();
    }
    Ok(Json(ImportReport { files }))
}
