//! What can be done with attachments, without HTTP: list the files of a record, store
//! a received file as one, delete one or all of a record's. The caller commits, and
//! removes a deleted file's bytes once committed; a job enqueued with the delete removes
//! them too, so a process that dies in between leaves no orphan.

use std::path::Path;

use serde_json::json;
use uuid::Uuid;

use super::model::{AttachmentView, UpdateAttachment, COLUMNS};
use super::originals;
use super::upload::Received;
use crate::kernel::audit::{self, Entry};
use crate::kernel::language::TextLanguage;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::storage::{Store, StoredName};
use crate::kernel::target::{rows_on, Target, TargetKinds};
use crate::kernel::{Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};
use crate::tenancy::TenantId;

/// A page of the files attached to `target`, oldest first; on a contract whose redacted
/// copy stands in for its original for this reader, their names masked as the copy was.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    target: Target,
    page: &PageRequest,
) -> Result<Page<AttachmentView>, DomainError> {
    let (after_at, after_id) = page
        .after::<(chrono::DateTime<chrono::Utc>, Uuid)>()?
        .unzip();
    let sql = format!(
        "select {COLUMNS} from attachments where target_id = $1 and target_kind = $2 \
         and (created_at, id) > (coalesce($4::timestamptz, '-infinity'), coalesce($5::uuid, '00000000-0000-0000-0000-000000000000')) \
         order by created_at, id limit $3"
    );
    let rows = rows_on(
        db,
        principal,
        target,
        &sql,
        &[&page.fetch(), &after_at, &after_id],
    )
    .await?;
    let files: Vec<AttachmentView> = rows.iter().map(AttachmentView::from).collect();
    let files = originals::mask_read(db, principal, files).await?;
    Ok(Page::keyset(files, page, |a| (a.created_at, a.id)))
}

/// Checks that `actor` may attach files to `target` (its owner, or a manager), without
/// keeping anything locked: done before the bytes are received, so nobody makes us
/// store bytes they could not attach.
pub async fn may_attach(tx: &TenantTx, actor: &Actor, target: Target) -> Result<(), DomainError> {
    actor.require(Role::Member)?;
    target.lock_editable(tx, actor).await
}

/// Refuses a received file that clamd finds malware in (422 `malware_found`, the
/// refusal audited) or cannot give a verdict on (503); with no clamd configured,
/// passes. The caller drops the refused file, so nothing of it is kept.
pub async fn screen(
    db: &TenantDb,
    principal: &Principal,
    origin: &Origin,
    clamd: Option<&super::scan::Clamd>,
    received: &Received,
) -> Result<(), DomainError> {
    use super::scan::{scan, Verdict};
    let Some(clamd) = clamd else {
        return Ok(());
    };
    match scan(clamd, &received.file.path).await {
        Verdict::Clean => Ok(()),
        Verdict::Unknown(reason) => {
            tracing::warn!(reason, "an upload could not be scanned; refused");
            Err(DomainError::Unavailable(anyhow::anyhow!(
                "the malware scanner gave no verdict: {reason}"
            )))
        }
        Verdict::Infected(signature) => {
            // The refusal is recorded whatever the request carries: it may come while
            // a form is still arriving, before an Idempotency-Key could be recorded,
            // and a retry is refused (and recorded) again.
            let db = db.without_commit_guard();
            crate::kernel::reads::as_actor(&db, principal, async |tx, actor| {
                audit::record(
                    tx,
                    actor,
                    origin,
                    Entry {
                        action: "malware_refused",
                        entity: "attachment",
                        entity_id: None,
                        changes: json!({
                            "filename": received.filename, "sha256": received.sha256,
                            "size_bytes": received.size, "signature": signature,
                        }),
                    },
                )
                .await
            })
            .await?;
            Err(DomainError::refused(
                crate::kernel::Refusal::Unprocessable,
                "malware_found",
                format!(
                    "{} holds malware ({signature}); it was not stored",
                    received.filename
                ),
                json!({"signature": signature}),
            ))
        }
    }
}

/// The largest file the tenant may upload now, in bytes: the server's bound, or the
/// tenant's own if lower. Refused (409 `file_quota_reached`) when the tenant already
/// keeps as many files as its setting allows, before any byte is received.
pub async fn upload_bound(tx: &TenantTx, server_bound: u64) -> Result<u64, DomainError> {
    let settings = super::settings::current(tx).await?;
    within_quota(tx, settings.max_files).await?;
    Ok(settings
        .max_file_bytes
        .map_or(server_bound, |own| server_bound.min(own as u64)))
}

