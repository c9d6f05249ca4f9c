//! `GET /api/v1/events`: the tenant's event stream for admins, in commit order from a
//! cursor, which is also how a client catches up on what it missed: a cursor never
//! skips an event whose transaction was still open when the page before was read.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::kernel::events::{EventTypePattern, EventView, EVENT_COLUMNS};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::read_as;
use crate::kernel::DomainError;
use crate::kernel::{Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// Events in commit order, as far as it can be known: by the writing transaction, then
/// by id, and only those written by transactions older than every transaction still
/// running (`pg_snapshot_xmin`). A later page can then never hold an event that sorts
/// before one already served: every transaction that could still add one is newer
/// than the page's last event's. The cost is that an event waits while an older
/// transaction anywhere in the database stays open. `after`, the last event a client saw,
/// is located by its id; an unknown id continues after the rows from before commit
/// order was recorded (which carry `xact` 0). The narrowing conditions are in `w`
/// already.
fn events_sql(w: &mut Filter, after: Option<i64>) -> String {
    let after = w.bind(after);
    w.require(format!(
        "(xact, id) > (after_xact, coalesce(${after}::bigint, 0))"
    ));
    w.require("xact < pg_snapshot_xmin(pg_current_snapshot())");
    format!(
        "with after_event as (select coalesce((select xact from audit_logs \
                                               where id = ${after}), '0'::xid8) as after_xact) \
         select {EVENT_COLUMNS} from audit_logs, after_event{} order by xact, id",
        w.where_clause()
    )
}

/// How long a read waits for older transactions to end, so that events already
/// committed are served rather than held back.
const SETTLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits, at most [`SETTLE_WITHIN`], until every committed event is below the horizon
/// (no transaction older than its own still runs), so a client reading just after a
/// change sees it. Transactions are short, so this is normally one query; a long one
/// elsewhere in the database makes the read serve what is settled after the wait.
async fn settle(db: &TenantDb) -> Result<(), DomainError> {
    let deadline = tokio::time::Instant::now() + SETTLE_WITHIN;
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        let rows = db
            .read(&[(
                "select not exists (select 1 from audit_logs \
                 where xact >= pg_snapshot_xmin(pg_current_snapshot()))",
                &[],
            )])
            .await?;
        let settled = rows[0].first().is_none_or(|row| row.get::<_, bool>(0));
        if settled || tokio::time::Instant::now() + pause > deadline {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// An exact type (`contract.status_changed`) or every type of an entity
    /// (`contract.*`).
    #[param(max_length = 101)]
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// `contract`, `counterparty`, `webhook`, ...
    #[param(max_length = 50)]
    entity: Option<String>,
    entity_id: Option<Uuid>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    from: Option<DateTime<Utc>>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    to: Option<DateTime<Utc>>,
    /// Only events after this one (the id of the last event a client saw). Events come
    /// in commit order, which can differ from id order: always continue from the last
    /// event received (or `next_cursor`), never from the largest id.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub(super) limit: Option<i64>,
    /// `next_cursor` of the page before.
    pub(super) cursor: Option<String>,
}

/// The most events on a page.
pub const MAX_EVENTS_PER_PAGE: i64 = 500;

/// A page of the tenant's events in commit order (admins).
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &EventQuery,
    page: &PageRequest,
) -> Result<Page<EventView>, DomainError> {
    let cursor: Option<i64> = page.after()?;
    // The page cursor is where the previous page ended; it wins over `after`.
    let after = cursor.or(query.after);
    if after.is_some_and(|a| a < 0) {
        return Err(DomainError::Validation("after must not be negative".into()));
    }
    let (exact, entity_of_type) = match query.event_type.as_deref().map(EventTypePattern::parse) {
        None | Some(Some(EventTypePattern::Every)) => (None, None),
        Some(Some(EventTypePattern::Entity(entity))) => (None, Some(entity)),
        Some(Some(EventTypePattern::Exact(event_type))) => (Some(event_type), None),
        Some(None) => {
            return Err(DomainError::Validation(
                "type must be an event type such as contract.created, or contract.*".into(),
            ))
        }
    };
    if query
        .entity
        .as_ref()
        .is_some_and(|v| v.chars().count() > 50)
    {
        return Err(DomainError::Validation("entity is too long".into()));
    }
    let mut w = Filter::new();
    w.push_some(exact, |n| format!("event_type = ${n}"));
    w.push_some(entity_of_type, |n| format!("entity = ${n}"));
    w.push_some(query.entity.clone(), |n| format!("entity = ${n}"));
    w.push_some(query.entity_id, |n| format!("entity_id = ${n}"));
    w.push_some(query.from, |n| format!("at >= ${n}"));
    w.push_some(query.to, |n| format!("at < ${n}"));
    let sql = events_sql(&mut w, after);
    let limit = w.bind(page.fetch());
    let sql = format!("{sql} limit ${limit}");
    settle(db).await?;
    let (_, results) = read_as(db, principal, Role::Admin, &[(&sql, &w.params())]).await?;
    let events: Vec<EventView> = results[0].iter().map(EventView::from_row).collect();
    Ok(Page::keyset(events, page, |event| event.id))
}
