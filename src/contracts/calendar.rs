//! The contract calendar: start, end and renewal-notice dates in a date range, and the
//! due dates of open obligation tasks (read from the contracts' text by contract
//! intelligence) of the contracts whose original the reader may read.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::DomainError;
use crate::kernel::Principal;
use crate::tenancy::scoped::TenantDb;

const MAX_RANGE_DAYS: i64 = 366 * 3;
pub const MAX_EVENTS_PER_PAGE: i64 = 1000;

#[derive(Serialize, ToSchema)]
pub struct CalendarEvent {
    date: NaiveDate,
    /// `start`, `end`, `renewal_notice` (the last day to give notice: end date minus
    /// the notice period) or `obligation` (an open obligation task is due).
    kind: String,
    contract_id: Uuid,
    title: String,
    status: String,
    /// For an `obligation`, the task (`/obligation-tasks/{id}`); null otherwise.
    obligation_task_id: Option<Uuid>,
    /// For an `obligation`, who is bound and what they must do, as the text says it.
    obligation: Option<String>,
}

/// The events of a range, each row: day, kind, contract id, title, status, task id,
/// obligation. Keyed by day, kind and the task's id or else the contract's, since a
/// contract can have several tasks due on one day. `$7`: the one owner whose
/// restricted originals' tasks are shown, when the reader is kept from the others.
const EVENTS_SQL: &str = "select day, kind, id, title, status, task_id, obligation from ( \
       select start_date as day, 'start' as kind, id, title, status, \
         null::uuid as task_id, null::text as obligation from contracts \
         where start_date between $1 and $2 \
       union all \
       select end_date, 'end', id, title, status, null, null from contracts \
         where end_date between $1 and $2 \
       union all \
       select end_date - renewal_notice_days, 'renewal_notice', id, title, status, null, null \
         from contracts where renewal_notice_days is not null and end_date is not null \
           and status not in ('expired', 'terminated') \
           and end_date - renewal_notice_days between $1 and $2 \
       union all \
       select t.due_date, 'obligation', c.id, c.title, c.status, t.id, t.party || ': ' || t.action \
         from obligation_tasks t join contracts c on c.id = t.contract_id \
         where t.status = 'open' and t.due_date between $1 and $2 \
           and ($7::uuid is null or c.shown_redaction is null or c.owner_id = $7) \
     ) events \
     where (day, kind, coalesce(task_id, id)) > (coalesce($4::date, '-infinity'), coalesce($5::text, ''), coalesce($6::uuid, '00000000-0000-0000-0000-000000000000')) \
     order by day, kind, coalesce(task_id, id) limit $3";

/// A page of the start, end, renewal-notice and obligation dates in a range, by day.
pub async fn events(
    db: &TenantDb,
    principal: &Principal,
    from: NaiveDate,
    to: NaiveDate,
    page: &PageRequest,
) -> Result<Page<CalendarEvent>, DomainError> {
    let (after_day, after_kind, after_id) = match page.after::<(NaiveDate, String, Uuid)>()? {
        Some((day, kind, id)) => (Some(day), Some(kind), Some(id)),
        None => (None, None, None),
    };
    if to < from || (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(DomainError::Validation(format!(
            "to must be on or after from, at most {MAX_RANGE_DAYS} days later"
        )));
    }
    let (_, reader) = originals::read_as_reader(db, principal).await?;
    let restricted_to = reader.only_owner();
    let rows = db
        .read(&[(
            EVENTS_SQL,
            &[
                &from,
                &to,
                &page.fetch(),
                &after_day,
                &after_kind,
                &after_id,
                &restricted_to,
            ],
        )])
        .await?;
    let events: Vec<CalendarEvent> = rows[0]
        .iter()
        .map(|row| CalendarEvent {
            date: row.get(0),
            kind: row.get(1),
            contract_id: row.get(2),
            title: row.get(3),
            status: row.get(4),
            obligation_task_id: row.get(5),
            obligation: row.get(6),
        })
        .collect();
    Ok(Page::keyset(events, page, |e| {
        (
            e.date,
            e.kind.clone(),
            e.obligation_task_id.unwrap_or(e.contract_id),
        )
    }))
}
