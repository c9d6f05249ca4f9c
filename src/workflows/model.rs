//! Workflow definitions as admins write them, in the shape the workflow seed uses
//! (`stage_name`, `sequence`, `approvers`, `approval_type`, `sla_hours`,
//! `is_required`), with Pactum's additions alongside (quorum, stage conditions,
//! escalation, reminders, self-approval), and the checks that run before anything is
//! stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{self, RuleError};
use crate::kernel::jobs::JobKind;
use crate::kernel::letters::fold_case;
use crate::kernel::DomainError;

/// A stage's deadline: a job the engine enqueues when the stage starts, run by
/// `timers` when the clock passes it. Deadlines come first (priority 0): a burst of
/// notifications or deliveries must not make a deadline late.
pub const STAGE_DUE: JobKind = JobKind {
    name: "workflow.stage_due",
    queue: "default",
    priority: 0,
    max_attempts: 10,
    timeout: std::time::Duration::from_secs(60),
};

/// A reminder some hours before a stage's deadline.
pub const STAGE_REMINDER: JobKind = JobKind {
    name: "workflow.stage_reminder",
    queue: "default",
    priority: 1,
    max_attempts: 5,
    timeout: std::time::Duration::from_secs(60),
};

/// A stage's deadline passing: the stage and the deadline it was made for, so a stage
/// that moved on (decided, voided, given a new deadline) turns it into a no-op.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageDue {
    pub stage_id: Uuid,
    pub due_at: DateTime<Utc>,
}

/// A reminder `hours_before` a stage's deadline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageReminder {
    pub stage_id: Uuid,
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub hours_before: f64,
}

pub const MAX_STAGES: usize = 20;
pub const MAX_APPROVERS: usize = 50;
pub const MAX_REMINDERS: usize = 5;
/// A year of business hours is more than any SLA needs.
pub const MAX_SLA_HOURS: f64 = 8760.0;
pub const MAX_DEFINITIONS: i64 = 2000;

/// A definition as written (create and replace).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionBody {
    #[schema(example = "High Value Contract Approval")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// A rule in the lookup language: `{"value__gte": "500000", "contract_type__in": ["msa", "sow"]}`;
    /// `all` / `any` / `not` combine rules; `{}` matches every contract.
    #[schema(value_type = Object)]
    pub trigger_conditions: Value,
    pub stages: Vec<StageBody>,
    /// The highest-priority matching definition wins; two active ones may not share a priority.
    pub priority: i32,
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Whether the contract's owner may approve their own contract (default false).
    #[serde(default)]
    pub allow_self_approval: bool,
}

fn yes() -> bool {
    true
}

/// One stage as written.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    pub stage_name: String,
    /// Stages run in ascending sequence; each sequence appears once.
    pub sequence: i32,
    /// Who approves: a team's name (`legal`), a user's email, a role (`manager`), or
    /// the explicit `team:<name>`, `user:<email>`, `role:<role>`.
    pub approvers: Vec<String>,
    /// `all` (every approver), `any` (one), `quorum` (`quorum` of them).
    pub approval_type: String,
    #[serde(default)]
    pub quorum: Option<i32>,
    /// Deadline in business hours of the tenant's calendar, from when the stage starts.
    #[serde(default)]
    pub sla_hours: Option<f64>,
    /// A rejection in a required stage rejects the contract; in an optional one the
    /// workflow moves on.
    #[serde(default = "yes")]
    pub is_required: bool,
    /// A rule (as `trigger_conditions`) under which the stage applies; skipped otherwise.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub condition: Option<Value>,
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// Business hours before the deadline at which pending approvers are reminded.
    #[serde(default)]
    pub reminder_hours_before: Vec<f64>,
}

/// What happens when a stage misses its deadline.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// `notify` (an `workflow_stage.escalated` event naming the team) or `reassign`
    /// (pending approvals move to the team's members).
    pub action: String,
    pub team: String,
}

/// An approver named in a stage, resolved by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproverRef {
    Team(String),
    User(String),
    Role(String),
}

impl ApproverRef {
    /// `legal`, `user@example.com`, `manager`, or with an explicit `team:` / `user:` /
    /// `role:` prefix. A bare word that is a role names the role.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let role = |r: &str| {
            ["viewer", "member", "manager", "admin"]
                .contains(&r)
                .then(|| Self::Role(r.to_owned()))
        };
        if let Some(name) = text.strip_prefix("team:") {
            return crate::teams::TeamName::is_valid(name).then(|| Self::Team(name.to_owned()));
        }
        if let Some(email) = text.strip_prefix("user:") {
            return valid_email(email).then(|| Self::User(fold_case(email)));
        }
        if let Some(r) = text.strip_prefix("role:") {
            return role(r);
        }
        if text.contains('@') {
            return valid_email(text).then(|| Self::User(fold_case(text)));
        }
        role(text)
            .or_else(|| crate::teams::TeamName::is_valid(text).then(|| Self::Team(text.into())))
    }

    /// How an approval records where it came from.
    pub fn label(&self) -> String {
        match self {
            Self::Team(name) => format!("team:{name}"),
            Self::User(email) => format!("user:{email}"),
            Self::Role(role) => format!("role:{role}"),
        }
    }
}

