//! What can be done to cases without HTTP: writes take a tenant transaction, who acts
//! and where from, and leave committing to their caller; reads take the tenant's
//! handle and the caller, and check the role in the same round trip.
//!
//! Members open cases and work those they opened or are assigned; managers work any.
//! Every change that moves a clock (priority, status) reschedules its timers
//! ([`super::sla`]).

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use super::sla;
use crate::kernel::audit;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::{lock_held, lock_row, read_as, read_one_as, require_active_user};
use crate::kernel::validate::{self, priority};
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// Which cases a list shows.
#[derive(Default)]
pub struct CaseFilter {
    pub statuses: Option<Vec<String>>,
    pub priority: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    /// Only cases that breached a clock (true) or none (false).
    pub breached: Option<bool>,
}

/// A page of cases, newest first, for anyone who may read.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &CaseFilter,
    page: &PageRequest,
) -> Result<Page<CaseView>, DomainError> {
    let mut w = Filter::new();
    w.push_some(filter.statuses.clone(), |n| format!("status = any(${n})"));
    w.push_some(filter.priority.clone(), |n| format!("priority = ${n}"));
    w.push_some(filter.assignee_id, |n| format!("assignee_id = ${n}"));
    w.push_some(filter.account_id, |n| format!("account_id = ${n}"));
    w.push_some(filter.contract_id, |n| format!("contract_id = ${n}"));
    w.push_some(filter.breached, |n| {
        format!(
            "(first_response_breached_at is not null \
             or resolution_breached_at is not null) = ${n}"
        )
    });
    w.after_newest("created_at, id", page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS} from cases{} order by created_at desc, id desc limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    let cases: Vec<CaseView> = results[0].iter().map(CaseView::from).collect();
    Ok(Page::keyset(cases, page, |c| (c.created_at, c.id)))
}

pub async fn get(db: &TenantDb, principal: &Principal, id: Uuid) -> Result<CaseView, DomainError> {
    read_one_as(
        db,
        principal,
        Role::Viewer,
        &format!("select {COLUMNS} from cases where id = $1"),
        id,
        "case",
    )
    .await
}

/// The account a new case is on: the one named, or the contract's counterparty; every
/// record named must exist.
async fn placed(
    tx: &TenantTx,
    account: Option<Uuid>,
    contract: Option<Uuid>,
    contact: Option<Uuid>,
) -> Result<Option<Uuid>, DomainError> {
    if account.is_none() && contract.is_none() {
        return Err(DomainError::invalid(
            "a case is on an account or a contract: give account_id or contract_id",
        ));
    }
    let row = tx
        .query_one(
            "select $1::uuid is null or exists(select 1 from counterparties where id = $1), \
                    $2::uuid is null or exists(select 1 from contracts where id = $2), \
                    $3::uuid is null or exists(select 1 from contacts where id = $3), \
                    (select counterparty_id from contracts where id = $2)",
            &[&account, &contract, &contact],
        )
        .await?;
    for (i, field) in ["account_id", "contract_id", "contact_id"]
        .iter()
        .enumerate()
    {
        if !row.get::<_, bool>(i) {
            return Err(DomainError::invalid(format!(
                "{field} names no such record"
            )));
        }
    }
    Ok(account.or(row.get(3)))
}

