//! The contract calendar: start, end and renewal-notice dates in a date range.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::DomainError;
use crate::kernel::Principal;
use crate::kernel::Role;
use crate::tenancy::scoped::TenantDb;

const MAX_RANGE_DAYS: i64 = 366 * 3;
pub const MAX_EVENTS_PER_PAGE: i64 = 1000;

#[derive(Serialize, ToSchema)]
pub struct CalendarEvent {
    date: NaiveDate,
    /// `start`, `end` or `renewal_notice` (the last day to give notice: end date minus
    /// the notice period).
    kind: String,
    contract_id: Uuid,
    title: String,
    status: String,
}

/// A page of the start, end and renewal-notice dates in a range, by day.
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
    let (_, results) = read_as(db, principal, Role::Viewer, &[(
                "select day, kind, id, title, status from ( \
                   select start_date as day, 'start' as kind, id, title, status from contracts \
                     where start_date between $1 and $2 \
                   union all \
                   select end_date, 'end', id, title, status from contracts \
                     where end_date between $1 and $2 \
                   union all \
                   select end_date - renewal_notice_days, 'renewal_notice', id, title, status from contracts \
                     where renewal_notice_days is not null and end_date is not null \
                       and status not in ('expired', 'terminated') \
                       and end_date - renewal_notice_days between $1 and $2 \
                 ) events \
                 where $4::date is null or (day, kind, id) > ($4, $5::text, $6::uuid) \
                 order by day, kind, id limit $3",
                &[&from, &to, &page.fetch(), &after_day, &after_kind, &after_id],
            )]).await?;
    let events: Vec<CalendarEvent> = results[0]
        .iter()
        .map(|row| CalendarEvent {
            date: row.get(0),
            kind: row.get(1),
            contract_id: row.get(2),
            title: row.get(3),
            status: row.get(4),
        })
        .collect();
    Ok(Page::keyset(events, page, |e| {
        (e.date, e.kind.clone(), e.contract_id)
    }))
}
