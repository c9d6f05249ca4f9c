//! What clients read: a contract's workflow (stages, approvers, decisions, deadlines,
//! what is overdue), the caller's approvals, and analytics.

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
pub struct ApprovalView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub contract_title: String,
    pub run_id: Uuid,
    pub stage_id: Uuid,
    pub stage_name: String,
    pub approver_id: Uuid,
    pub approver_email: String,
    /// `team:legal`, `user:<email>`, `role:<role>`, `delegation`, `out_of_office`,
    /// `escalation:<team>`.
    pub assigned_via: String,
    /// The approval this one was delegated from (the chain, one link at a time).
    pub delegated_from: Option<Uuid>,
    /// `pending`, `approved`, `rejected`, `delegated`, `reassigned`, `not_needed`,
    /// `voided`, `cancelled`.
    pub state: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Set when the deadline passed while this approval was pending.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Pending and past its deadline now.
    pub overdue: bool,
}

/// An approval's columns; `$1` is the clock, which says whether it is overdue.
const APPROVAL_COLUMNS: &str = "a.id, a.contract_id, c.title, a.run_id, a.stage_id, s.name, a.approver_id, \
    u.email, a.assigned_via, a.delegated_from, a.state, a.reason, a.created_at, a.decided_at, s.due_at, \
    a.overdue_at, coalesce(a.state = 'pending' and s.due_at < $1::timestamptz, false)";

const APPROVAL_FROM: &str = "approvals a join workflow_stages s on s.id = a.stage_id \
    join contracts c on c.id = a.contract_id join users u on u.id = a.approver_id";

impl From<&Row> for ApprovalView {
    fn from(r: &Row) -> Self {
        Self {
            id: r.get(0),
            contract_id: r.get(1),
            contract_title: r.get(2),
            run_id: r.get(3),
            stage_id: r.get(4),
            stage_name: r.get(5),
            approver_id: r.get(6),
            approver_email: r.get(7),
            assigned_via: r.get(8),
            delegated_from: r.get(9),
            state: r.get(10),
            reason: r.get(11),
            created_at: r.get(12),
            decided_at: r.get(13),
            due_at: r.get(14),
            overdue_at: r.get(15),
            overdue: r.get(16),
        }
    }
}

