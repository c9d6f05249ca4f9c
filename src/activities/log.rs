//! The activity log without HTTP: calls, meetings, emails and notes recorded on a
//! record. Any member logs on any record they can read; its author or a manager deletes
//! an entry. Entries are not edited: a log says what happened.

use chrono::SubsecRound;
use uuid::Uuid;

use super::model::*;
use crate::attachments::originals;
use crate::kernel::audit;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::{lock_row, read_one_as};
use crate::kernel::target::{rows_on, Target};
use crate::kernel::validate;
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// The most contacts one entry names.
pub const MAX_CONTACTS: usize = 20;

/// A page of what was logged on `target`, latest first, for anyone who may read it.
pub async fn list_on(
    db: &TenantDb,
    principal: &Principal,
    target: Target,
    kind: Option<&str>,
    page: &PageRequest,
) -> Result<Page<ActivityView>, DomainError> {
    if let Some(kind) = kind {
        activity_kind(kind)?;
    }
    let mut w = Filter::new();
    // `rows_on` binds the target itself, as the first two parameters.
    let (id, kind_name) = (w.bind(target.id), w.bind(target.kind.name));
    w.require(format!("target_id = ${id} and target_kind = ${kind_name}"));
    w.push_some(kind.map(str::to_owned), |n| format!("kind = ${n}"));
    w.after_newest("occurred_at, id", page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {ACTIVITY_COLUMNS} from activities{} \
         order by occurred_at desc, id desc limit ${limit}",
        w.where_clause()
    );
    let rows = rows_on(db, principal, target, &sql, &w.params()[2..]).await?;
    let entries: Vec<ActivityView> = rows.iter().map(ActivityView::from).collect();
    let entries = originals::mask_read(db, principal, entries).await?;
    Ok(Page::keyset(entries, page, |a| (a.occurred_at, a.id)))
}

/// One entry, for anyone who may read; masked as its contract's redacted copy is for a
/// reader the copy stands in for.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<ActivityView, DomainError> {
    let entry = read_one_as(
        db,
        principal,
        Role::Viewer,
        &format!("select {ACTIVITY_COLUMNS} from activities where id = $1"),
        id,
        "activity",
    )
    .await?;
    let mut masked = originals::mask_read(db, principal, vec![entry]).await?;
    Ok(masked.pop().expect("one entry in, one out"))
}

/// Logs a call, meeting, email or note on `target` (members and up). Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    target: Target,
    input: NewActivity,
) -> Result<ActivityView, DomainError> {
    let kind = activity_kind(&input.kind)?;
    let subject = validate::text("subject", &input.subject, 300)?;
    let body = validate::optional_text("body", input.body.as_deref(), 20_000)?;
    let duration = duration(input.duration_minutes)?;
    let contacts = validate::distinct_ids(&input.contact_ids, MAX_CONTACTS, "contact_ids")?;
    actor.require(Role::Member)?;
    let now = unit::now(tx);
    let occurred_at = input.occurred_at.map_or(now, |at| at.0).trunc_subsecs(6);
    let row = tx
        .query_opt(
            // The record and every contact named must exist: a row only when they do.
            &format!(
                "insert into activities (target_kind, target_id, kind, subject, body, occurred_at, \
                 duration_minutes, contact_ids, author_id, created_at) \
                 select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
                 where exists({}) and (select count(*) from contacts where id = any($8)) = cardinality($8) \
                 returning {ACTIVITY_COLUMNS}",
                target.exists_sql().replace("$1", "$2")
            ),
            &[
                &target.kind.name, &target.id, &kind, &subject, &body, &occurred_at, &duration,
                &contacts, &actor.user_id(), &now,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let Some(row) = row else {
        let exists = tx.query_opt(&target.exists_sql(), &[&target.id]).await?;
        return Err(match exists {
            None => DomainError::Missing(target.kind.name),
            Some(_) => DomainError::invalid("contact_ids: each must name a contact"),
        });
    };
    let view = ActivityView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "activity", view.id, &view).await?;
    originals::mask_written(tx, actor, view).await
}

/// Deletes an entry: its author or a manager. Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Member)?;
    let old: ActivityView = lock_row(
        tx,
        &format!("select {ACTIVITY_COLUMNS} from activities where id = $1 for update"),
        id,
        "activity",
    )
    .await?;
    if !actor.may_edit(old.author_id) {
        return Err(DomainError::Forbidden(
            "only its author or a manager deletes a logged activity".into(),
        ));
    }
    tx.execute("delete from activities where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    audit::record_whole(tx, actor, origin, "delete", "activity", id, &old).await
}
