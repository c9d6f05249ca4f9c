//! One timeline per account: the events of the account itself, its contacts,
//! opportunities, contracts, cases and invoices, and of the tasks, logged activities
//! and comments on any of them, newest first. Read from the event stream (the audit
//! log), so it shows exactly what webhooks were sent; each entry names what changed
//! but carries no field values, so a reader sees no more than the records' own views
//! show them: the summary of what hangs off a redacted contract is masked as it is.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::{self, HangsOff};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// One event on an account's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// The event's id (as in `/api/v1/events`).
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `opportunity.updated`, `task.created`, `activity.created`, `invoice.sent`...
    #[serde(rename = "type")]
    pub event_type: String,
    /// What kind of record the event is about, and which.
    pub entity: String,
    pub entity_id: Option<Uuid>,
    /// Who did it; none for the system's timers.
    pub actor_id: Option<Uuid>,
    /// The record's title, name, subject or number, when the event carries one.
    pub summary: Option<String>,
    /// For an update, the fields that changed.
    pub changed_fields: Vec<String>,
    /// The contract a task, activity or comment of the entry hangs off, if one does:
    /// its summary is masked as what hangs off it is.
    #[serde(skip)]
    on_contract: Option<Uuid>,
}

impl HangsOff for TimelineEntry {
    fn contract(&self) -> Option<Uuid> {
        self.on_contract
    }
    fn texts(&mut self) -> Vec<&mut String> {
        self.summary.as_mut().into_iter().collect()
    }
}

impl From<&Row> for TimelineEntry {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            at: row.get(1),
            event_type: row.get(2),
            entity: row.get(3),
            entity_id: row.get(4),
            actor_id: row.get(5),
            summary: row.get(6),
            changed_fields: row.get(7),
            on_contract: row.get(8),
        }
    }
}

/// The records of an account (`$1`) and what hangs off them, then their events.
const TIMELINE_SQL: &str = "with records(kind, id) as ( \
        select 'counterparty', id from counterparties where id = $1 \
        union all select 'contact', contact_id from account_contacts where counterparty_id = $1 \
        union all select 'opportunity', id from opportunities where account_id = $1 \
        union all select 'contract', id from contracts where counterparty_id = $1 \
        union all select 'invoice', id from invoices where account_id = $1 \
        union all select 'case', id from cases where account_id = $1), \
     subjects(kind, id, on_contract) as ( \
        select kind, id, null::uuid from records \
        union all select 'task', t.id, case when r.kind = 'contract' then r.id end \
            from tasks t join records r on t.target_kind = r.kind and t.target_id = r.id \
        union all select 'activity', a.id, case when r.kind = 'contract' then r.id end \
            from activities a join records r on a.target_kind = r.kind and a.target_id = r.id \
        union all select 'comment', c.id, case when r.kind = 'contract' then r.id end \
            from comments c join records r on c.target_kind = r.kind and c.target_id = r.id) \
     select l.id, l.at, l.event_type, l.entity, l.entity_id, l.actor_id, \
        left(coalesce(l.changes->>'title', l.changes->>'subject', l.changes->>'name', l.changes->>'number', \
             l.changes->'title'->>'new', l.changes->'name'->>'new'), 300), \
        case when l.action = 'update' and jsonb_typeof(l.changes) = 'object' \
             then array(select jsonb_object_keys(l.changes) order by 1) else '{}'::text[] end, \
        s.on_contract \
     from audit_logs l join subjects s on l.entity = s.kind and l.entity_id = s.id \
     where l.id < coalesce($3::bigint, 9223372036854775807) \
     order by l.id desc limit $2";

/// A page of an account's timeline, newest first, for anyone who may read accounts.
pub async fn of_account(
    db: &TenantDb,
    principal: &Principal,
    account: Uuid,
    page: &PageRequest,
) -> Result<Page<TimelineEntry>, DomainError> {
    let before: Option<i64> = page.after()?;
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from counterparties where id = $1", &[&account]),
            (TIMELINE_SQL, &[&account, &page.fetch(), &before]),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("counterparty"));
    }
    let entries: Vec<TimelineEntry> = results[1].iter().map(TimelineEntry::from).collect();
    let entries = originals::mask_read(db, principal, entries).await?;
    Ok(Page::keyset(entries, page, |e| e.id))
}