async fn within_quota(tx: &TenantTx, max_files: Option<i32>) -> Result<(), DomainError> {
    let Some(max) = max_files else {
        return Ok(());
    };
    let kept: i64 = tx
        .query_one("select count(*) from attachments", &[])
        .await?
        .get(0);
    if kept >= i64::from(max) {
        return Err(DomainError::Conflict(
            "file_quota_reached",
            format!("this organisation keeps at most {max} files: delete some, or an admin raises max_files"),
        ));
    }
    Ok(())
}

/// A file put in the store for a row not yet committed: removed again unless `keep` is
/// called once the transaction has committed.
pub struct StoredFile {
    store: Store,
    tenant: TenantId,
    attachment: Uuid,
    kept: bool,
}

impl StoredFile {
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for StoredFile {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let name = StoredName::original(self.attachment);
        match self.store.local_path(self.tenant, &name) {
            Some(path) => {
                let _ = std::fs::remove_file(path);
            }
            // A bucket is reached asynchronously: the removal runs on its own.
            None => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let (store, tenant) = (self.store.clone(), self.tenant);
                    runtime.spawn(async move {
                        if let Err(e) = store.remove(tenant, &[name]).await {
                            tracing::warn!(error = %e, "an uncommitted upload was not removed from the bucket");
                        }
                    });
                }
            }
        }
    }
}

/// A received file in the store under the id its record will have, not yet recorded.
pub struct Uploaded {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Removes the file again unless kept once its record has committed.
    pub stored: StoredFile,
}

/// Puts `received` files in the store, each under a new id, with no transaction open
/// while they go up: a bucket that is slow or down then holds neither a pooled
/// connection nor the tenant's quota lock, only this request. Their removal is enqueued
/// first ([`super::removal::reserve`]), so a process that stops before recording them
/// leaves nothing behind; [`record`] cancels it. A file that fails to go up is removed
/// with those before it.
pub async fn put_in_store(
    db: &TenantDb,
    store: &Store,
    received: Vec<Received>,
) -> Result<Vec<Uploaded>, DomainError> {
    let ids: Vec<Uuid> = received.iter().map(|_| Uuid::new_v4()).collect();
    // Not the request's change: an Idempotency-Key is recorded with the record, and a
    // reservation whose record never comes is undone by its job, not by a retry.
    let tx = db.without_commit_guard().begin().await?;
    super::removal::reserve(&tx, &ids).await?;
    tx.commit().await?;
    let tenant = db.tenant_id();
    let mut uploaded = Vec::with_capacity(received.len());
    for (id, file) in ids.into_iter().zip(received) {
        store
            .put(tenant, &StoredName::original(id), &file.file.path)
            .await
            .map_err(|e| DomainError::Unavailable(anyhow::anyhow!("storing an upload: {e}")))?;
        file.file.keep();
        uploaded.push(Uploaded {
            id,
            filename: file.filename,
            content_type: file.content_type,
            size: file.size,
            sha256: file.sha256,
            stored: StoredFile {
                store: store.clone(),
                tenant,
                attachment: id,
                kept: false,
            },
        });
    }
    Ok(uploaded)
}

/// Records a file [`put_in_store`] put there as attached to `target`, checking the
/// permission again (the record or the caller may have changed while the bytes came
/// in) and the tenant's quota under its lock. Audited. Should the transaction not
/// commit, the caller drops the file's guard and the file goes with it.
pub async fn record(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    target: Target,
    file: &Uploaded,
) -> Result<AttachmentView, DomainError> {
    may_attach(tx, actor, target).await?;
    // The settings row locked, so that uploads racing for the last place under the
    // tenant's quota take it one at a time; the bound on size was the receiver's.
    let max_files: Option<i32> = tx
        .query_opt("select max_files from document_settings for update", &[])
        .await?
        .and_then(|row| row.get(0));
    within_quota(tx, max_files).await?;
    super::removal::claim(tx, file.id).await?;
    let row = tx
        .query_one(
            &format!(
                "insert into attachments \
                 (id, target_kind, target_id, filename, content_type, size_bytes, sha256, uploaded_by) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
            ),
            &[
                &file.id,
                &target.kind.name,
                &target.id,
                &file.filename,
                &file.content_type,
                &(file.size as i64),
                &file.sha256,
                &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = AttachmentView::from(&row);
    super::reading::schedule(tx, view.id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "attachment",
            entity_id: Some(view.id),
            changes: json!({
                "target_kind": view.target_kind, "target_id": view.target_id,
                "filename": view.filename, "content_type": view.content_type,
                "size_bytes": view.size_bytes, "sha256": view.sha256,
            }),
        },
    )
    .await?;
    originals::mask_written(tx, actor, view).await
}

/// The record `attachment` hangs off, read without a lock: a change to a file locks
/// that record first and the file second, the order in which deleting the record takes
/// them, so the two wait for each other instead of deadlocking.
async fn target_of(
    tx: &TenantTx,
    attachment: Uuid,
    kinds: &TargetKinds,
) -> Result<Target, DomainError> {
    let row = tx
        .query_opt(
            "select target_kind, target_id from attachments where id = $1",
            &[&attachment],
        )
        .await?
        .ok_or(DomainError::Missing("attachment"))?;
    Ok(Target::new(kinds.find(row.get(0))?, row.get(1)))
}

/// Deletes an attachment's record: members only from records they own, managers any.
/// Audited. Returns it, so that the caller removes the file once committed.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    kinds: &TargetKinds,
) -> Result<AttachmentView, DomainError> {
    actor.require(Role::Member)?;
    let target = target_of(tx, id, kinds).await?;
    // The record may be gone already; then only managers may clean up.
    let owner = match target.lock_owner(tx).await {
        Ok(owner) => owner,
        Err(DomainError::Missing(_)) => None,
        Err(other) => return Err(other),
    };
    if !actor.may_edit(owner) {
        return Err(DomainError::Forbidden(format!(
            "members delete files only from a {} they own",
            target.kind.name
        )));
    }
    let row = tx
        .query_opt(
            &format!("delete from attachments where id = $1 returning {COLUMNS}"),
            &[&id],
        )
        .await
        .map_err(DomainError::write)?
        .ok_or(DomainError::Missing("attachment"))?;
    let view = AttachmentView::from(&row);
    super::removal::schedule(tx, vec![view.id]).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "attachment",
            entity_id: Some(view.id),
            changes: json!({
                "target_kind": view.target_kind, "target_id": view.target_id,
                "filename": view.filename,
            }),
        },
    )
    .await?;
    Ok(view)
}

