//! Obligations with a date become tasks. Every new text of a contract (its body, a file
//! read, its start date) enqueues [`TrackObligations`], which reads the obligations
//! ([`super::obligations`], rules, no model) and keeps one task per obligation whose
//! sentence states a date ("by March 1, 2027") or a period from the effective date
//! ("within 30 days of the Effective Date", once the contract has a start date). A task
//! is assigned to the contract's owner; its assignee closes it (`done`, `dismissed`);
//! whoever may change the contract may also assign it or move its date. A task the new
//! text no longer states is `superseded`; one a person closed is never reopened by a
//! job. Each open task is reminded by timers ([`remind`]) that record `obligation.due`
//! for the notifier.

mod dated;
mod model;
pub mod remind;

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

pub use self::dated::{dated, Dated, Found, Occurrence, Span};
use self::model::COLUMNS;
pub use self::model::{ContractTaskQuery, TaskQuery, TaskView, UpdateTask};
use super::indexing::{lock_unchanged, read_text, texts, FileText};
use crate::attachments::originals::{self, Reader};
use crate::contracts::service as contracts;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{cancel_pending, enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::read_as;
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const TRACK_OBLIGATIONS: JobKind = JobKind {
    name: "intelligence.track_obligations",
    queue: "default",
    priority: 5,
    max_attempts: 3,
    timeout: Duration::from_secs(120),
};

/// The largest page of tasks.
const MAX_PAGE: i64 = 200;

/// Reads a contract's obligations from its current text again and keeps its tasks in
/// step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackObligations {
    pub contract_id: Uuid,
}

impl BackgroundJob for TrackObligations {
    const KIND: JobKind = TRACK_OBLIGATIONS;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        track(&ctx, self.contract_id).await?;
        Ok(())
    }
}

/// Reads `contract`'s dated obligations and keeps its tasks in step; says how many
/// tasks it made.
pub async fn track(ctx: &JobContext, contract: Uuid) -> Result<usize, JobError> {
    const DATES_SQL: &str = "select start_date, end_date from contracts where id = $1";
    let tx = ctx.db.begin().await?;
    let Some(row) = tx.query_opt(DATES_SQL, &[&contract]).await? else {
        return Ok(0);
    };
    drop(tx);
    let dates: (Option<NaiveDate>, Option<NaiveDate>) = (row.get(0), row.get(1));
    let span = Span {
        effective: dates.0,
        end: dates.1,
        today: ctx.clock.now().date_naive(),
    };
    let read = move |body: &str, files: &[FileText]| dated(texts(body, files), span);
    let Some((text, found)) = read_text(ctx, contract, read).await? else {
        return Ok(0);
    };
    let Some(tx) = lock_unchanged(ctx, contract, &text).await? else {
        return Ok(0);
    };
    // A new start or end date enqueued its own job, which counts from it.
    let row = tx.query_one(DATES_SQL, &[&contract]).await?;
    if (
        row.get::<_, Option<NaiveDate>>(0),
        row.get::<_, Option<NaiveDate>>(1),
    ) != dates
    {
        return Ok(0);
    }
    let made = keep(&tx, &ctx.origin(), contract, found).await?;
    tx.commit().await?;
    Ok(made)
}

/// The unique key of the timer that reads `contract`'s series again on `day`, after
/// this prefix. The day is in it because the timer that runs makes the next: a key of
/// a running job is still taken.
fn series_timer(contract: Uuid) -> String {
    format!("obligation-series:{contract}:")
}

