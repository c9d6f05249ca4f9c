//! Tasks' and logged activities' types and the rules of their fields. No I/O.

use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::{on_contract, HangsOff};
use crate::kernel::validate::{nullable, Timestamp};
use crate::kernel::DomainError;

pub const TASK_COLUMNS: &str = "id, target_kind, target_id, title, notes, assignee_id, due_at, \
     remind_at, priority, status, completed_at, created_by, created_at, updated_at, \
     repeat_every, repeat_unit, repeat_until, repeat_anchor, next_id";

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
    /// How it repeats: marked done, the next one is made.
    pub repeat: Option<Repeat>,
    /// The occurrence made when this one was marked done (cleared if it is deleted).
    pub next_task_id: Option<Uuid>,
    /// The due date its series counts its steps from.
    #[serde(skip)]
    pub repeat_anchor: Option<DateTime<Utc>>,
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
            repeat: row
                .get::<_, Option<i32>>(14)
                .zip(row.get::<_, Option<String>>(15))
                .map(|(every, unit)| Repeat {
                    every,
                    unit,
                    until: row.get::<_, Option<DateTime<Utc>>>(16).map(Timestamp),
                }),
            repeat_anchor: row.get(17),
            next_task_id: row.get(18),
        }
    }
}

/// How a task repeats: every `every` `unit`s, counted from the due date its series
/// started at, in the tenant's time zone (a weekly task at 09:00 stays at 09:00 across
/// a change of daylight saving time; a monthly one due on the 31st falls on each
/// month's last day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// 1 to 1,000.
    #[schema(minimum = 1, maximum = 1000)]
    pub every: i32,
    /// `day`, `week`, `month` or `year`.
    #[schema(pattern = "^(day|week|month|year)$")]
    pub unit: String,
    /// No occurrence falls due after it; for ever when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

pub const REPEAT_UNITS: [&str; 4] = ["day", "week", "month", "year"];

impl Repeat {
    /// Checks the rule against the task's due date, which a repeating task needs.
    pub fn check(&self, due_at: Option<DateTime<Utc>>) -> Result<(), DomainError> {
        if !(1..=1000).contains(&self.every) || !REPEAT_UNITS.contains(&self.unit.as_str()) {
            return Err(DomainError::invalid_as(
                "invalid_repeat",
                "repeat: every 1 to 1000 of day, week, month or year",
                serde_json::json!({"repeat": self}),
            ));
        }
        let Some(due) = due_at else {
            return Err(DomainError::invalid_as(
                "invalid_repeat",
                "repeat: a repeating task needs a due_at to count from",
                serde_json::json!({"repeat": self}),
            ));
        };
        if self.until.is_some_and(|until| until.0 < due) {
            return Err(DomainError::invalid_as(
                "invalid_repeat",
                "repeat.until: not before the task's due_at",
                serde_json::json!({"repeat": self}),
            ));
        }
        Ok(())
    }