fn valid_email(text: &str) -> bool {
    text.len() <= 254
        && text
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
}

fn at(path: String, message: impl Into<String>) -> DomainError {
    DomainError::refused(
        crate::kernel::Refusal::Invalid,
        "invalid_rule",
        format!("{path}: {}", message.into()),
        serde_json::json!({ "path": path }),
    )
}

/// A rule error at `prefix` (`trigger_conditions`, `stages[1].condition`).
pub fn rule_error(prefix: &str, error: RuleError) -> DomainError {
    let path = if error.path == "$" {
        prefix.to_owned()
    } else {
        format!("{prefix}.{}", error.path)
    };
    at(path, error.message)
}

/// A definition, checked and put in order (stages by sequence, text trimmed).
pub fn check(mut body: DefinitionBody) -> Result<DefinitionBody, DomainError> {
    let invalid = |path: &str, message: &str| {
        DomainError::refused(
            crate::kernel::Refusal::Invalid,
            "invalid_input",
            format!("{path}: {message}"),
            serde_json::json!({ "path": path }),
        )
    };
    body.name = crate::kernel::validate::text("name", &body.name, 200)?;
    body.description =
        crate::kernel::validate::optional_text("description", body.description.as_deref(), 2000)?;
    rules::compile(&body.trigger_conditions, 1).map_err(|e| rule_error("trigger_conditions", e))?;
    if body.stages.is_empty() || body.stages.len() > MAX_STAGES {
        return Err(invalid("stages", &format!("1 to {MAX_STAGES} stages")));
    }
    body.stages.sort_by_key(|s| s.sequence);
    for pair in body.stages.windows(2) {
        if pair[0].sequence == pair[1].sequence {
            return Err(invalid(
                "stages",
                &format!("sequence {} appears twice", pair[0].sequence),
            ));
        }
    }
    for (i, stage) in body.stages.iter_mut().enumerate() {
        let here = format!("stages[{i}]");
        stage.stage_name =
            crate::kernel::validate::text(&format!("{here}.stage_name"), &stage.stage_name, 200)?;
        if stage.approvers.is_empty() || stage.approvers.len() > MAX_APPROVERS {
            return Err(invalid(
                &format!("{here}.approvers"),
                &format!("1 to {MAX_APPROVERS} approvers"),
            ));
        }
        for (j, approver) in stage.approvers.iter_mut().enumerate() {
            if ApproverRef::parse(approver).is_none() {
                return Err(invalid(
                    &format!("{here}.approvers[{j}]"),
                    "not a team name, an email or a role",
                ));
            }
            *approver = approver.trim().to_owned();
        }
        match (stage.approval_type.as_str(), stage.quorum) {
            ("all" | "any", None) => {}
            ("quorum", Some(n)) if (1..=MAX_APPROVERS as i32).contains(&n) => {}
            ("quorum", _) => {
                return Err(invalid(
                    &format!("{here}.quorum"),
                    &format!("a quorum stage needs quorum between 1 and {MAX_APPROVERS}"),
                ))
            }
            ("all" | "any", Some(_)) => {
                return Err(invalid(
                    &format!("{here}.quorum"),
                    "quorum goes with approval_type \"quorum\"",
                ))
            }
            _ => {
                return Err(invalid(
                    &format!("{here}.approval_type"),
                    "one of all, any, quorum",
                ))
            }
        }
        if let Some(hours) = stage.sla_hours {
            if !(hours > 0.0 && hours <= MAX_SLA_HOURS) {
                return Err(invalid(
                    &format!("{here}.sla_hours"),
                    &format!("more than 0 and at most {MAX_SLA_HOURS}"),
                ));
            }
        }
        if let Some(condition) = &stage.condition {
            rules::compile(condition, 1)
                .map_err(|e| rule_error(&format!("{here}.condition"), e))?;
        }
        if let Some(escalation) = &stage.escalation {
            if !["notify", "reassign"].contains(&escalation.action.as_str()) {
                return Err(invalid(
                    &format!("{here}.escalation.action"),
                    "notify or reassign",
                ));
            }
            if !crate::teams::TeamName::is_valid(&escalation.team) {
                return Err(invalid(
                    &format!("{here}.escalation.team"),
                    "not a team name",
                ));
            }
            if stage.sla_hours.is_none() {
                return Err(invalid(
                    &format!("{here}.escalation"),
                    "escalation needs sla_hours (a deadline to miss)",
                ));
            }
        }
        if stage.reminder_hours_before.len() > MAX_REMINDERS {
            return Err(invalid(
                &format!("{here}.reminder_hours_before"),
                &format!("at most {MAX_REMINDERS} reminders"),
            ));
        }
        for (j, hours) in stage.reminder_hours_before.iter().enumerate() {
            let before_deadline = stage
                .sla_hours
                .is_some_and(|sla| *hours > 0.0 && *hours < sla);
            if !before_deadline {
                return Err(invalid(
                    &format!("{here}.reminder_hours_before[{j}]"),
                    "more than 0 and less than sla_hours",
                ));
            }
        }
        stage
            .reminder_hours_before
            .sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        stage.reminder_hours_before.dedup();
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Value {
        json!({"name": "High Value Contract Approval",
         "description": "For contracts over 500k",
         "trigger_conditions": {"value__gte": "500000", "contract_type__in": ["msa", "sow"]},
         "stages": [
           {"stage_name": "Legal Review", "sequence": 1, "approvers": ["legal"],
            "approval_type": "all", "sla_hours": 48, "is_required": true},
           {"stage_name": "Finance Approval", "sequence": 2, "approvers": ["finance", "cfo"],
            "approval_type": "any", "sla_hours": 24, "is_required": true},
           {"stage_name": "Executive Sign-Off", "sequence": 3, "approvers": ["ceo"],
            "approval_type": "all", "sla_hours": 72, "is_required": true}],
         "priority": 100, "is_active": true})
    }

    fn checked(edit: impl FnOnce(&mut Value)) -> Result<DefinitionBody, String> {
        let mut value = seed();
        edit(&mut value);
        let body: DefinitionBody = serde_json::from_value(value).map_err(|e| e.to_string())?;
        check(body).map_err(|e| e.to_string())
    }

    #[test]
    fn the_seed_definition_loads_unchanged() {
        let body = checked(|_| {}).unwrap();
        assert_eq!(body.stages.len(), 3);
        assert_eq!(body.stages[1].approvers, ["finance", "cfo"]);
        assert!(body.is_active && !body.allow_self_approval);
    }

    #[test]
    fn stages_are_put_in_sequence_and_sequences_are_unique() {
        let body = checked(|v| v["stages"][0]["sequence"] = json!(9)).unwrap();
        assert_eq!(body.stages[2].stage_name, "Legal Review");
        let error = checked(|v| v["stages"][0]["sequence"] = json!(2)).unwrap_err();
        assert!(error.contains("sequence 2 appears twice"), "{error}");
    }

    #[test]
    fn each_refusal_names_its_path() {
        for (edit, expected) in [
            (
                json!({"trigger_conditions": {"colour__exact": "red"}}),
                "trigger_conditions.colour__exact",
            ),
            (json!({"stages": []}), "stages: 1 to"),
        ] {
            let error = checked(|v| {
                for (k, val) in edit.as_object().unwrap() {
                    v[k] = val.clone();
                }
            })
            .unwrap_err();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|v| v["stages"][1]["approvers"][1] = json!("Bad Name!")),
                "stages[1].approvers[1]",
            ),
            (
                Box::new(|v| v["stages"][0]["approval_type"] = json!("most")),
                "stages[0].approval_type",
            ),
            (
                Box::new(|v| v["stages"][0]["approval_type"] = json!("quorum")),
                "stages[0].quorum",
            ),
            (
                Box::new(|v| v["stages"][2]["sla_hours"] = json!(-1)),
                "stages[2].sla_hours",
            ),
            (
                Box::new(|v| v["stages"][0]["condition"] = json!({"any": []})),
                "stages[0].condition.any",
            ),
            (
                Box::new(|v| v["stages"][0]["reminder_hours_before"] = json!([48])),
                "stages[0].reminder_hours_before[0]",
            ),
            (
                Box::new(|v| {
                    v["stages"][0]["escalation"] = json!({"action": "shout", "team": "legal"});
                }),
                "stages[0].escalation.action",
            ),
        ];
        for (edit, expected) in cases {
            let error = checked(edit).unwrap_err();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    #[test]
    fn approvers_are_teams_users_or_roles() {
        assert_eq!(
            ApproverRef::parse("legal"),
            Some(ApproverRef::Team("legal".into()))
        );
        assert_eq!(
            ApproverRef::parse("CFO@Example.com"),
            Some(ApproverRef::User("cfo@example.com".into()))
        );
        assert_eq!(
            ApproverRef::parse("manager"),
            Some(ApproverRef::Role("manager".into()))
        );
        assert_eq!(
            ApproverRef::parse("team:admin"),
            Some(ApproverRef::Team("admin".into()))
        );
        assert_eq!(ApproverRef::parse("role:owner"), None);
        assert_eq!(ApproverRef::parse("'; drop table users"), None);
    }
}

/// What an approver does.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why (required, up to 2,000 characters).
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// An optional note.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateBody {
    /// Who approves in the caller's place.
    pub to_user_id: Uuid,
    #[serde(default)]
    pub reason: Option<String>,
}
