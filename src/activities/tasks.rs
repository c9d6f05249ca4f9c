//! Tasks without HTTP: writes take a tenant transaction, who acts and where from, and
//! leave committing to their caller; reads take the tenant's handle and the caller.
//!
//! Any member may put a task on any record they can read; its creator, its assignee and
//! managers change it; its creator and managers delete it. Every change reschedules its
//! timers ([`super::reminders`]).

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;
use uuid::Uuid;

use super::model::*;
use super::reminders;
use crate::attachments::originals;
use crate::kernel::audit;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::{lock_held, read_as, read_one_as, require_active_user};
use crate::kernel::target::Target;
use crate::kernel::validate::{self, priority};
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Role};
use crate::notifications::reminders::zone_and_defaults;
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// Which tasks a list shows.
#[derive(Default)]
pub struct TaskFilter {
    /// Only those on this record (kind name, id).
    pub target: Option<(String, Uuid)>,
    pub assignee_id: Option<Uuid>,
    /// Only these statuses.
    pub statuses: Option<Vec<String>>,
    /// Only those due before this instant.
    pub due_before: Option<DateTime<Utc>>,
}

/// A page of tasks, soonest due first (undated last), for anyone who may read.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &TaskFilter,
    page: &PageRequest,
) -> Result<Page<TaskView>, DomainError> {
    let (after_due, after_id) = page
        .after::<(Option<DateTime<Utc>>, Uuid)>()?
        .map_or((None, None), |(due, id)| (due, Some(id)));
    let mut w = Filter::new();
    if let Some((kind, target)) = filter.target.clone() {
        let (kind, target) = (w.bind(kind), w.bind(target));
        w.require(format!("target_kind = ${kind} and target_id = ${target}"));
    }
    w.push_some(filter.assignee_id, |n| format!("assignee_id = ${n}"));
    w.push_some(filter.statuses.clone(), |n| format!("status = any(${n})"));
    w.push_some(filter.due_before, |n| format!("due_at < ${n}"));
    // Undated tasks sort last, as if due at infinity: a cursor on one holds no date.
    let (due, id) = (w.bind(after_due), w.bind(after_id));
    w.require(format!(
        "(coalesce(due_at, 'infinity'::timestamptz), id) > \
         (coalesce(${due}::timestamptz, \
                   case when ${id}::uuid is null then '-infinity' else 'infinity' end::timestamptz), \
          coalesce(${id}::uuid, '00000000-0000-0000-0000-000000000000'))"
    ));
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {TASK_COLUMNS} from tasks{} \
         order by coalesce(due_at, 'infinity'::timestamptz), id limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    let tasks: Vec<TaskView> = results[0].iter().map(TaskView::from).collect();
    let tasks = originals::mask_read(db, principal, tasks).await?;
    Ok(Page::keyset(tasks, page, |t| (t.due_at, t.id)))
}

/// One task, for anyone who may read; masked as its contract's redacted copy is for a
/// reader the copy stands in for.
pub async fn get(db: &TenantDb, principal: &Principal, id: Uuid) -> Result<TaskView, DomainError> {
    let task = read_one_as(
        db,
        principal,
        Role::Viewer,
        &format!("select {TASK_COLUMNS} from tasks where id = $1"),
        id,
        "task",
    )
    .await?;
    let mut masked = originals::mask_read(db, principal, vec![task]).await?;
    Ok(masked.pop().expect("one task in, one out"))
}

/// Stored instants are microseconds: timers find their task by the stored value.
fn micros(at: Option<validate::Timestamp>) -> Option<DateTime<Utc>> {
    at.map(|at| at.0.trunc_subsecs(6))
}

/// The columns a new task is written with, a creation's and a next occurrence's.
const INSERT_INTO_TASKS: &str = "insert into tasks (target_kind, target_id, title, notes, \
     assignee_id, due_at, remind_at, priority, created_by, created_at, updated_at, repeat_every, \
     repeat_unit, repeat_until, repeat_anchor)";

