//! What can be done with comments, without HTTP: each function takes the tenant's
//! database or a transaction, who acts and where from; the caller commits.

use serde_json::json;
use uuid::Uuid;

use super::model::{
    mentioned_emails, CommentView, NewComment, COLUMNS, MAX_COMMENT_CHARS, MAX_MENTIONS,
};
use crate::attachments::originals;
use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::target::{deleted_kind, rows_on, Target};
use crate::kernel::unit::{ReactionFuture, Recorded};
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// A page of the comments on `target`, oldest first, for anyone who may read it; on a
/// contract whose redacted copy stands in for its original for this reader, each with
/// what the copy removed masked.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    target: Target,
    page: &PageRequest,
) -> Result<Page<CommentView>, DomainError> {
    let (after_at, after_id) = page
        .after::<(chrono::DateTime<chrono::Utc>, Uuid)>()?
        .unzip();
    let sql = format!(
        "select {COLUMNS} from comments where target_id = $1 and target_kind = $2 \
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
    let comments: Vec<CommentView> = rows.iter().map(CommentView::from).collect();
    let comments = originals::mask_read(db, principal, comments).await?;
    Ok(Page::keyset(comments, page, |c| (c.created_at, c.id)))
}

/// Posts a comment on `target` (members and up), with its mentions resolved to the
/// tenant's active users, and audits it.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    target: Target,
    input: NewComment,
) -> Result<CommentView, DomainError> {
    actor.require(Role::Member)?;
    let text = validate::text("body", &input.body, MAX_COMMENT_CHARS)?;
    let mut emails = mentioned_emails(&text);
    emails.truncate(MAX_MENTIONS);
    tx.query_opt(&target.exists_sql(), &[&target.id])
        .await?
        .ok_or(DomainError::Missing(target.kind.name))?;
    let mentions: Vec<Uuid> = tx
        .query(
            "select id from users where lower(email) = any($1) and active order by id",
            &[&emails],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let row = tx
        .query_one(
            &format!(
                "insert into comments (target_kind, target_id, author_id, body, mentions) \
                 values ($1, $2, $3, $4, $5) returning {COLUMNS}"
            ),
            &[
                &target.kind.name,
                &target.id,
                &actor.user_id(),
                &text,
                &mentions,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = CommentView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "comment",
            entity_id: Some(view.id),
            changes: json!({
                "target_kind": view.target_kind,
                "target_id": view.target_id,
                "mentions": view.mentions,
            }),
        },
    )
    .await?;
    originals::mask_written(tx, actor, view).await
}

/// Deletes a comment: its author, or a manager. Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Member)?;
    let row = tx
        .query_opt(
            "select author_id, target_kind, target_id from comments where id = $1 for update",
            &[&id],
        )
        .await?
        .ok_or(DomainError::Missing("comment"))?;
    let (author, kind, target_id): (Option<Uuid>, String, Uuid) =
        (row.get(0), row.get(1), row.get(2));
    if !actor.may_edit(author) {
        return Err(DomainError::Forbidden(
            "only its author or a manager deletes a comment".into(),
        ));
    }
    tx.execute("delete from comments where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "comment",
            entity_id: Some(id),
            changes: json!({"target_kind": kind, "target_id": target_id}),
        },
    )
    .await
}

/// Removes every comment on `target`, for the area that deletes the record itself
/// (in the same transaction, so both go or neither does).
pub async fn delete_all_on(tx: &TenantTx, target: Target) -> Result<u64, DomainError> {
    delete_all_on_named(tx, target.kind.name, target.id).await
}

async fn delete_all_on_named(tx: &TenantTx, kind: &str, id: Uuid) -> Result<u64, DomainError> {
    Ok(tx
        .execute(
            "delete from comments where target_kind = $1 and target_id = $2",
            &[&kind, &id],
        )
        .await?)
}

/// A record was deleted (its `<kind>.deleted` event): its comments go with it, in the
/// deleting transaction.
pub fn forget_target<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        if let (Some(kind), Some(id)) = (deleted_kind(event.event_type), event.entity_id) {
            delete_all_on_named(tx, kind, id).await?;
        }
        Ok(())
    })
}