/// Changes a file's record (members only on records they own, managers any): the
/// language its text is stemmed in. A set language re-stems every page read so far,
/// and the pages read or recognised later are stemmed in it; cleared, each page is
/// stemmed in the language its own words tell. Audited when it changes.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateAttachment,
    kinds: &TargetKinds,
) -> Result<AttachmentView, DomainError> {
    actor.require(Role::Member)?;
    target_of(tx, id, kinds)
        .await?
        .lock_editable(tx, actor)
        .await?;
    let old = tx
        .query_opt(
            &format!("select {COLUMNS} from attachments where id = $1 for no key update"),
            &[&id],
        )
        .await?
        .map(|row| AttachmentView::from(&row))
        .ok_or(DomainError::Missing("attachment"))?;
    let Some(language) = patch.text_language else {
        return Ok(old);
    };
    if language == old.text_language {
        return Ok(old);
    }
    let row = tx
        .query_one(
            &format!(
                "update attachments set text_language_set = $2 where id = $1 returning {COLUMNS}"
            ),
            &[&id, &language.map(TextLanguage::config)],
        )
        .await
        .map_err(DomainError::write)?;
    let view = AttachmentView::from(&row);
    super::language::restem(tx, id, language).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "attachment",
            entity_id: Some(id),
            changes: json!({"text_language": {"old": old.text_language, "new": language}}),
        },
    )
    .await?;
    originals::mask_written(tx, actor, view).await
}

/// Removes the records of every file attached to `target`, for the area that deletes
/// the record itself; returns their ids, whose files the caller removes once committed.
pub async fn delete_all_on(tx: &TenantTx, target: Target) -> Result<Vec<Uuid>, DomainError> {
    delete_all_on_named(tx, target.kind.name, target.id).await
}

async fn delete_all_on_named(
    tx: &TenantTx,
    kind: &str,
    id: Uuid,
) -> Result<Vec<Uuid>, DomainError> {
    let ids: Vec<Uuid> = tx
        .query(
            "delete from attachments where target_kind = $1 and target_id = $2 returning id",
            &[&kind, &id],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    super::removal::schedule(tx, ids.clone()).await?;
    Ok(ids)
}

/// A record was deleted (its `<kind>.deleted` event): the records of its files go with
/// it, in the deleting transaction, and a job removes the files once it commits.
pub fn forget_target<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a crate::kernel::unit::Recorded<'a>,
) -> crate::kernel::unit::ReactionFuture<'a> {
    Box::pin(async move {
        if let (Some(kind), Some(id)) = (
            crate::kernel::target::deleted_kind(event.event_type),
            event.entity_id,
        ) {
            delete_all_on_named(tx, kind, id).await?;
        }
        Ok(())
    })
}

/// Whether the file at `path` still has the SHA-256 recorded at its upload. A file
/// changed or damaged on disk is not served as if it were the one uploaded.
pub async fn intact(path: &Path, sha256: &str) -> Result<bool, DomainError> {
    super::files::sha256_of(path)
        .await
        .map(|actual| actual == sha256)
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("reading an attachment: {e}")))
}