/// Stores `found` as `contract`'s tasks, in `tx` (the contract row locked): a task
/// the text states again keeps its status, assignee and a date set by hand; a new one
/// is open and assigned to the owner; an open one the text no longer states is
/// superseded. Reminders follow.
async fn keep(
    tx: &TenantTx,
    origin: &Origin,
    contract: Uuid,
    found: Found,
) -> Result<usize, DomainError> {
    let Found {
        tasks: found,
        read_again_on,
    } = found;
    let mut series: Vec<String> = found
        .iter()
        .filter_map(|d| d.series.as_ref().map(|s| s.series_key.clone()))
        .collect();
    series.dedup();
    let known = tx
        .query(
            "select id, obligation_key, status, due_date, due_source from obligation_tasks \
             where contract_id = $1",
            &[&contract],
        )
        .await?;
    let now = unit::now(tx);
    let mut kept: Vec<Uuid> = Vec::new();
    let mut moved: Vec<Uuid> = Vec::new();
    let mut made: Vec<Uuid> = Vec::new();
    for dated in found {
        let Dated {
            attachment,
            key,
            obligation: o,
            due,
            source,
            series,
        } = dated;
        let (series_key, number, recurs) = match series {
            Some(s) => (Some(s.series_key), Some(s.number), Some(s.recurs)),
            None => (None, None, None),
        };
        let same = known.iter().find(|row| row.get::<_, &str>(1) == key);
        let (start, end) = (o.start_char as i32, o.end_char as i32);
        match same.map(|row| (row.get::<_, Uuid>(0), row.get::<_, &str>(2), row)) {
            Some((_, "done" | "dismissed", _)) => {}
            Some((id, status, row)) => {
                let by_hand = row.get::<_, &str>(4) == "person";
                tx.execute(
                    "update obligation_tasks set passage = $2, start_char = $3, end_char = $4, \
                     party = $5, action = $6, prohibition = $7, status = 'open', \
                     due_date = case when due_source = 'person' then due_date else $8 end, \
                     due_source = case when due_source = 'person' then due_source else $9 end, \
                     series_key = $10, occurrence = $11, recurs = $12 \
                     where id = $1",
                    &[
                        &id,
                        &o.passage,
                        &start,
                        &end,
                        &o.party,
                        &o.action,
                        &o.prohibition,
                        &due,
                        &source,
                        &series_key,
                        &number,
                        &recurs,
                    ],
                )
                .await?;
                kept.push(id);
                if status != "open" || (!by_hand && row.get::<_, NaiveDate>(3) != due) {
                    moved.push(id);
                }
            }
            None => {
                let id = Uuid::new_v4();
                tx.execute(
                    "insert into obligation_tasks (id, contract_id, attachment_id, obligation_key, party, \
                     action, prohibition, passage, start_char, end_char, due_date, due_source, status, \
                     assignee_id, created_at, series_key, occurrence, recurs) \
                     select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', owner_id, $13, \
                     $14, $15, $16 from contracts where id = $2",
                    &[&id, &contract, &attachment, &key, &o.party, &o.action, &o.prohibition, &o.passage,
                      &start, &end, &due, &source, &now, &series_key, &number, &recurs],
                )
                .await?;
                kept.push(id);
                made.push(id);
            }
        }
    }
    // An occurrence already due stays open while its series is still stated: the
    // series is made from today on, so the text not making it again is no change.
    let superseded: Vec<Uuid> = tx
        .query(
            "update obligation_tasks set status = 'superseded' \
             where contract_id = $1 and status = 'open' and id <> all($2) \
             and not coalesce(series_key = any($3) and due_date < $4, false) returning id",
            &[&contract, &kept, &series, &now.date_naive()],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    remind::cancel(tx, &superseded).await?;
    moved.extend_from_slice(&made);
    remind::reschedule(tx, &moved).await?;
    // The series cut short by the horizon are read again the day after their next
    // occurrence, which makes the next one past the horizon.
    cancel_pending(tx, TRACK_OBLIGATIONS, &series_timer(contract)).await?;
    if let Some(day) = read_again_on {
        let at = day.and_time(chrono::NaiveTime::MIN).and_utc();
        if at > now {
            let again = TrackObligations {
                contract_id: contract,
            };
            let key = format!("{}{day}", series_timer(contract));
            enqueue(tx, vec![again.at(at).unique(key)]).await?;
        }
    }
    if !made.is_empty() || !superseded.is_empty() {
        audit::record(
            tx,
            &Actor::system("obligation tasks"),
            origin,
            Entry {
                action: "obligations_tracked",
                entity: "contract",
                entity_id: Some(contract),
                changes: json!({"created": made, "superseded": superseded}),
            },
        )
        .await?;
    }
    Ok(made.len())
}

/// Tasks as `principal` may read them: of contracts whose original they may read,
/// earliest due first.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &TaskQuery,
) -> Result<Page<TaskView>, DomainError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_PAGE)?;
    let status = status_of(query)?;
    let (actor, reader) = originals::read_as_reader(db, principal).await?;
    read_page(db, &actor, reader, query, status, &page).await
}

/// The status a list asks for, `open` unless it says.
fn status_of(query: &TaskQuery) -> Result<&str, DomainError> {
    let status = query.status.as_deref().unwrap_or("open");
    if !["open", "done", "dismissed", "superseded", "all"].contains(&status) {
        return Err(DomainError::invalid(
            "status is one of open, done, dismissed, superseded, all",
        ));
    }
    Ok(status)
}

/// A page of the tasks `query` names, as `actor` reads them.
async fn read_page(
    db: &TenantDb,
    actor: &Actor,
    reader: Reader,
    query: &TaskQuery,
    status: &str,
    page: &PageRequest,
) -> Result<Page<TaskView>, DomainError> {
    let assignee: Option<Uuid> = query
        .assignee
        .as_deref()
        .map(|text| crate::kernel::actor::me_or_user("assignee", text, actor.user_id()))
        .transpose()?;
    let mut w = Filter::new();
    if status != "all" {
        w.push(|n| format!("t.status = ${n}"), status.to_owned());
    }
    w.push_some(assignee, |n| format!("t.assignee_id = ${n}"));
    w.push_some(query.contract_id, |n| format!("t.contract_id = ${n}"));
    w.push_some(query.due_before.map(|d| d.0), |n| {
        format!("t.due_date < ${n}")
    });
    w.push_some(reader.only_owner(), |n| {
        format!("(c.shown_redaction is null or c.owner_id = ${n})")
    });
    let (after_date, after_id) = page.after::<(NaiveDate, Uuid)>()?.unzip();
    let (date, id) = (w.bind(after_date), w.bind(after_id));
    w.require(format!(
        "(t.due_date, t.id) > (coalesce(${date}::date, '-infinity'), \
         coalesce(${id}::uuid, '00000000-0000-0000-0000-000000000000'))"
    ));
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS} from obligation_tasks t join contracts c on c.id = t.contract_id{} \
         order by t.due_date, t.id limit ${limit}",
        w.where_clause()
    );
    let rows = db.read(&[(&sql, &w.params())]).await?;
    let tasks: Vec<TaskView> = rows[0].iter().map(TaskView::from).collect();
    Ok(Page::keyset(tasks, page, |t| (t.due_date, t.id)))
}

