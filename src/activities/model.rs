//! Tasks' and logged activities' types and the rules of their fields. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::{on_contract, HangsOff};
use crate::kernel::validate::{nullable, Timestamp};
use crate::kernel::DomainError;

pub const TASK_COLUMNS: &str = "id, target_kind, target_id, title, notes, assignee_id, due_at, \
     remind_at, priority, status, completed_at, created_by, created_at, updated_at";

/// Something for someone to do about a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    /// What kind of record it is about: `counterparty`, `contact`, `lead`,
    /// `opportunity`, `contract`, `case` or `invoice`.
    pub target_kind: String,
    pub target_id: Uuid,
    pub title: String,
    pub notes: Option<String>,
    /// Who does it; reminders and the overdue notice go to them (to its creator while
    /// nobody is assigned).
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    /// When the assignee is reminded (a timer); before `due_at` when both are set.
    pub remind_at: Option<DateTime<Utc>>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `open`, `in_progress`, `done` or `cancelled`.
    pub status: String,
    /// When it was marked done.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl HangsOff for TaskView {
    fn contract(&self) -> Option<Uuid> {
        on_contract(&self.target_kind, self.target_id)
    }
    fn texts(&mut self) -> Vec<&mut String> {
        let mut texts = vec![&mut self.title];
        texts.extend(self.notes.as_mut());
        texts
    }
}

impl From<&Row> for TaskView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            target_kind: row.get(1),
            target_id: row.get(2),
            title: row.get(3),
            notes: row.get(4),
            assignee_id: row.get(5),
            due_at: row.get(6),
            remind_at: row.get(7),
            priority: row.get(8),
            status: row.get(9),
            completed_at: row.get(10),
            created_by: row.get(11),
            created_at: row.get(12),
            updated_at: row.get(13),
        }
    }
}

impl TaskView {
    /// Whether reminders and the due timer still apply.
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "open" | "in_progress")
    }
}

pub const STATUSES: [&str; 4] = ["open", "in_progress", "done", "cancelled"];

pub fn status(value: &str) -> Result<String, DomainError> {
    if STATUSES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            "status must be open, in_progress, done or cancelled",
        ))
    }
}

/// A reminder must come before the task is due: one after it would tell nobody
/// anything the overdue notice does not.
pub fn reminder(
    remind_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
) -> Result<(), DomainError> {
    match (remind_at, due_at) {
        (Some(remind), Some(due)) if remind > due => {
            Err(DomainError::invalid("remind_at must not be after due_at"))
        }
        _ => Ok(()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// `counterparty`, `contact`, `lead`, `opportunity`, `contract`, `case` or `invoice`.
    #[schema(max_length = 40)]
    pub target_kind: String,
    pub target_id: Uuid,
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// An active user; the creator when left out.
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<Timestamp>,
    pub remind_at: Option<Timestamp>,
    /// `normal` unless given.
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
}

/// Fields to change; `null` clears an optional one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 10000)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub remind_at: Option<Option<Timestamp>>,
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
    #[schema(pattern = "^(open|in_progress|done|cancelled)$")]
    pub status: Option<String>,
}

pub const ACTIVITY_COLUMNS: &str = "id, target_kind, target_id, kind, subject, body, occurred_at, \
     duration_minutes, contact_ids, author_id, created_at";

/// A call, meeting, email or note logged on a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: Uuid,
    pub target_kind: String,
    pub target_id: Uuid,
    /// `call`, `meeting`, `email` or `note`.
    pub kind: String,
    pub subject: String,
    pub body: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<i32>,
    /// The contacts who took part.
    pub contact_ids: Vec<Uuid>,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl HangsOff for ActivityView {
    fn contract(&self) -> Option<Uuid> {
        on_contract(&self.target_kind, self.target_id)
    }
    fn texts(&mut self) -> Vec<&mut String> {
        let mut texts = vec![&mut self.subject];
        texts.extend(self.body.as_mut());
        texts
    }
}

impl From<&Row> for ActivityView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            target_kind: row.get(1),
            target_id: row.get(2),
            kind: row.get(3),
            subject: row.get(4),
            body: row.get(5),
            occurred_at: row.get(6),
            duration_minutes: row.get(7),
            contact_ids: row.get(8),
            author_id: row.get(9),
            created_at: row.get(10),
        }
    }
}

pub const ACTIVITY_KINDS: [&str; 4] = ["call", "meeting", "email", "note"];

pub fn activity_kind(value: &str) -> Result<String, DomainError> {
    if ACTIVITY_KINDS.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            "kind must be call, meeting, email or note",
        ))
    }
}

/// Up to a week, in minutes.
pub fn duration(value: Option<i32>) -> Result<Option<i32>, DomainError> {
    match value {
        Some(minutes) if !(0..=10_080).contains(&minutes) => Err(DomainError::invalid(
            "duration_minutes must be 0 to 10080 (a week)",
        )),
        other => Ok(other),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// `counterparty`, `contact`, `lead`, `opportunity`, `contract`, `case` or `invoice`.
    #[schema(max_length = 40)]
    pub target_kind: String,
    pub target_id: Uuid,
    #[schema(pattern = "^(call|meeting|email|note)$")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub body: Option<String>,
    /// When it happened; now when left out.
    pub occurred_at: Option<Timestamp>,
    #[schema(minimum = 0, maximum = 10080)]
    pub duration_minutes: Option<i32>,
    /// Contacts who took part.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub contact_ids: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::validate::priority;

    #[test]
    fn a_reminder_comes_before_the_due_time() {
        let due = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(reminder(Some(due - chrono::Duration::hours(1)), Some(due)).is_ok());
        assert!(reminder(Some(due), Some(due)).is_ok());
        assert!(reminder(Some(due + chrono::Duration::seconds(1)), Some(due)).is_err());
        assert!(reminder(Some(due), None).is_ok());
    }

    #[test]
    fn fields_take_only_their_listed_values() {
        assert!(priority("urgent").is_ok());
        assert!(priority("URGENT").is_err());
        assert!(status("in_progress").is_ok());
        assert!(status("closed").is_err());
        assert!(activity_kind("call").is_ok());
        assert!(activity_kind("sms").is_err());
        assert!(duration(Some(10_081)).is_err());
        assert!(duration(Some(-1)).is_err());
        assert_eq!(duration(Some(30)).unwrap(), Some(30));
    }
}
