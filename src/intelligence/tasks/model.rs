//! The shapes of obligation tasks: a task as read, the list's filters, a change.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::kernel::validate::IsoDate;

/// The columns a [`TaskView`] is read from, `t` the task and `c` its contract.
pub const COLUMNS: &str = "t.id, t.contract_id, c.title, t.attachment_id, t.party, t.action, \
     t.prohibition, t.passage, t.start_char, t.end_char, t.due_date, t.due_source, t.status, \
     t.assignee_id, t.decided_by, t.decided_at, t.created_at, t.recurs, t.occurrence";

/// An obligation of a contract with a date, as a task for someone to do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub contract_title: String,
    /// The file the obligation is in; null for the contract's body.
    pub attachment_id: Option<Uuid>,
    /// Who is bound, as the text names them.
    pub party: String,
    /// What they must (or must not) do, as the text says it.
    pub action: String,
    pub prohibition: bool,
    /// The sentence, and where it is in the text, in characters.
    pub passage: String,
    pub start_char: i32,
    pub end_char: i32,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    /// `text` (the sentence states the date), `effective_date` (a period from the
    /// contract's start date) or `person` (set by hand; a new text never moves it).
    pub due_source: String,
    /// `open`, `done`, `dismissed`, or `superseded` (the current text no longer says it).
    pub status: String,
    /// Who is reminded: the contract's owner until someone assigns it (the owner again
    /// when the assignee is no longer an active user).
    pub assignee_id: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// For an occurrence of a recurring obligation, its period: `daily`, `weekly`,
    /// `monthly`, `quarterly` or `annually`; null for a single task.
    pub recurs: Option<String>,
    /// Which occurrence it is: periods after the date the text states (0 is that date)
    /// or after the effective date (1 is one period on); null for a single task.
    pub occurrence: Option<i32>,
}

impl From<&Row> for TaskView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            contract_id: row.get(1),
            contract_title: row.get(2),
            attachment_id: row.get(3),
            party: row.get(4),
            action: row.get(5),
            prohibition: row.get(6),
            passage: row.get(7),
            start_char: row.get(8),
            end_char: row.get(9),
            due_date: row.get(10),
            due_source: row.get(11),
            status: row.get(12),
            assignee_id: row.get(13),
            decided_by: row.get(14),
            decided_at: row.get(15),
            created_at: row.get(16),
            recurs: row.get(17),
            occurrence: row.get(18),
        }
    }
}

/// Which tasks to list: earliest due first.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `open` (the default), `done`, `dismissed`, `superseded` or `all`.
    pub status: Option<String>,
    /// `me`, or a user's id.
    pub assignee: Option<String>,
    /// Only this contract's.
    pub contract_id: Option<Uuid>,
    /// Only those due before this date (`YYYY-MM-DD`): `due_before` today lists the
    /// overdue ones.
    #[param(value_type = Option<String>, format = Date)]
    pub due_before: Option<IsoDate>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// A contract's tasks: the list's filters but the contract.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractTaskQuery {
    /// `open` (the default), `done`, `dismissed`, `superseded` or `all`.
    pub status: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// A change of a task: at least one field. Its assignee may close or reopen it;
/// whoever may change the contract may also assign it or move its date.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    /// `open`, `done` or `dismissed`.
    #[schema(pattern = "^(open|done|dismissed)$")]
    pub status: Option<String>,
    /// An active user of the tenant.
    pub assignee_id: Option<Uuid>,
    /// A date of the years 1900 to 2200; from then on a new text never moves it.
    pub due_date: Option<IsoDate>,
}
