//! Cases' types and the rules of their fields. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::validate::{nullable, PRIORITIES};
use crate::kernel::DomainError;

pub const COLUMNS: &str = "id, number, subject, description, account_id, contract_id, contact_id, \
     priority, status, assignee_id, first_response_due_at, first_responded_at, \
     first_response_breached_at, resolution_due_at, resolved_at, resolution_breached_at, \
     escalated_at, created_by, created_at, updated_at, sla_paused_at, sla_paused_seconds";

/// A support case on an account or a contract, with its two SLA clocks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    /// The tenant's running number (`CASE-42` to people).
    pub number: i64,
    pub subject: String,
    pub description: Option<String>,
    pub account_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    /// Who raised it at the customer.
    pub contact_id: Option<Uuid>,
    /// `low`, `normal`, `high` or `urgent`: which SLA policy applies.
    pub priority: String,
    /// `new`, `open`, `pending`, `resolved` or `closed`.
    pub status: String,
    pub assignee_id: Option<Uuid>,
    /// When the first response is due, in business hours from its opening.
    pub first_response_due_at: DateTime<Utc>,
    /// The first response: a comment or logged activity by someone other than who
    /// opened it, or the case moved on from `new`.
    pub first_responded_at: Option<DateTime<Utc>>,
    pub first_response_breached_at: Option<DateTime<Utc>>,
    pub resolution_due_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
    /// When a breach escalated it to its policy's team.
    pub escalated_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While the case is `pending` (waiting on the customer): since when its SLA clocks
    /// stand still. Leaving `pending` moves the deadlines not yet met later by the
    /// business time it waited.
    pub sla_paused_at: Option<DateTime<Utc>>,
    /// The business time, in seconds, of the pauses already over.
    pub sla_paused_seconds: i64,
}

impl From<&Row> for CaseView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            number: row.get(1),
            subject: row.get(2),
            description: row.get(3),
            account_id: row.get(4),
            contract_id: row.get(5),
            contact_id: row.get(6),
            priority: row.get(7),
            status: row.get(8),
            assignee_id: row.get(9),
            first_response_due_at: row.get(10),
            first_responded_at: row.get(11),
            first_response_breached_at: row.get(12),
            resolution_due_at: row.get(13),
            resolved_at: row.get(14),
            resolution_breached_at: row.get(15),
            escalated_at: row.get(16),
            created_by: row.get(17),
            created_at: row.get(18),
            updated_at: row.get(19),
            sla_paused_at: row.get(20),
            sla_paused_seconds: row.get(21),
        }
    }
}

impl CaseView {
    /// Whether the case is still being worked on.
    pub fn is_active(&self) -> bool {
        !is_done(&self.status)
    }
}

pub const STATUSES: [&str; 5] = ["new", "open", "pending", "resolved", "closed"];

/// `resolved` and `closed`: the resolution clock stopped.
pub fn is_done(status: &str) -> bool {
    matches!(status, "resolved" | "closed")
}

pub fn status(value: &str) -> Result<String, DomainError> {
    if STATUSES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            "status must be new, open, pending, resolved or closed",
        ))
    }
}

/// A case goes back to `new` only while nobody has responded.
pub fn transition(from: &str, to: &str, responded: bool) -> Result<(), DomainError> {
    if to == "new" && from != "new" && responded {
        return Err(DomainError::invalid(
            "a case that was responded to does not go back to new; reopen it as open",
        ));
    }
    Ok(())
}

/// The two SLA clocks of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    FirstResponse,
    Resolution,
}

impl Clock {
    pub fn name(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::Resolution => "resolution",
        }
    }

    /// The columns of its deadline, of when it was met and of its breach (ours, never
    /// from input).
    pub fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::FirstResponse => (
                "first_response_due_at",
                "first_responded_at",
                "first_response_breached_at",
            ),
            Self::Resolution => ("resolution_due_at", "resolved_at", "resolution_breached_at"),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// The account; the contract's counterparty when left out.
    pub account_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// `normal` unless given.
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
    /// An active user; nobody when left out.
    pub assignee_id: Option<Uuid>,
}

/// Fields to change; `null` clears an optional one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    #[schema(min_length = 1, max_length = 300)]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 20000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub contact_id: Option<Option<Uuid>>,
    /// A new priority moves the deadlines not yet met to its policy's, counted from
    /// the case's opening.
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
    #[schema(pattern = "^(new|open|pending|resolved|closed)$")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<Uuid>>,
}

