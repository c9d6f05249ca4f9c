//! The in-app inbox, without HTTP: a user's notifications, newest first, with filters
//! and a cursor; unread and unseen counts; marking one or all read, unread, seen or
//! archived. "All" stops at the newest id the client saw, so a notification that
//! arrives meanwhile keeps its state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::unit;
use crate::kernel::{Actor, DomainError, Role};
use crate::tenancy::scoped::TenantTx;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Monotonic in the tenant: "all" marks take the newest one a client saw.
    pub id: i64,
    /// `approval_requested`, `approval_delegated`, `approval_approved`,
    /// `approval_rejected`, `approval_overdue`, `approval_escalated`,
    /// `workflow_completed`, `contract_updated`, `mentioned`, `contract_expiring`,
    /// `renewal_notice_due`, `ocr_finished`, `ocr_failed`, `obligation_due`,
    /// `task_assigned`, `task_reminder`, `task_overdue`, `case_assigned`,
    /// `case_sla_breached`, `case_sla_at_risk`, `case_escalated`, `invoice_payment_due`,
    /// `invoice_overdue`, `invoice_email_failed`, `generative_summary_ready`,
    /// `generative_summary_failed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub entity: Option<String>,
    pub entity_id: Option<Uuid>,
    pub link: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub seen_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
}

pub(super) const COLUMNS: &str = "id, type, title, body, entity, entity_id, link, metadata, created_at, seen_at, read_at, archived_at";

impl From<&Row> for NotificationView {
    fn from(r: &Row) -> Self {
        Self {
            id: r.get(0),
            kind: r.get(1),
            title: r.get(2),
            body: r.get(3),
            entity: r.get(4),
            entity_id: r.get(5),
            link: r.get(6),
            metadata: r.get(7),
            created_at: r.get(8),
            seen_at: r.get(9),
            read_at: r.get(10),
            archived_at: r.get(11),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread (true) or only read (false) ones.
    pub unread: Option<bool>,
    /// One type.
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 50)]
    pub kind: Option<String>,
    /// Archived ones instead of the inbox (default false).
    pub archived: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn me(actor: &Actor) -> Result<Uuid, DomainError> {
    actor.require(Role::Viewer)?;
    actor
        .user_id()
        .ok_or_else(|| DomainError::Forbidden("an inbox belongs to a user".into()))
}

pub async fn list(
    tx: &TenantTx,
    actor: &Actor,
    query: InboxQuery,
) -> Result<Page<NotificationView>, DomainError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let me = me(actor)?;
    let mut w = Filter::new();
    w.push(|n| format!("recipient_id = ${n}"), me);
    // Written out rather than compared with a parameter, so that every plan can prove
    // the inbox's partial index (`where archived_at is null`) serves it.
    w.require(if query.archived.unwrap_or(false) {
        "archived_at is not null"
    } else {
        "archived_at is null"
    });
    w.push_some(query.unread, |n| format!("(read_at is null) = ${n}"));
    w.push_some(query.kind, |n| format!("type = ${n}"));
    w.push(
        |n| format!("id < coalesce(${n}::int8, 9223372036854775807)"),
        page.after::<i64>()?,
    );
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS} from notifications{} order by id desc limit ${limit}",
        w.where_clause()
    );
    let rows = tx.query(&sql, &w.params()).await?;
    let items: Vec<NotificationView> = rows.iter().map(NotificationView::from).collect();
    Ok(Page::keyset(items, &page, |n| n.id))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    /// Not read and not archived.
    pub unread: i64,
    /// Not seen and not archived (the badge).
    pub unseen: i64,
}

pub async fn counts(tx: &TenantTx, actor: &Actor) -> Result<Counts, DomainError> {
    let me = me(actor)?;
    let row = tx
        .query_one(
            "select count(*) filter (where read_at is null), count(*) filter (where seen_at is null) \
             from notifications where recipient_id = $1 and archived_at is null",
            &[&me],
        )
        .await?;
    Ok(Counts {
        unread: row.get(0),
        unseen: row.get(1),
    })
}

/// What a mark does.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    Read,
    Unread,
    Seen,
    Archived,
    Unarchived,
}

impl Mark {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "read" => Self::Read,
            "unread" => Self::Unread,
            "seen" => Self::Seen,
            "archive" => Self::Archived,
            "unarchive" => Self::Unarchived,
            _ => return None,
        })
    }

    /// The assignment, and which rows it changes (others are left as they are, so
    /// marking twice keeps the first time).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::Read => (
                "read_at = $3, seen_at = coalesce(seen_at, $3)",
                "read_at is null",
            ),
            Self::Unread => ("read_at = null", "read_at is not null"),
            Self::Seen => ("seen_at = $3", "seen_at is null"),
            Self::Archived => ("archived_at = $3", "archived_at is null"),
            Self::Unarchived => ("archived_at = null", "archived_at is not null"),
        }
    }
}

/// Marks one notification of the caller's.
pub async fn mark_one(
    tx: &TenantTx,
    actor: &Actor,
    id: i64,
    mark: Mark,
) -> Result<NotificationView, DomainError> {
    let me = me(actor)?;
    let (set, only) = mark.sql();
    tx.execute(
        &format!("update notifications set {set} where id = $1 and recipient_id = $2 and {only}"),
        &[&id, &me, &unit::now(tx)],
    )
    .await?;
    let row = tx
        .query_opt(
            &format!("select {COLUMNS} from notifications where id = $1 and recipient_id = $2"),
            &[&id, &me],
        )
        .await?
        .ok_or(DomainError::Missing("notification"))?;
    Ok(NotificationView::from(&row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkAll {
    /// The newest notification id the client saw: newer ones are left as they are.
    #[schema(minimum = 1)]
    pub up_to_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    /// How many notifications changed.
    pub changed: u64,
}

/// Marks every notification of the caller's up to `up_to_id` (inbox ones; archived
/// ones for unarchive).
pub async fn mark_all(
    tx: &TenantTx,
    actor: &Actor,
    up_to_id: i64,
    mark: Mark,
) -> Result<Marked, DomainError> {
    let me = me(actor)?;
    let (set, only) = mark.sql();
    let changed = tx
        .execute(
            &format!(
                "update notifications set {set} where recipient_id = $2 and id <= $1 and {only}"
            ),
            &[&up_to_id, &me, &unit::now(tx)],
        )
        .await?;
    Ok(Marked { changed })
}