pub async fn approval(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<ApprovalView, DomainError> {
    actor.require(Role::Viewer)?;
    let row = tx
        .query_opt(
            &format!("select {APPROVAL_COLUMNS} from {APPROVAL_FROM} where a.id = $2"),
            &[&unit::now(tx), &id],
        )
        .await?
        .ok_or(DomainError::Missing("approval"))?;
    Ok(ApprovalView::from(&row))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// `mine` (default: the caller's) or `all` (managers and admins).
    pub scope: Option<String>,
    /// One state (`pending`, `approved`, ...).
    pub state: Option<String>,
    /// Only approvals pending past their deadline.
    pub overdue: Option<bool>,
    pub contract_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const STATES: &[&str] = &[
    "pending",
    "approved",
    "rejected",
    "delegated",
    "reassigned",
    "not_needed",
    "voided",
    "cancelled",
];

/// Approvals, newest first: the caller's, or everyone's for managers.
pub async fn approvals(
    tx: &TenantTx,
    actor: &Actor,
    query: ApprovalQuery,
) -> Result<Page<ApprovalView>, DomainError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let all = match query.scope.as_deref() {
        None | Some("mine") => false,
        Some("all") => true,
        Some(_) => return Err(DomainError::Validation("scope: mine or all".into())),
    };
    if let Some(state) = &query.state {
        if !STATES.contains(&state.as_str()) {
            return Err(DomainError::Validation(format!(
                "state: one of {}",
                STATES.join(", ")
            )));
        }
    }
    actor.require(if all { Role::Manager } else { Role::Viewer })?;
    let mine = if all { None } else { actor.user_id() };
    let mut w = Filter::new();
    // The columns read the clock as the first parameter.
    let now = w.bind(unit::now(tx));
    w.push_some(mine, |n| format!("a.approver_id = ${n}"));
    w.push_some(query.state.clone(), |n| format!("a.state = ${n}"));
    if query.overdue == Some(true) {
        w.require(format!(
            "a.state = 'pending' and s.due_at < ${now}::timestamptz"
        ));
    }
    w.push_some(query.contract_id, |n| format!("a.contract_id = ${n}"));
    w.after_newest("a.created_at, a.id", page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {APPROVAL_COLUMNS} from {APPROVAL_FROM}{} \
         order by a.created_at desc, a.id desc limit ${limit}",
        w.where_clause()
    );
    let rows = tx.query(&sql, &w.params()).await?;
    let approvals: Vec<ApprovalView> = rows.iter().map(ApprovalView::from).collect();
    Ok(Page::keyset(approvals, &page, |a| (a.created_at, a.id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub id: Uuid,
    pub sequence: i32,
    pub name: String,
    pub approval_type: String,
    pub is_required: bool,
    /// `waiting`, `active`, `approved`, `rejected`, `skipped`, `voided`, `cancelled`.
    pub state: String,
    pub required_approvals: Option<i32>,
    pub approved_count: i64,
    pub activated_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Active and past its deadline now.
    pub overdue: bool,
    pub approvals: Vec<ApprovalView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub definition_id: Option<Uuid>,
    pub definition_name: String,
    pub definition_version: i32,
    /// 1 for the first round; a material change or a restart starts the next.
    pub round: i32,
    /// The contract version the round's decisions belong to.
    pub contract_version: i32,
    /// `running`, `approved`, `rejected`, `voided`, `cancelled`.
    pub state: String,
    pub reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub stages: Vec<StageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractWorkflow {
    pub contract_id: Uuid,
    /// The latest round (running or not); absent when none ever started.
    pub current: Option<RunView>,
    /// Earlier rounds, newest first, without their stages.
    pub earlier: Vec<RoundSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundSummary {
    pub id: Uuid,
    pub round: i32,
    pub definition_name: String,
    pub state: String,
    pub reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn contract_workflow(
    tx: &TenantTx,
    actor: &Actor,
    contract_id: Uuid,
) -> Result<ContractWorkflow, DomainError> {
    actor.require(Role::Viewer)?;
    let exists: bool = tx
        .query_one(
            "select exists (select 1 from contracts where id = $1)",
            &[&contract_id],
        )
        .await?
        .get(0);
    if !exists {
        return Err(DomainError::Missing("contract"));
    }
    let now = unit::now(tx);
    let runs = tx
        .query(
            "select id, definition_id, definition_name, definition_version, round, contract_version, state, \
                    reason, started_at, finished_at from workflow_runs where contract_id = $1 order by round desc",
            &[&contract_id],
        )
        .await?;
    let mut earlier = Vec::new();
    let mut current = None;
    for (i, r) in runs.iter().enumerate() {
        if i == 0 {
            let run_id: Uuid = r.get(0);
            let stages = tx
                .query(
                    "select s.id, s.sequence, s.name, s.approval_type, s.is_required, s.state, s.required_approvals, \
                            (select count(*) from approvals a where a.stage_id = s.id and a.state = 'approved'), \
                            s.activated_at, s.due_at, s.overdue_at, s.escalated_at, s.completed_at, \
                            (s.state = 'active' and s.due_at < $2) \
                     from workflow_stages s where s.run_id = $1 order by s.sequence",
                    &[&run_id, &now],
                )
                .await?;
            let approvals = tx
                .query(
                    &format!(
                        "select {APPROVAL_COLUMNS} from {APPROVAL_FROM} where a.run_id = $2 order by a.created_at, a.id"
                    ),
                    &[&now, &run_id],
                )
                .await?;
            let approvals: Vec<ApprovalView> = approvals.iter().map(ApprovalView::from).collect();
            let mut stage_views: Vec<StageView> = stages
                .iter()
                .map(|s| StageView {
                    id: s.get(0),
                    sequence: s.get(1),
                    name: s.get(2),
                    approval_type: s.get(3),
                    is_required: s.get(4),
                    state: s.get(5),
                    required_approvals: s.get(6),
                    approved_count: s.get(7),
                    activated_at: s.get(8),
                    due_at: s.get(9),
                    overdue_at: s.get(10),
                    escalated_at: s.get(11),
                    completed_at: s.get(12),
                    overdue: s.get::<_, Option<bool>>(13).unwrap_or(false),
                    approvals: Vec::new(),
                })
                .collect();
            for approval in approvals {
                if let Some(stage) = stage_views.iter_mut().find(|s| s.id == approval.stage_id) {
                    stage.approvals.push(approval);
                }
            }
            current = Some(RunView {
                id: run_id,
                definition_id: r.get(1),
                definition_name: r.get(2),
                definition_version: r.get(3),
                round: r.get(4),
                contract_version: r.get(5),
                state: r.get(6),
                reason: r.get(7),
                started_at: r.get(8),
                finished_at: r.get(9),
                stages: stage_views,
            });
        } else {
            earlier.push(RoundSummary {
                id: r.get(0),
                round: r.get(4),
                definition_name: r.get(2),
                state: r.get(6),
                reason: r.get(7),
                started_at: r.get(8),
                finished_at: r.get(9),
            });
        }
    }
    Ok(ContractWorkflow {
        contract_id,
        current,
        earlier,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Rounds started at or after (RFC 3339); default 30 days before `to`.
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    pub from: Option<DateTime<Utc>>,
    /// Rounds started before (RFC 3339); default now.
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageTiming {
    pub stage: String,
    pub completed: i64,
    /// Median from activation to completion, in seconds.
    pub median_seconds: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Analytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub started: i64,
    pub approved: i64,
    pub rejected: i64,
    pub voided: i64,
    pub cancelled: i64,
    pub running: i64,
    /// Approved over finished (approved + rejected); null when none finished.
    pub completion_rate: Option<f64>,
    /// Rejected over finished.
    pub rejection_rate: Option<f64>,
    pub stages: Vec<StageTiming>,
    /// Decisions (approve or reject) on approvals with a deadline, made by it, over all
    /// such decisions.
    pub within_sla_share: Option<f64>,
    /// Approvals pending past their deadline now (in any round).
    pub overdue_now: i64,
}

pub async fn analytics(
    tx: &TenantTx,
    actor: &Actor,
    query: AnalyticsQuery,
) -> Result<Analytics, DomainError> {
    actor.require(Role::Manager)?;
    let now = unit::now(tx);
    let to = query.to.unwrap_or(now);
    let from = query.from.unwrap_or(to - chrono::Duration::days(30));
    if from >= to {
        return Err(DomainError::Validation("from must be before to".into()));
    }
    let totals = tx
        .query_one(
            "select count(*), count(*) filter (where state = 'approved'), count(*) filter (where state = 'rejected'), \
                    count(*) filter (where state = 'voided'), count(*) filter (where state = 'cancelled'), \
                    count(*) filter (where state = 'running') \
             from workflow_runs where started_at >= $1 and started_at < $2",
            &[&from, &to],
        )
        .await?;
    let stages = tx
        .query(
            "select s.name, count(*), percentile_cont(0.5) within group \
                 (order by extract(epoch from s.completed_at - s.activated_at)) \
             from workflow_stages s join workflow_runs r on r.id = s.run_id \
             where r.started_at >= $1 and r.started_at < $2 and s.state in ('approved', 'rejected') \
             group by s.name order by s.name collate \"und-x-icu\"",
            &[&from, &to],
        )
        .await?;
    let sla = tx
        .query_one(
            "select count(*) filter (where a.decided_at <= s.due_at)::float8 / nullif(count(*), 0) \
             from approvals a join workflow_stages s on s.id = a.stage_id join workflow_runs r on r.id = a.run_id \
             where r.started_at >= $1 and r.started_at < $2 and s.due_at is not null \
               and a.state in ('approved', 'rejected')",
            &[&from, &to],
        )
        .await?;
    let overdue_now: i64 = tx
        .query_one(
            "select count(*) from approvals a join workflow_stages s on s.id = a.stage_id \
             where a.state = 'pending' and s.state = 'active' and s.due_at < $1",
            &[&now],
        )
        .await?
        .get(0);
    let (approved, rejected): (i64, i64) = (totals.get(1), totals.get(2));
    let finished = approved + rejected;
    let rate = |n: i64| (finished > 0).then(|| n as f64 / finished as f64);
    Ok(Analytics {
        from,
        to,
        started: totals.get(0),
        approved,
        rejected,
        voided: totals.get(3),
        cancelled: totals.get(4),
        running: totals.get(5),
        completion_rate: rate(approved),
        rejection_rate: rate(rejected),
        stages: stages
            .iter()
            .map(|r| StageTiming {
                stage: r.get(0),
                completed: r.get(1),
                median_seconds: r.get(2),
            })
            .collect(),
        within_sla_share: sla.get(0),
        overdue_now,
    })
}