/// The SLA of one priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    #[schema(pattern = "^(low|normal|high|urgent)$")]
    pub priority: String,
    /// Business hours from opening to the first response.
    #[schema(minimum = 0.01, maximum = 8760)]
    pub first_response_hours: f64,
    /// Business hours from opening to resolution.
    #[schema(minimum = 0.01, maximum = 8760)]
    pub resolution_hours: f64,
    /// The team told when a case of this priority breaches a clock; nobody beyond its
    /// assignee when null.
    #[schema(max_length = 50)]
    pub escalate_to_team: Option<String>,
    /// What the escalation does: `notify` (the default) tells the team; `reassign` also
    /// gives the case to the team's active member with the fewest active cases (the
    /// assignee aside; ties by id), and needs `escalate_to_team`.
    #[serde(default = "notify")]
    #[schema(pattern = "^(notify|reassign)$", default = "notify")]
    pub escalation_action: String,
    /// Business hours before each deadline at which the assignee is told the case is
    /// at risk (`case.sla_at_risk`); none when null or not shorter than the clock.
    #[serde(default)]
    #[schema(minimum = 0.01, maximum = 8760)]
    pub warn_before_hours: Option<f64>,
}

fn notify() -> String {
    "notify".into()
}

/// Every priority's policy, as the API takes and shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicies {
    /// One per priority: `low`, `normal`, `high`, `urgent`.
    #[schema(min_items = 4, max_items = 4)]
    pub policies: Vec<SlaPolicy>,
}

/// Checks a full set of policies: each priority once, hours in range, the first
/// response no later than the resolution.
pub fn policies(mut all: Vec<SlaPolicy>) -> Result<Vec<SlaPolicy>, DomainError> {
    let priorities = PRIORITIES;
    if all.len() != priorities.len() {
        return Err(DomainError::invalid(
            "one policy for each priority: low, normal, high, urgent",
        ));
    }
    all.sort_by_key(|p| priorities.iter().position(|q| *q == p.priority));
    for (policy, expected) in all.iter().zip(priorities) {
        if policy.priority != expected {
            return Err(DomainError::invalid(
                "one policy for each priority: low, normal, high, urgent",
            ));
        }
        for (field, hours) in [
            ("first_response_hours", policy.first_response_hours),
            ("resolution_hours", policy.resolution_hours),
        ] {
            if !(hours.is_finite() && (0.01..=8760.0).contains(&hours)) {
                return Err(DomainError::invalid(format!(
                    "{}: {field} must be 0.01 to 8760",
                    policy.priority
                )));
            }
        }
        if policy
            .warn_before_hours
            .is_some_and(|hours| !(hours.is_finite() && (0.01..=8760.0).contains(&hours)))
        {
            return Err(DomainError::invalid(format!(
                "{}: warn_before_hours must be 0.01 to 8760",
                policy.priority
            )));
        }
        if policy.first_response_hours > policy.resolution_hours {
            return Err(DomainError::invalid(format!(
                "{}: the first response cannot be due after the resolution",
                policy.priority
            )));
        }
        if let Some(team) = &policy.escalate_to_team {
            if !crate::kernel::validate::is_key(team, 50, "_-") {
                return Err(DomainError::invalid(format!(
                    "{}: escalate_to_team must be a team's name",
                    policy.priority
                )));
            }
        }
        match (policy.escalation_action.as_str(), &policy.escalate_to_team) {
            ("notify", _) | ("reassign", Some(_)) => {}
            ("reassign", None) => {
                return Err(DomainError::invalid(format!(
                    "{}: escalation_action reassign needs escalate_to_team",
                    policy.priority
                )))
            }
            _ => {
                return Err(DomainError::invalid(format!(
                    "{}: escalation_action is notify or reassign",
                    policy.priority
                )))
            }
        }
    }
    Ok(all)
}

/// What comments, files, tasks and activities hang off: a case, whose assignee may
/// change them.
pub static CASE_TARGET: crate::kernel::target::TargetKind = crate::kernel::target::TargetKind {
    name: "case",
    table: "cases",
    owner_column: "assignee_id",
    deleted_event: "case.deleted",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(priority: &str, first: f64, resolution: f64) -> SlaPolicy {
        SlaPolicy {
            priority: priority.into(),
            first_response_hours: first,
            resolution_hours: resolution,
            escalate_to_team: None,
            escalation_action: "notify".into(),
            warn_before_hours: None,
        }
    }

    #[test]
    fn policies_cover_each_priority_once_with_hours_in_order() {
        let good = vec![
            policy("urgent", 1.0, 8.0),
            policy("low", 24.0, 80.0),
            policy("high", 4.0, 24.0),
            policy("normal", 8.0, 40.0),
        ];
        let sorted = policies(good.clone()).unwrap();
        assert_eq!(sorted[0].priority, "low");
        assert_eq!(sorted[3].priority, "urgent");
        let mut twice = good.clone();
        twice[1] = policy("urgent", 1.0, 8.0);
        assert!(policies(twice).is_err());
        let mut backwards = good.clone();
        backwards[0] = policy("urgent", 9.0, 8.0);
        assert!(policies(backwards).is_err());
        let mut endless = good.clone();
        endless[0] = policy("urgent", f64::NAN, 8.0);
        assert!(policies(endless).is_err());
        assert!(policies(good[..3].to_vec()).is_err());
    }

    #[test]
    fn a_responded_case_does_not_go_back_to_new() {
        assert!(transition("open", "new", true).is_err());
        assert!(transition("open", "new", false).is_ok());
        assert!(transition("resolved", "open", true).is_ok());
    }
}