/// Puts a task on `target` (members and up), assigned to its creator unless another
/// active user is named; audited, the assignee told, its timers set.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    target: Target,
    input: NewTask,
) -> Result<TaskView, DomainError> {
    let title = validate::text("title", &input.title, 300)?;
    let notes = validate::optional_text("notes", input.notes.as_deref(), 10_000)?;
    let priority = priority(input.priority.as_deref().unwrap_or("normal"))?;
    let (due_at, remind_at) = (micros(input.due_at), micros(input.remind_at));
    reminder(remind_at, due_at)?;
    if let Some(repeat) = &input.repeat {
        repeat.check(due_at)?;
    }
    let repeat = input.repeat.as_ref();
    actor.require(Role::Member)?;
    let assignee = input.assignee_id.or(actor.user_id());
    require_active_user(tx, "assignee_id", assignee).await?;
    tx.query_opt(&target.exists_sql(), &[&target.id])
        .await?
        .ok_or(DomainError::Missing(target.kind.name))?;
    let now = unit::now(tx);
    let row = tx
        .query_one(
            &format!(
                "{INSERT_INTO_TASKS} \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14) \
                 returning {TASK_COLUMNS}"
            ),
            &[
                &target.kind.name,
                &target.id,
                &title,
                &notes,
                &assignee,
                &due_at,
                &remind_at,
                &priority,
                &actor.user_id(),
                &now,
                &repeat.map(|r| r.every),
                &repeat.map(|r| r.unit.as_str()),
                &repeat.and_then(|r| r.until.map(|u| u.0)),
                &repeat.and(due_at),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = TaskView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "task", view.id, &view).await?;
    assigned(tx, actor, origin, &view).await?;
    reminders::schedule(tx, &view).await?;
    originals::mask_written(tx, actor, view).await
}

/// Tells a new assignee (not the one assigning).
async fn assigned(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    task: &TaskView,
) -> Result<(), DomainError> {
    let about = json!({"title": task.title, "target_kind": task.target_kind,
        "target_id": task.target_id, "due_at": task.due_at});
    audit::record_assignment(tx, actor, origin, "task", task.id, task.assignee_id, about).await
}

/// Locks a task the actor may change: its creator, its assignee, or a manager.
async fn lock_editable(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<TaskView, DomainError> {
    lock_held(
        tx,
        actor,
        &format!("select {TASK_COLUMNS} from tasks where id = $1 for update"),
        id,
        "task",
        |task: &TaskView| vec![task.created_by, task.assignee_id],
        "members change only tasks they created or are assigned",
    )
    .await
}

/// Changes a task: its creator, its assignee, or a manager. Audited with the changed
/// fields; a new assignee is told; its timers follow the new times and status. A
/// repeating task marked done makes its next occurrence (`make_next`), once.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    patch: UpdateTask,
) -> Result<TaskView, DomainError> {
    let old = lock_editable(tx, actor, id).await?;
    let title = match &patch.title {
        Some(t) => validate::text("title", t, 300)?,
        None => old.title.clone(),
    };
    let notes = match &patch.notes {
        Some(n) => validate::optional_text("notes", n.as_deref(), 10_000)?,
        None => old.notes.clone(),
    };
    let priority = priority(patch.priority.as_deref().unwrap_or(&old.priority))?;
    let status = status(patch.status.as_deref().unwrap_or(&old.status))?;
    let due_at = match patch.due_at {
        Some(due) => micros(due),
        None => old.due_at,
    };
    let remind_at = match patch.remind_at {
        Some(remind) => micros(remind),
        None => old.remind_at,
    };
    reminder(remind_at, due_at)?;
    let repeat = match &patch.repeat {
        Some(repeat) => repeat.clone(),
        None => old.repeat.clone(),
    };
    if let Some(repeat) = &repeat {
        repeat.check(due_at)?;
    }
    // A new rule, or a new due date, starts the series' count again from the due date.
    let anchor = match (&repeat, old.repeat_anchor) {
        (None, _) => None,
        (Some(_), Some(anchor)) if repeat == old.repeat && due_at == old.due_at => Some(anchor),
        (Some(_), _) => due_at,
    };
    let assignee = patch.assignee_id.unwrap_or(old.assignee_id);
    if assignee != old.assignee_id {
        require_active_user(tx, "assignee_id", assignee).await?;
    }
    let now = unit::now(tx);
    let completed_at = match (status.as_str(), old.completed_at) {
        ("done", Some(at)) => Some(at),
        ("done", None) => Some(now),
        _ => None,
    };
    let row = tx
        .query_one(
            &format!(
                "update tasks set title = $2, notes = $3, assignee_id = $4, due_at = $5, remind_at = $6, \
                 priority = $7, status = $8, completed_at = $9, updated_at = $10, repeat_every = $11, \
                 repeat_unit = $12, repeat_until = $13, repeat_anchor = $14 \
                 where id = $1 returning {TASK_COLUMNS}"
            ),
            &[
                &id, &title, &notes, &assignee, &due_at, &remind_at, &priority, &status,
                &completed_at, &now, &repeat.as_ref().map(|r| r.every),
                &repeat.as_ref().map(|r| r.unit.as_str()),
                &repeat.as_ref().and_then(|r| r.until.map(|u| u.0)), &anchor,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let mut new = TaskView::from(&row);
    if new.status == "done" && old.is_active() && new.next_task_id.is_none() {
        if let Some(next) = make_next(tx, actor, origin, &new, now).await? {
            tx.execute(
                "update tasks set next_id = $2 where id = $1",
                &[&id, &next.id],
            )
            .await
            .map_err(DomainError::write)?;
            new.next_task_id = Some(next.id);
        }
    }
    audit::record_update(tx, actor, origin, "task", id, &old, &new).await?;
    if new.assignee_id != old.assignee_id && new.is_active() {
        assigned(tx, actor, origin, &new).await?;
    }
    if (new.due_at, new.remind_at, new.is_active()) != (old.due_at, old.remind_at, old.is_active())
    {
        reminders::schedule(tx, &new).await?;
    }
    originals::mask_written(tx, actor, new).await
}

/// The occurrence after `done`, a repeating task just marked done: due at its series'
/// first step after both its due date and `now` (so one done late skips what it
/// missed), reminded as long before as it was, with the same title, notes, priority,
/// rule and creator, assigned to the same person while they are active (else to
/// nobody, so its creator hears). Audited as a creation by the actor, its assignee
/// told, its timers set. `None` when the series has ended (`until`).
async fn make_next(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    done: &TaskView,
    now: DateTime<Utc>,
) -> Result<Option<TaskView>, DomainError> {
    let (Some(repeat), Some(anchor), Some(due)) = (&done.repeat, done.repeat_anchor, done.due_at)
    else {
        return Ok(None);
    };
    let (zone, _) = zone_and_defaults(tx).await?;
    let Some(next_due) = repeat.next_due(zone, anchor, due, now) else {
        return Ok(None);
    };
    let next_remind = done.remind_at.map(|remind| next_due - (due - remind));
    let row = tx
        .query_one(
            &format!(
                "{INSERT_INTO_TASKS} \
                 select t.target_kind, t.target_id, t.title, t.notes, u.id, $2, $3, t.priority, \
                        t.created_by, $4, $4, t.repeat_every, t.repeat_unit, t.repeat_until, t.repeat_anchor \
                 from tasks t left join users u on u.id = t.assignee_id and u.active \
                 where t.id = $1 returning {TASK_COLUMNS}"
            ),
            &[&done.id, &next_due, &next_remind, &now],
        )
        .await
        .map_err(DomainError::write)?;
    let next = TaskView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "task", next.id, &next).await?;
    assigned(tx, actor, origin, &next).await?;
    reminders::schedule(tx, &next).await?;
    Ok(Some(next))
}

/// Deletes a task: its creator or a manager. Audited; its timers cancelled.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    let task = lock_editable(tx, actor, id).await?;
    if !actor.may_edit(task.created_by) {
        return Err(DomainError::Forbidden(
            "only its creator or a manager deletes a task".into(),
        ));
    }
    tx.execute("delete from tasks where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    reminders::cancel(tx, &[id]).await?;
    audit::record_whole(tx, actor, origin, "delete", "task", id, &task).await
}
