//! Attaching an uploaded file to a record, whole: what every "attach a file" route
//! does, over [`super::upload`] (receiving the bytes) and [`super::service`] (checking
//! and storing them).

use actix_multipart::Multipart;

use super::{service, upload, AttachmentView};
use crate::kernel::target::Target;
use crate::kernel::{Actor, DomainError};
use crate::tenancy::TenantId;
use crate::web::error::ApiError;
use crate::web::origin::RequestOrigin;
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

/// An upload to `target`, whole: permission and the tenant's bounds checked before any
/// byte is received (so nobody makes us store bytes they could not attach), the file
/// received, screened by ClamAV when configured, put in the store with no transaction
/// open, then recorded. What every "attach a file to a record" route does.
pub async fn attach(
    user: &AuthUser,
    tenant: TenantId,
    state: &AppState,
    db: &RequestDb,
    origin: &RequestOrigin,
    target: Target,
    multipart: Multipart,
) -> Result<AttachmentView, ApiError> {
    // Checks, not the request's change (they may lock the record they read): an
    // Idempotency-Key is recorded with the file's record, once the form has been read.
    let bound = {
        let tx = db.without_commit_guard().begin().await?;
        let actor = Actor::resolve(&tx, &user.principal()).await?;
        service::may_attach(&tx, &actor, target).await?;
        let bound = service::upload_bound(&tx, state.config.max_upload_bytes).await?;
        tx.commit().await?;
        bound
    };
    let folder = state.config.store.scratch(tenant);
    let received =
        upload::receive(multipart, &folder, bound, state.config.upload_idle_timeout).await?;
    service::screen(
        db,
        &user.principal(),
        origin,
        state.config.clamd.as_ref(),
        &received,
    )
    .await?;
    let file = service::put_in_store(db, &state.config.store, vec![received])
        .await?
        .pop()
        .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("an upload put nowhere")))?;
    let tx = db.begin().await?;
    let actor = Actor::resolve(&tx, &user.principal()).await?;
    let view = service::record(&tx, &actor, origin, target, &file).await?;
    tx.commit().await?;
    file.stored.keep();
    Ok(view)
}