/// `contract`'s tasks, for anyone who may read it and its original.
pub async fn list_for_contract(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
    query: ContractTaskQuery,
) -> Result<Page<TaskView>, DomainError> {
    let query = TaskQuery {
        status: query.status,
        contract_id: Some(contract),
        limit: query.limit,
        cursor: query.cursor,
        ..TaskQuery::default()
    };
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_PAGE)?;
    let status = status_of(&query)?;
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract]),
            (originals::CONTRACT_GUARD_SQL, &[&contract]),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("contract"));
    }
    originals::require_original(originals::Guard::from_rows(&results[1]).as_ref(), &actor)?;
    // Its original admitted the reader: every task of it is theirs to read.
    read_page(db, &actor, Reader::Everyone, &query, status, &page).await
}

/// Closes, reopens, assigns or moves task `id`: its assignee may change its status;
/// whoever may change its contract may change anything. Audited; reminders follow.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    change: UpdateTask,
) -> Result<TaskView, DomainError> {
    if change.status.is_none() && change.assignee_id.is_none() && change.due_date.is_none() {
        return Err(DomainError::invalid(
            "give at least one of status, assignee_id, due_date",
        ));
    }
    if let Some(status) = &change.status {
        if !["open", "done", "dismissed"].contains(&status.as_str()) {
            return Err(DomainError::invalid(
                "status is one of open, done, dismissed",
            ));
        }
    }
    if let Some(date) = change.due_date {
        if !(1900..=2200).contains(&chrono::Datelike::year(&date.0)) {
            return Err(DomainError::invalid(
                "due_date must fall between the years 1900 and 2200",
            ));
        }
    }
    actor.require(Role::Viewer)?;
    let current = tx
        .query_opt(
            &format!(
                "select {COLUMNS} from obligation_tasks t join contracts c on c.id = t.contract_id \
                 where t.id = $1 for update of t"
            ),
            &[&id],
        )
        .await?
        .map(|row| TaskView::from(&row))
        .ok_or(DomainError::Missing("obligation task"))?;
    let only_status = change.assignee_id.is_none() && change.due_date.is_none();
    let assignee = actor.user_id().is_some() && actor.user_id() == current.assignee_id;
    if !(only_status && assignee) {
        contracts::lock_editable_contract(tx, actor, current.contract_id).await?;
    }
    contracts::require_original(tx, actor, current.contract_id).await?;
    if current.status == "superseded" {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "task_superseded",
            "the contract's text no longer states this obligation",
            json!({"status": "superseded"}),
        ));
    }
    if let Some(user) = change.assignee_id {
        let active: bool = tx
            .query_one(
                "select exists (select 1 from users where id = $1 and active)",
                &[&user],
            )
            .await?
            .get(0);
        if !active {
            return Err(DomainError::invalid(
                "assignee_id is not an active user of this tenant",
            ));
        }
    }
    let status = change.status.clone().unwrap_or(current.status.clone());
    let decided = status != current.status;
    let row = tx
        .query_one(
            &format!(
                "with changed as (update obligation_tasks set status = $2, \
                 assignee_id = coalesce($3, assignee_id), \
                 due_date = coalesce($4, due_date), \
                 due_source = case when $4::date is null then due_source else 'person' end, \
                 decided_by = case when $5 then $6 else decided_by end, \
                 decided_at = case when $5 then $7 else decided_at end \
                 where id = $1 returning *) \
                 select {COLUMNS} from changed t join contracts c on c.id = t.contract_id"
            ),
            &[
                &id,
                &status,
                &change.assignee_id,
                &change.due_date.map(|d| d.0),
                &decided,
                &actor.user_id(),
                &unit::now(tx),
            ],
        )
        .await?;
    let task = TaskView::from(&row);
    let mut changes = serde_json::Map::new();
    if decided {
        changes.insert("status".into(), json!([current.status, task.status]));
    }
    if task.assignee_id != current.assignee_id {
        changes.insert(
            "assignee_id".into(),
            json!([current.assignee_id, task.assignee_id]),
        );
    }
    if task.due_date != current.due_date {
        changes.insert("due_date".into(), json!([current.due_date, task.due_date]));
    }
    changes.insert("contract_id".into(), json!(task.contract_id));
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "updated",
            entity: "obligation",
            entity_id: Some(id),
            changes: Value::Object(changes),
        },
    )
    .await?;
    remind::reschedule(tx, &[id]).await?;
    Ok(task)
}