    /// The due date of the occurrence after one due at `previous`, in a series whose
    /// first was due at `anchor`: the first step from the anchor after both `previous`
    /// and `now`, so a task done late skips what it missed rather than making a backlog
    /// of overdue ones. `None` past `until`, or past the years a timestamp may hold.
    pub fn next_due(
        &self,
        zone: Tz,
        anchor: DateTime<Utc>,
        previous: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let after = previous.max(now);
        let start = anchor.with_timezone(&zone).naive_local();
        let every = i64::from(self.every);
        let step_at = |k: i64| -> Option<DateTime<Utc>> {
            let local = match self.unit.as_str() {
                "day" => start.checked_add_signed(chrono::Duration::days(k * every))?,
                "week" => start.checked_add_signed(chrono::Duration::weeks(k * every))?,
                unit => {
                    let months = k * every * if unit == "year" { 12 } else { 1 };
                    start.checked_add_months(Months::new(u32::try_from(months).ok()?))?
                }
            };
            let at = zone
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                        .earliest()
                })?
                .with_timezone(&Utc);
            Timestamp::within_range(at).map(|t| t.0)
        };
        // Start a step or so short of `after` rather than walking a daily series day by
        // day from its first; the walk makes up what the estimate falls short.
        let steps_behind = match self.unit.as_str() {
            "day" => (after - anchor).num_days() / every,
            "week" => (after - anchor).num_days() / (7 * every),
            unit => {
                let months = i64::from(after.year() - anchor.year()) * 12
                    + i64::from(after.month())
                    - i64::from(anchor.month());
                months / (every * if unit == "year" { 12 } else { 1 })
            }
        };
        let mut k = (steps_behind - 1).max(1);
        loop {
            let at = step_at(k)?;
            if at > after {
                return match self.until {
                    Some(until) if at > until.0 => None,
                    _ => Some(at),
                };
            }
            k += 1;
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
    /// Makes it repeat; needs `due_at`.
    pub repeat: Option<Repeat>,
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
    /// A new rule counts from the task's due date; `null` stops the series here.
    #[serde(default, deserialize_with = "nullable")]
    pub repeat: Option<Option<Repeat>>,
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

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn every(every: i32, unit: &str, until: Option<&str>) -> Repeat {
        Repeat {
            every,
            unit: unit.into(),
            until: until.map(|u| Timestamp(utc(u))),
        }
    }

    #[test]
    fn a_monthly_task_keeps_to_its_day_counting_from_its_first() {
        let monthly = every(1, "month", None);
        let anchor = utc("2027-01-31T09:00:00Z");
        let mut due = anchor;
        let mut dates = Vec::new();
        for _ in 0..4 {
            due = monthly.next_due(Tz::UTC, anchor, due, anchor).unwrap();
            dates.push(due.to_rfc3339());
        }
        assert_eq!(
            dates,
            [
                "2027-02-28T09:00:00+00:00",
                "2027-03-31T09:00:00+00:00",
                "2027-04-30T09:00:00+00:00",
                "2027-05-31T09:00:00+00:00"
            ],
            "the 31st, or the month's last day; never drifting to the 28th"
        );
    }

    #[test]
    fn a_weekly_task_stays_at_its_local_hour_across_daylight_saving() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let weekly = every(1, "week", None);
        // 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer (from 28 March).
        let anchor = utc("2027-03-22T08:00:00Z");
        let next = weekly.next_due(paris, anchor, anchor, anchor).unwrap();
        assert_eq!(next, utc("2027-03-29T07:00:00Z"));
    }

    #[test]
    fn a_task_done_late_skips_what_it_missed_and_a_series_ends_at_until() {
        let daily = every(2, "day", Some("2027-01-20T00:00:00Z"));
        let anchor = utc("2027-01-01T09:00:00Z");
        // Done on the 10th at noon: the next step after now, the 11th.
        let now = utc("2027-01-10T12:00:00Z");
        assert_eq!(
            daily.next_due(Tz::UTC, anchor, anchor, now),
            Some(utc("2027-01-11T09:00:00Z"))
        );
        // The 19th is the last step before `until`.
        let late = utc("2027-01-19T10:00:00Z");
        assert_eq!(daily.next_due(Tz::UTC, anchor, late, late), None);
        // Done early, before its own due date: the step after it.
        let early = utc("2026-12-20T00:00:00Z");
        assert_eq!(
            daily.next_due(Tz::UTC, anchor, anchor, early),
            Some(utc("2027-01-03T09:00:00Z"))
        );
        // Decades late, a daily series is not walked day by day, and lands right.
        let yearly_late = utc("2060-06-15T10:00:00Z");
        assert_eq!(
            every(1, "day", None).next_due(Tz::UTC, anchor, anchor, yearly_late),
            Some(utc("2060-06-16T09:00:00Z"))
        );
        assert_eq!(
            every(1, "year", None).next_due(Tz::UTC, anchor, anchor, yearly_late),
            Some(utc("2061-01-01T09:00:00Z"))
        );
        // Past the years a timestamp may hold: none.
        let end = utc("9999-06-01T00:00:00Z");
        assert_eq!(
            every(1000, "year", None).next_due(Tz::UTC, end, end, end),
            None
        );
    }

    #[test]
    fn a_repeat_is_checked_against_its_task() {
        let due = Some(utc("2027-01-01T09:00:00Z"));
        assert!(every(1, "week", None).check(due).is_ok());
        assert!(every(1, "week", Some("2027-01-01T09:00:00Z"))
            .check(due)
            .is_ok());
        for (bad, due) in [
            (every(0, "week", None), due),
            (every(1001, "day", None), due),
            (every(1, "fortnight", None), due),
            (every(1, "week", None), None),
            (every(1, "week", Some("2026-12-31T09:00:00Z")), due),
        ] {
            let error = bad.check(due).unwrap_err();
            assert!(error.to_string().contains("repeat"), "{bad:?}: {error}");
        }
    }
}