/// Opens a case (members and up): its deadlines from its priority's policy, counted
/// in business hours from now, with a timer for each. Audited; its assignee told.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewCase,
) -> Result<CaseView, DomainError> {
    let subject = validate::text("subject", &input.subject, 300)?;
    let description = validate::optional_text("description", input.description.as_deref(), 20_000)?;
    let priority = priority(input.priority.as_deref().unwrap_or("normal"))?;
    actor.require(Role::Member)?;
    require_active_user(tx, "assignee_id", input.assignee_id).await?;
    let account = placed(tx, input.account_id, input.contract_id, input.contact_id).await?;
    let now = unit::now(tx);
    let (first_response_due, resolution_due) =
        sla::deadlines(tx, &priority, now, chrono::Duration::zero()).await?;
    let row = tx
        .query_one(
            &format!(
                "insert into cases (subject, description, account_id, contract_id, contact_id, priority, \
                 assignee_id, first_response_due_at, resolution_due_at, created_by, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) returning {COLUMNS}"
            ),
            &[
                &subject, &description, &account, &input.contract_id, &input.contact_id, &priority,
                &input.assignee_id, &first_response_due, &resolution_due, &actor.user_id(), &now,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = CaseView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "case", view.id, &view).await?;
    assigned(tx, actor, origin, &view).await?;
    sla::schedule(tx, &view).await?;
    Ok(view)
}

/// Tells a new assignee (not the one assigning).
async fn assigned(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    case: &CaseView,
) -> Result<(), DomainError> {
    let about = json!({"number": case.number, "subject": case.subject, "priority": case.priority});
    audit::record_assignment(tx, actor, origin, "case", case.id, case.assignee_id, about).await
}

/// Locks a case the actor may work: who opened it, its assignee, or a manager.
async fn lock_workable(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<CaseView, DomainError> {
    lock_held(
        tx,
        actor,
        &format!("select {COLUMNS} from cases where id = $1 for update"),
        id,
        "case",
        |case: &CaseView| vec![case.created_by, case.assignee_id],
        "members work only cases they opened or are assigned",
    )
    .await
}

/// Changes a case. Moving on from `new` is its first response; `resolved` or `closed`
/// stops the resolution clock (and counts as the response if none came); reopening
/// restarts it against the same deadline; `pending` (waiting on the customer) stops
/// the clocks until the case leaves it, and the deadlines still running move later by
/// the business time it waited; a new priority moves the deadlines not yet met.
/// Audited with the changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateCase,
) -> Result<CaseView, DomainError> {
    let old = lock_workable(tx, actor, id).await?;
    let subject = match &patch.subject {
        Some(s) => validate::text("subject", s, 300)?,
        None => old.subject.clone(),
    };
    let description = match &patch.description {
        Some(d) => validate::optional_text("description", d.as_deref(), 20_000)?,
        None => old.description.clone(),
    };
    let priority = priority(patch.priority.as_deref().unwrap_or(&old.priority))?;
    let status = status(patch.status.as_deref().unwrap_or(&old.status))?;
    transition(&old.status, &status, old.first_responded_at.is_some())?;
    let contact = patch.contact_id.unwrap_or(old.contact_id);
    if contact != old.contact_id && contact.is_some() {
        placed(tx, old.account_id, old.contract_id, contact).await?;
    }
    let assignee = patch.assignee_id.unwrap_or(old.assignee_id);
    if assignee != old.assignee_id {
        require_active_user(tx, "assignee_id", assignee).await?;
    }
    let now = unit::now(tx);
    let responded = old
        .first_responded_at
        .or((status != "new" || is_done(&status)).then_some(now));
    let resolved = match (is_done(&status), old.resolved_at) {
        (true, Some(at)) => Some(at),
        (true, None) => Some(now),
        (false, _) => None,
    };
    let (mut first_due, mut resolution_due) = if priority == old.priority {
        (old.first_response_due_at, old.resolution_due_at)
    } else {
        let paused = chrono::Duration::seconds(old.sla_paused_seconds);
        let (first, resolution) = sla::deadlines(tx, &priority, old.created_at, paused).await?;
        // A clock already met or breached keeps the deadline it was judged by.
        (
            if old.first_responded_at.is_none() && old.first_response_breached_at.is_none() {
                first
            } else {
                old.first_response_due_at
            },
            if old.resolved_at.is_none() && old.resolution_breached_at.is_none() {
                resolution
            } else {
                old.resolution_due_at
            },
        )
    };
    // Waiting on the customer stops the clocks; leaving it moves the deadlines still
    // running later by the business time it waited.
    let (mut paused_at, mut paused_seconds) = (old.sla_paused_at, old.sla_paused_seconds);
    if status == "pending" && paused_at.is_none() {
        paused_at = Some(now);
    } else if status != "pending" {
        if let Some(since) = paused_at.take() {
            let running = [
                (responded.is_none() && old.first_response_breached_at.is_none())
                    .then_some(first_due),
                (resolved.is_none() && old.resolution_breached_at.is_none())
                    .then_some(resolution_due),
            ];
            let (waited, [first, resolution]) = sla::resume(tx, &priority, since, running).await?;
            paused_seconds += waited.num_seconds();
            first_due = first.unwrap_or(first_due);
            resolution_due = resolution.unwrap_or(resolution_due);
        }
    }
    let row = tx
        .query_one(
            &format!(
                "update cases set subject = $2, description = $3, contact_id = $4, priority = $5, \
                 status = $6, assignee_id = $7, first_responded_at = $8, resolved_at = $9, \
                 first_response_due_at = $10, resolution_due_at = $11, updated_at = $12, \
                 sla_paused_at = $13, sla_paused_seconds = $14 \
                 where id = $1 returning {COLUMNS}"
            ),
            &[
                &id,
                &subject,
                &description,
                &contact,
                &priority,
                &status,
                &assignee,
                &responded,
                &resolved,
                &first_due,
                &resolution_due,
                &now,
                &paused_at,
                &paused_seconds,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let new = CaseView::from(&row);
    audit::record_update(tx, actor, origin, "case", id, &old, &new).await?;
    if new.assignee_id != old.assignee_id && new.is_active() {
        assigned(tx, actor, origin, &new).await?;
    }
    sla::schedule(tx, &new).await?;
    Ok(new)
}

/// Deletes a case (managers). Audited; its comments, files, tasks and activities go
/// with it (their areas answer the `case.deleted` event).
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Manager)?;
    let old: CaseView = lock_row(
        tx,
        &format!("select {COLUMNS} from cases where id = $1 for update"),
        id,
        "case",
    )
    .await?;
    tx.execute("delete from cases where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    sla::cancel(tx, id).await?;
    audit::record_whole(tx, actor, origin, "delete", "case", id, &old).await
}
