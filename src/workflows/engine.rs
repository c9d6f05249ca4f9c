//! Running a workflow, without HTTP: starting a round from a definition's snapshot,
//! activating stages (approvers resolved, out-of-office honoured, the deadline counted
//! in business hours and written as durable timers), deciding (approve, reject,
//! delegate), voiding a round, and settling the contract when the last stage is done.
//!
//! Every decision locks its contract's row and then its stage's before reading
//! anything else, so two approvers acting at the same instant are serialised (the
//! second sees the first's decision, and a stage completes exactly once), and a
//! decision racing an edit of the contract takes the locks in the edit's order.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::calendar;
use super::definitions::{self, Subject};
use super::model::{ApproverRef, StageBody};
use super::timers;
use crate::contracts::model::Status;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{enqueue, NewJob};
use crate::kernel::unit;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Refusal, Role};
use crate::tenancy::scoped::TenantTx;

/// The longest out-of-office chain followed (A away to B, B away to C, ...).
const MAX_DELEGATION_HOPS: usize = 5;

fn conflict(code: &'static str, message: impl Into<String>, details: Value) -> DomainError {
    DomainError::refused(Refusal::Conflict, code, message, details)
}

/// A run's fields the engine works with.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub allow_self_approval: bool,
    pub state: String,
}

const RUN_COLUMNS: &str = "id, contract_id, allow_self_approval, state";

fn run_from(row: &tokio_postgres::Row) -> Run {
    Run {
        id: row.get(0),
        contract_id: row.get(1),
        allow_self_approval: row.get(2),
        state: row.get(3),
    }
}

/// The running round of a contract, locked.
pub async fn running(tx: &TenantTx, contract_id: Uuid) -> Result<Option<Run>, DomainError> {
    Ok(tx
        .query_opt(
            &format!(
                "select {RUN_COLUMNS} from workflow_runs where contract_id = $1 and state = 'running' for update"
            ),
            &[&contract_id],
        )
        .await?
        .as_ref()
        .map(run_from))
}

async fn record(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    entity: &'static str,
    action: &'static str,
    id: Uuid,
    changes: Value,
) -> Result<(), DomainError> {
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action,
            entity,
            entity_id: Some(id),
            changes,
        },
    )
    .await
}

/// Starts a round for a contract under review: `definition`, or the highest-priority
/// match. `None` when nothing matches.
pub async fn start(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract_id: Uuid,
    definition: Option<Uuid>,
    why: &str,
) -> Result<Option<Uuid>, DomainError> {
    let contract = tx
        .query_opt(
            "select version, status from contracts where id = $1 for update",
            &[&contract_id],
        )
        .await?
        .ok_or(DomainError::Missing("contract"))?;
    let (contract_version, status): (i32, String) = (contract.get(0), contract.get(1));
    if status != Status::InReview.as_str() {
        return Err(conflict(
            "not_in_review",
            format!("a workflow runs on a contract in review; this one is {status}"),
            json!({ "status": status }),
        ));
    }
    let definition = match definition {
        Some(id) => id,
        None => match definitions::winner(tx, &Subject::Contract(contract_id)).await? {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    let row = tx
        .query_opt(
            &format!(
                "select {} from workflow_definitions where id = $1",
                definitions::COLUMNS
            ),
            &[&definition],
        )
        .await?
        .ok_or(DomainError::Missing("workflow definition"))?;
    let definition = definitions::DefinitionView::from_row(&row)?;
    let now = unit::now(tx);
    let run_id: Uuid = tx
        .query_one(
            "insert into workflow_runs (contract_id, definition_id, definition_version, definition_name, \
             allow_self_approval, contract_version, round, state, started_by, started_at) \
             select $1, $2, $3, $4, $5, $6, coalesce(max(round), 0) + 1, 'running', $7, $8 \
             from workflow_runs where contract_id = $1 returning id",
            &[
                &contract_id,
                &definition.id,
                &definition.version,
                &definition.name,
                &definition.allow_self_approval,
                &contract_version,
                &actor.user_id(),
                &now,
            ],
        )
        .await
        .map_err(DomainError::write)?
        .get(0);
    let sequences: Vec<i32> = definition.stages.iter().map(|s| s.sequence).collect();
    let names: Vec<&str> = definition
        .stages
        .iter()
        .map(|s| s.stage_name.as_str())
        .collect();
    let types: Vec<&str> = definition
        .stages
        .iter()
        .map(|s| s.approval_type.as_str())
        .collect();
    let required: Vec<bool> = definition.stages.iter().map(|s| s.is_required).collect();
    let specs: Vec<Value> = definition
        .stages
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or_default())
        .collect();
    tx.execute(
        "insert into workflow_stages (run_id, sequence, name, approval_type, is_required, spec, state) \
         select $1, s.sequence, s.name, s.approval_type, s.is_required, s.spec, 'waiting' \
         from unnest($2::int4[], $3::text[], $4::text[], $5::bool[], $6::jsonb[]) \
             as s(sequence, name, approval_type, is_required, spec)",
        &[&run_id, &sequences, &names, &types, &required, &specs],
    )
    .await?;
    let run = Run {
        id: run_id,
        contract_id,
        allow_self_approval: definition.allow_self_approval,
        state: "running".into(),
    };
    record(
        tx,
        actor,
        origin,
        "workflow_run",
        "started",
        run_id,
        json!({"contract_id": contract_id, "definition_id": definition.id,
               "definition_version": definition.version, "definition_name": definition.name,
               "contract_version": contract_version, "reason": why}),
    )
    .await?;
    advance(tx, actor, origin, &run).await?;
    Ok(Some(run_id))
}

/// Activates the next stage that applies, or settles the contract when none is left.
async fn advance(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
) -> Result<(), DomainError> {
    loop {
        let next = tx
            .query_opt(
                "select id, name, spec from workflow_stages where run_id = $1 and state = 'waiting' \
                 order by sequence limit 1 for update",
                &[&run.id],
            )
            .await?;
        let Some(next) = next else {
            return finish(tx, actor, origin, run, "approved", None).await;
        };
        let (stage_id, name, spec): (Uuid, String, Value) = (next.get(0), next.get(1), next.get(2));
        let spec: StageBody = serde_json::from_value(spec)
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("stored stage: {e}")))?;
        if let Some(condition) = &spec.condition {
            let truth = definitions::evaluate(
                tx,
                &Subject::Contract(run.contract_id),
                &[definitions::compile_rule(condition)?],
                false,
            )
            .await?;
            if truth[0][0] != Some(true) {
                tx.execute(
                    "update workflow_stages set state = 'skipped', completed_at = $2 where id = $1",
                    &[&stage_id, &unit::now(tx)],
                )
                .await?;
                record(
                    tx,
                    actor,
                    origin,
                    "workflow_stage",
                    "skipped",
                    stage_id,
                    json!({"run_id": run.id, "contract_id": run.contract_id, "stage": name,
                           "reason": "its condition does not hold"}),
                )
                .await?;
                continue;
            }
        }
        return activate(tx, actor, origin, run, stage_id, &name, &spec).await;
    }
}

/// Who holds an approval, and how they came to.
struct Holder {
    user: Uuid,
    via: String,
    /// The approvers away, in order, whose approvals were passed on to `user`.
    away: Vec<(Uuid, String)>,
}

/// The users `approvers` name who may act (active, above viewer), in the order named,
/// each once.
async fn resolve(tx: &TenantTx, approvers: &[String]) -> Result<Vec<(Uuid, String)>, DomainError> {
    let (mut kinds, mut keys) = (Vec::new(), Vec::new());
    for approver in approvers {
        let (kind, key) = match ApproverRef::parse(approver) {
            Some(ApproverRef::Team(name)) => ("team", name),
            Some(ApproverRef::User(email)) => ("user", email),
            Some(ApproverRef::Role(role)) => ("role", role),
            None => continue,
        };
        kinds.push(kind);
        keys.push(key);
    }
    let rows = tx
        .query(
            "select u.id, a.kind || ':' || a.key, a.n from unnest($1::text[], $2::text[]) with ordinality as a(kind, key, n) \
             join users u on u.active and u.role <> 'viewer' and ( \
                 (a.kind = 'team' and exists (select 1 from team_members m join teams t on t.id = m.team_id \
                     where m.user_id = u.id and t.name = a.key)) \
                 or (a.kind = 'user' and lower(u.email) = a.key) \
                 or (a.kind = 'role' and u.role = a.key)) \
             order by a.n, u.email",
            &[&kinds, &keys],
        )
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .iter()
        .filter(|r| seen.insert(r.get::<_, Uuid>(0)))
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Passes approvers who are out of office (now) on to their delegates, following a
/// chain a few hops at most; a delegate who may not approve leaves the approver in place.
async fn honour_out_of_office(
    tx: &TenantTx,
    named: Vec<(Uuid, String)>,
    now: DateTime<Utc>,
    excluded: Option<Uuid>,
) -> Result<Vec<Holder>, DomainError> {
    let rows = tx
        .query(
            "select o.user_id, o.delegate_id from out_of_office o join users d on d.id = o.delegate_id \
             where d.active and o.starts_at <= $1 and o.ends_at > $1",
            &[&now],
        )
        .await?;
    let away: HashMap<Uuid, Uuid> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut holders: Vec<Holder> = Vec::new();
    for (user, via) in named {
        let mut holder = Holder {
            user,
            via: via.clone(),
            away: Vec::new(),
        };
        let mut hops = 0;
        while let Some(delegate) = away.get(&holder.user) {
            if hops == MAX_DELEGATION_HOPS
                || Some(*delegate) == excluded
                || *delegate == user
                || holder.away.iter().any(|(u, _)| u == delegate)
            {
                break;
            }
            holder.away.push((holder.user, holder.via.clone()));
            holder.user = *delegate;
            holder.via = "out_of_office".into();
            hops += 1;
        }
        if !holders.iter().any(|h| h.user == holder.user) {
            holders.push(holder);
        }
    }
    Ok(holders)
}

async fn activate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    stage_id: Uuid,
    name: &str,
    spec: &StageBody,
) -> Result<(), DomainError> {
    let now = unit::now(tx);
    let owner: Uuid = tx
        .query_one(
            "select owner_id from contracts where id = $1",
            &[&run.contract_id],
        )
        .await?
        .get(0);
    let excluded = (!run.allow_self_approval).then_some(owner);
    let named: Vec<_> = resolve(tx, &spec.approvers)
        .await?
        .into_iter()
        .filter(|(user, _)| Some(*user) != excluded)
        .collect();
    let holders = honour_out_of_office(tx, named, now, excluded).await?;
    let required = match spec.approval_type.as_str() {
        "all" => holders.len() as i32,
        "any" => 1,
        _ => spec.quorum.unwrap_or(1),
    };
    if holders.is_empty() || (holders.len() as i32) < required {
        return Err(conflict(
            "no_approvers",
            format!(
                "stage {:?} needs {} approver(s) and names {} who may approve (the contract's owner may not approve their own contract)",
                validate::truncate(name, 60),
                required.max(1),
                holders.len()
            ),
            json!({ "stage": name, "approvers": spec.approvers }),
        ));
    }
    // The deadline and the reminders before it, from one read of the calendar. The
    // deadline is kept at PostgreSQL's precision: its timer finds the stage by it.
    let (due_at, reminders) = match spec.sla_hours {
        Some(sla) => {
            let business = calendar::load(tx).await?;
            // Checked when the definition was saved, but the calendar may have changed.
            let after = |hours: f64| {
                calendar::deadline(&business, now, hours).map_err(|e| {
                    conflict(
                        "sla_unreachable",
                        format!(
                            "stage {:?}: the business calendar gives no deadline for {hours} business hours ({e}); widen the calendar or shorten the SLA",
                            validate::truncate(name, 60)
                        ),
                        json!({ "stage": name, "sla_hours": hours }),
                    )
                })
            };
            let mut reminders = Vec::with_capacity(spec.reminder_hours_before.len());
            for hours in &spec.reminder_hours_before {
                reminders.push((*hours, after(sla - hours)?));
            }
            (Some(after(sla)?.trunc_subsecs(6)), reminders)
        }
        None => (None, Vec::new()),
    };
    tx.execute(
        "update workflow_stages set state = 'active', required_approvals = $2, activated_at = $3, due_at = $4 \
         where id = $1",
        &[&stage_id, &required, &now, &due_at],
    )
    .await?;
    // Out-of-office approvers keep a row (delegated), and the delegate's row points at it.
    let (mut ids, mut users, mut vias, mut froms, mut states, mut reasons) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut pending = Vec::new();
    for holder in &holders {
        let mut from: Option<Uuid> = None;
        for (away, via) in &holder.away {
            let id = Uuid::new_v4();
            ids.push(id);
            users.push(*away);
            vias.push(via.clone());
            froms.push(from);
            states.push("delegated");
            reasons.push(Some("out of office".to_owned()));
            from = Some(id);
        }
        let id = Uuid::new_v4();
        ids.push(id);
        users.push(holder.user);
        vias.push(holder.via.clone());
        froms.push(from);
        states.push("pending");
        reasons.push(None);
        pending.push((id, holder.user, from));
    }
    tx.execute(
        "insert into approvals (id, stage_id, run_id, contract_id, approver_id, assigned_via, delegated_from, \
             state, reason, created_at, decided_at) \
         select a.id, $2, $3, $4, a.approver, a.via, a.from_id, a.state, a.reason, $1::timestamptz, \
             case when a.state = 'delegated' then $1::timestamptz end \
         from unnest($5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::text[], $10::text[]) \
             with ordinality as a(id, approver, via, from_id, state, reason, n) order by a.n",
        &[&now, &stage_id, &run.id, &run.contract_id, &ids, &users, &vias, &froms, &states, &reasons],
    )
    .await?;
    if let Some(due) = due_at {
        let mut jobs = vec![NewJob::at(
            timers::STAGE_DUE,
            timers::args(stage_id, due, None),
            due,
        )];
        for (hours, at) in reminders {
            jobs.push(NewJob::at(
                timers::STAGE_REMINDER,
                timers::args(stage_id, due, Some(hours)),
                at,
            ));
        }
        enqueue(tx, jobs).await?;
    }
    record(
        tx,
        actor,
        origin,
        "workflow_stage",
        "activated",
        stage_id,
        json!({"run_id": run.id, "contract_id": run.contract_id, "stage": name,
               "required_approvals": required, "due_at": due_at}),
    )
    .await?;
    for (approval, approver, from) in pending {
        record(tx, actor, origin, "approval", "requested", approval,
            json!({"contract_id": run.contract_id, "run_id": run.id, "stage_id": stage_id, "stage": name,
                   "approver_id": approver, "delegated_from": from, "due_at": due_at})).await?;
    }
    Ok(())
}

/// Ends a round as `state` with `reason`: what was still waiting or pending becomes
/// `leftover` (`cancelled`, `voided`), and the end is recorded. One statement.
#[allow(clippy::too_many_arguments)]
async fn close_round(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    state: &'static str,
    leftover: &str,
    reason: Option<&str>,
) -> Result<(), DomainError> {
    tx.execute(
        "with run as (update workflow_runs set state = $2, finished_at = $3, reason = $4 where id = $1), \
              pending as (update approvals set state = $5 where run_id = $1 and state = 'pending') \
         update workflow_stages set state = $5, completed_at = $3 \
         where run_id = $1 and state in ('waiting', 'active')",
        &[&run.id, &state, &unit::now(tx), &reason, &leftover],
    )
    .await?;
    record(
        tx,
        actor,
        origin,
        "workflow_run",
        state,
        run.id,
        json!({"contract_id": run.contract_id, "reason": reason}),
    )
    .await
}

/// Ends a round and settles its contract (`approved` or `rejected`).
async fn finish(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    outcome: &'static str,
    reason: Option<&str>,
) -> Result<(), DomainError> {
    close_round(tx, actor, origin, run, outcome, "cancelled", reason).await?;
    let to = if outcome == "approved" {
        Status::Approved
    } else {
        Status::Rejected
    };
    crate::contracts::service::transition(
        tx,
        &Actor::system("workflow"),
        origin,
        run.contract_id,
        to,
        None,
    )
    .await?;
    Ok(())
}

/// Ends the running round of a contract, if any, as `voided` (a material change) or
/// `cancelled`, with the reason. Its decisions stay, recorded against the round.
pub async fn end_round(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract_id: Uuid,
    state: &'static str,
    reason: &str,
) -> Result<Option<Uuid>, DomainError> {
    let Some(run) = running(tx, contract_id).await? else {
        return Ok(None);
    };
    close_round(tx, actor, origin, &run, state, state, Some(reason)).await?;
    Ok(Some(run.id))
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

pub enum Decision {
    Approve(Option<String>),
    Reject(String),
    Delegate(Uuid, Option<String>),
}

impl Decision {
    fn state(&self) -> &'static str {
        match self {
            Self::Approve(_) => "approved",
            Self::Reject(_) => "rejected",
            Self::Delegate(..) => "delegated",
        }
    }
}

/// An approval with its stage and run, read after the stage's lock is held.
struct Held {
    approver: Uuid,
    state: String,
    stage_id: Uuid,
    stage_name: String,
    stage_state: String,
    is_required: bool,
    required: i32,
    due_at: Option<DateTime<Utc>>,
    run: Run,
    owner: Uuid,
}

async fn hold(tx: &TenantTx, approval: Uuid) -> Result<Held, DomainError> {
    let found = tx
        .query_opt(
            "select stage_id, contract_id from approvals where id = $1",
            &[&approval],
        )
        .await?
        .ok_or(DomainError::Missing("approval"))?;
    let (stage, contract): (Uuid, Uuid) = (found.get(0), found.get(1));
    // Locks in the order every writer of a contract takes them: the contract's row (an
    // edit that voids the round, the transition that settles it), then the stage's,
    // which serialises the decisions in the stage. The other order could deadlock with
    // an edit made at the same instant.
    tx.execute(
        "select 1 from contracts where id = $1 for update",
        &[&contract],
    )
    .await?;
    tx.execute(
        "select 1 from workflow_stages where id = $1 for update",
        &[&stage],
    )
    .await?;
    let row = tx
        .query_one(
            "select a.approver_id, a.state, s.id, s.name, s.state, s.is_required, coalesce(s.required_approvals, 1), \
                    s.due_at, r.id, r.contract_id, r.allow_self_approval, r.state, c.owner_id \
             from approvals a join workflow_stages s on s.id = a.stage_id \
             join workflow_runs r on r.id = s.run_id join contracts c on c.id = r.contract_id \
             where a.id = $1",
            &[&approval],
        )
        .await?;
    Ok(Held {
        approver: row.get(0),
        state: row.get(1),
        stage_id: row.get(2),
        stage_name: row.get(3),
        stage_state: row.get(4),
        is_required: row.get(5),
        required: row.get(6),
        due_at: row.get(7),
        run: Run {
            id: row.get(8),
            contract_id: row.get(9),
            allow_self_approval: row.get(10),
            state: row.get(11),
        },
        owner: row.get(12),
    })
}

/// Acts on an approval the caller holds. Repeating the same decision changes nothing
/// and answers as the first time; a different one on a decided approval, or any on a
/// voided round, is a 409. Returns the approval acted on (for a delegation, the new
/// one the delegate holds).
pub async fn decide(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    approval: Uuid,
    decision: Decision,
) -> Result<Uuid, DomainError> {
    let reason = match &decision {
        Decision::Reject(reason) => Some(validate::text("reason", reason, 2000)?),
        Decision::Approve(comment) | Decision::Delegate(_, comment) => {
            validate::optional_text("reason", comment.as_deref(), 2000)?
        }
    };
    actor.require(Role::Member)?;
    let held = hold(tx, approval).await?;
    if actor.user_id() != Some(held.approver) {
        return Err(DomainError::Forbidden(
            "only the approver this approval is assigned to may act on it".into(),
        ));
    }
    if matches!(held.run.state.as_str(), "voided" | "cancelled") {
        return Err(conflict(
            "round_voided",
            "this approval belongs to a round that was voided (the contract changed, or the workflow was restarted); act on the current round's approvals",
            json!({ "run_id": held.run.id }),
        ));
    }
    if held.state != "pending" {
        match &decision {
            Decision::Delegate(to, _) if held.state == "delegated" => {
                // The same delegation again answers with the approval it made.
                let made = tx
                    .query_opt(
                        "select id from approvals where delegated_from = $1 and approver_id = $2",
                        &[&approval, to],
                    )
                    .await?;
                if let Some(made) = made {
                    return Ok(made.get(0));
                }
            }
            _ if held.state == decision.state() => return Ok(approval),
            _ => {}
        }
        return Err(conflict(
            "already_decided",
            format!("this approval is already {}", held.state),
            json!({ "state": held.state }),
        ));
    }
    if held.stage_state != "active" || held.run.state != "running" {
        return Err(conflict(
            "stage_closed",
            format!(
                "the stage is {}; nothing is awaited from this approval",
                held.stage_state
            ),
            json!({ "stage_state": held.stage_state }),
        ));
    }
    let now = unit::now(tx);
    match decision {
        Decision::Approve(_) => {
            if held.approver == held.owner && !held.run.allow_self_approval {
                return Err(DomainError::refused(
                    Refusal::Conflict,
                    "self_approval",
                    "the contract's owner may not approve their own contract under this workflow",
                    json!({}),
                ));
            }
            set_state(tx, approval, "approved", reason.as_deref(), now).await?;
            record(tx, actor, origin, "approval", "approved", approval,
                json!({"contract_id": held.run.contract_id, "stage": held.stage_name, "reason": reason,
                       "within_sla": held.due_at.is_none_or(|due| now <= due)})).await?;
            let approved: i64 = tx
                .query_one(
                    "select count(*) from approvals where stage_id = $1 and state = 'approved'",
                    &[&held.stage_id],
                )
                .await?
                .get(0);
            if approved >= i64::from(held.required) {
                complete_stage(tx, actor, origin, &held, "approved", now).await?;
                advance(tx, actor, origin, &held.run).await?;
            }
            Ok(approval)
        }
        Decision::Reject(_) => {
            set_state(tx, approval, "rejected", reason.as_deref(), now).await?;
            record(tx, actor, origin, "approval", "rejected", approval,
                json!({"contract_id": held.run.contract_id, "stage": held.stage_name, "reason": reason})).await?;
            complete_stage(tx, actor, origin, &held, "rejected", now).await?;
            if held.is_required {
                let why = format!(
                    "{} rejected it: {}",
                    held.stage_name,
                    reason.unwrap_or_default()
                );
                finish(tx, actor, origin, &held.run, "rejected", Some(&why)).await?;
            } else {
                advance(tx, actor, origin, &held.run).await?;
            }
            Ok(approval)
        }
        Decision::Delegate(to, _) => {
            delegate(
                tx,
                actor,
                origin,
                &held,
                approval,
                to,
                reason.as_deref(),
                "delegation",
                now,
            )
            .await
        }
    }
}

async fn set_state(
    tx: &TenantTx,
    approval: Uuid,
    state: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    tx.execute(
        "update approvals set state = $2, reason = $3, decided_at = $4 where id = $1",
        &[&approval, &state, &reason, &now],
    )
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn delegate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    held: &Held,
    approval: Uuid,
    to: Uuid,
    reason: Option<&str>,
    via: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DomainError> {
    if to == held.approver {
        return Err(DomainError::Validation("delegate to someone else".into()));
    }
    if to == held.owner && !held.run.allow_self_approval {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "self_approval",
            "the contract's owner may not approve their own contract under this workflow",
            json!({}),
        ));
    }
    let delegate = tx
        .query_opt("select role, active from users where id = $1", &[&to])
        .await?;
    let eligible =
        delegate.is_some_and(|r| r.get::<_, bool>(1) && r.get::<_, String>(0) != "viewer");
    if !eligible {
        return Err(DomainError::Validation(
            "to_user_id must be an active user of this tenant who may act (member or above)".into(),
        ));
    }
    let holds_one: bool = tx
        .query_one(
            "select exists (select 1 from approvals where stage_id = $1 and approver_id = $2 and state = 'pending')",
            &[&held.stage_id, &to],
        )
        .await?
        .get(0);
    if holds_one {
        return Err(conflict(
            "already_an_approver",
            "that user already holds an approval in this stage",
            json!({ "to_user_id": to }),
        ));
    }
    set_state(tx, approval, "delegated", reason, now).await?;
    let new_id: Uuid = tx
        .query_one(
            "insert into approvals (stage_id, run_id, contract_id, approver_id, assigned_via, delegated_from, state, created_at) \
             values ($1, $2, $3, $4, $5, $6, 'pending', $7) returning id",
            &[&held.stage_id, &held.run.id, &held.run.contract_id, &to, &via, &approval, &now],
        )
        .await?
        .get(0);
    record(
        tx,
        actor,
        origin,
        "approval",
        "delegated",
        approval,
        json!({"contract_id": held.run.contract_id, "stage": held.stage_name, "to_user_id": to,
               "new_approval_id": new_id, "reason": reason}),
    )
    .await?;
    record(tx, actor, origin, "approval", "requested", new_id,
        json!({"contract_id": held.run.contract_id, "run_id": held.run.id, "stage_id": held.stage_id,
               "stage": held.stage_name, "approver_id": to, "delegated_from": approval, "due_at": held.due_at})).await?;
    Ok(new_id)
}

/// Hands every pending approval of a user who can no longer act (deactivated) to
/// someone who can, at once: an approval held by nobody would wait for an escalation
/// that a stage without one never gets. Tried in order: the user's out-of-office
/// delegate, the stage's escalation team, the tenant's admins; the first who may take
/// it (active, not a viewer, not already an approver of the stage, not the owner
/// unless self-approval is allowed) gets it, as a delegation recorded with its events.
/// Returns how many were handed over; one that nobody can take stays, and is logged.
pub async fn reassign_from(
    tx: &TenantTx,
    origin: &Origin,
    user: Uuid,
) -> Result<usize, DomainError> {
    let actor = Actor::system("approver deactivated");
    let now = unit::now(tx);
    let pending: Vec<(Uuid, Value)> = tx
        .query(
            "select a.id, s.spec from approvals a join workflow_stages s on s.id = a.stage_id \
             where a.approver_id = $1 and a.state = 'pending' and s.state = 'active' order by a.created_at",
            &[&user],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    if pending.is_empty() {
        return Ok(0);
    }
    let away_delegate: Option<Uuid> = tx
        .query_opt(
            "select delegate_id from out_of_office where user_id = $1",
            &[&user],
        )
        .await?
        .map(|row| row.get(0));
    let admins: Vec<Uuid> = tx
        .query(
            "select id from users where role = 'admin' and active and id <> $1 order by created_at",
            &[&user],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut handed = 0;
    for (approval, spec) in pending {
        let held = hold(tx, approval).await?;
        let mut candidates: Vec<Uuid> = away_delegate.into_iter().collect();
        if let Some(escalation) = serde_json::from_value::<StageBody>(spec)
            .ok()
            .and_then(|stage| stage.escalation)
        {
            let team = resolve(tx, &[format!("team:{}", escalation.team)]).await?;
            candidates.extend(team.into_iter().map(|(u, _)| u));
        }
        candidates.extend(admins.iter().copied());
        let mut taken = false;
        for to in candidates {
            if to == user {
                continue;
            }
            // `delegate` checks before it writes: a refusal leaves nothing behind.
            match delegate(
                tx,
                &actor,
                origin,
                &held,
                approval,
                to,
                Some("the approver was deactivated"),
                "deactivated",
                now,
            )
            .await
            {
                Ok(_) => {
                    taken = true;
                    break;
                }
                Err(DomainError::Validation(_) | DomainError::Refused { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        if taken {
            handed += 1;
        } else {
            tracing::warn!(%approval, %user, "a deactivated approver's approval has nobody to take it");
        }
    }
    Ok(handed)
}

async fn complete_stage(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    held: &Held,
    outcome: &'static str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    tx.execute(
        "update workflow_stages set state = $2, completed_at = $3 where id = $1",
        &[&held.stage_id, &outcome, &now],
    )
    .await?;
    tx.execute(
        "update approvals set state = 'not_needed' where stage_id = $1 and state = 'pending'",
        &[&held.stage_id],
    )
    .await?;
    record(
        tx,
        actor,
        origin,
        "workflow_stage",
        if outcome == "approved" {
            "completed"
        } else {
            "rejected"
        },
        held.stage_id,
        json!({"run_id": held.run.id, "contract_id": held.run.contract_id, "stage": held.stage_name,
               "within_sla": held.due_at.is_none_or(|due| now <= due)}),
    )
    .await
}

/// The deadline of a stage passed: marks it and its pending approvals overdue, records
/// the events, and applies the stage's escalation. A no-op when the stage is no longer
/// active or has a different deadline (a decision came in time, the round was voided).
pub async fn stage_due(
    tx: &TenantTx,
    origin: &Origin,
    stage_id: Uuid,
    due_at: DateTime<Utc>,
) -> Result<bool, DomainError> {
    let actor = Actor::system("workflow SLA");
    let now = unit::now(tx);
    // One statement: the stage is marked only if it still waits on this deadline (its
    // row lock serialises this with decisions), and its pending approvals with it.
    let stage = tx
        .query_opt(
            "with stage as (update workflow_stages set overdue_at = $3 \
                 where id = $1 and state = 'active' and due_at = $2 and overdue_at is null \
                 returning id, name, spec, run_id), \
             late as (update approvals a set overdue_at = $3 from stage \
                 where a.stage_id = stage.id and a.state = 'pending' returning a.id, a.approver_id) \
             select stage.name, stage.spec, r.id, r.contract_id, r.allow_self_approval, r.state, \
                    array(select id from late order by id), array(select approver_id from late order by id) \
             from stage join workflow_runs r on r.id = stage.run_id",
            &[&stage_id, &due_at, &now],
        )
        .await?;
    let Some(stage) = stage else {
        return Ok(false);
    };
    let name: String = stage.get(0);
    let spec: StageBody = serde_json::from_value(stage.get(1))
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("stored stage: {e}")))?;
    let run = Run {
        id: stage.get(2),
        contract_id: stage.get(3),
        allow_self_approval: stage.get(4),
        state: stage.get(5),
    };
    let (ids, approvers): (Vec<Uuid>, Vec<Uuid>) = (stage.get(6), stage.get(7));
    let late: Vec<(Uuid, Uuid)> = ids.into_iter().zip(approvers).collect();
    // The events go out pipelined: one round trip for all of them.
    let mut events = vec![record(
        tx,
        &actor,
        origin,
        "workflow_stage",
        "overdue",
        stage_id,
        json!({"run_id": run.id, "contract_id": run.contract_id, "stage": name, "due_at": due_at,
               "pending_approvers": late.iter().map(|(_, u)| u).collect::<Vec<_>>()}),
    )];
    for (approval, approver) in &late {
        events.push(record(tx, &actor, origin, "approval", "overdue", *approval,
            json!({"contract_id": run.contract_id, "stage": name, "approver_id": approver, "due_at": due_at})));
    }
    futures::future::try_join_all(events).await?;
    if let Some(escalation) = &spec.escalation {
        escalate(
            tx, &actor, origin, &run, stage_id, &name, escalation, &late, now,
        )
        .await?;
    }
    Ok(true)
}

#[allow(clippy::too_many_arguments)]
async fn escalate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    stage_id: Uuid,
    name: &str,
    escalation: &super::model::Escalation,
    late: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    tx.execute(
        "update workflow_stages set escalated_at = $2 where id = $1",
        &[&stage_id, &now],
    )
    .await?;
    let mut reassigned_to = Vec::new();
    if escalation.action == "reassign" && !late.is_empty() {
        let owner: Uuid = tx
            .query_one(
                "select owner_id from contracts where id = $1",
                &[&run.contract_id],
            )
            .await?
            .get(0);
        let team = resolve(tx, &[format!("team:{}", escalation.team)]).await?;
        let holding: Vec<Uuid> = tx
            .query(
                "select approver_id from approvals where stage_id = $1 and state in ('pending', 'approved')",
                &[&stage_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let late_users: Vec<Uuid> = late.iter().map(|(_, u)| *u).collect();
        let newcomers: Vec<Uuid> = team
            .into_iter()
            .map(|(u, _)| u)
            .filter(|u| {
                (run.allow_self_approval || *u != owner)
                    && (!holding.contains(u) || late_users.contains(u))
            })
            .collect();
        if !newcomers.is_empty() {
            let late_ids: Vec<Uuid> = late.iter().map(|(a, _)| *a).collect();
            tx.execute(
                "update approvals set state = 'reassigned', decided_at = $2 where id = any($1) and approver_id <> all($3)",
                &[&late_ids, &now, &newcomers],
            )
            .await?;
            let via = format!("escalation:{}", escalation.team);
            let fresh: Vec<Uuid> = newcomers
                .iter()
                .copied()
                .filter(|u| !late_users.contains(u))
                .collect();
            let rows = tx
                .query(
                    "insert into approvals (stage_id, run_id, contract_id, approver_id, assigned_via, state, created_at) \
                     select $1, $2, $3, u, $4, 'pending', $5 from unnest($6::uuid[]) as u returning id, approver_id",
                    &[&stage_id, &run.id, &run.contract_id, &via, &now, &fresh],
                )
                .await?;
            // "all" now waits for those who already approved plus the team; "any" and a
            // quorum keep their count.
            tx.execute(
                "update workflow_stages set required_approvals = \
                     (select count(*) from approvals where stage_id = $1 and state in ('approved', 'pending')) \
                 where id = $1 and approval_type = 'all'",
                &[&stage_id],
            )
            .await?;
            for row in &rows {
                let (approval, approver): (Uuid, Uuid) = (row.get(0), row.get(1));
                record(tx, actor, origin, "approval", "requested", approval,
                    json!({"contract_id": run.contract_id, "run_id": run.id, "stage_id": stage_id, "stage": name,
                           "approver_id": approver, "via": via})).await?;
            }
            reassigned_to = newcomers;
        }
    }
    record(tx, actor, origin, "workflow_stage", "escalated", stage_id,
        json!({"run_id": run.id, "contract_id": run.contract_id, "stage": name,
               "action": escalation.action, "team": escalation.team, "reassigned_to": reassigned_to})).await
}

/// A reminder before a stage's deadline: an event per pending approval, unless the
/// stage moved on.
pub async fn stage_reminder(
    tx: &TenantTx,
    origin: &Origin,
    stage_id: Uuid,
    due_at: DateTime<Utc>,
    hours_before: f64,
) -> Result<bool, DomainError> {
    let actor = Actor::system("workflow SLA");
    let rows = tx
        .query(
            "select a.id, a.approver_id, a.contract_id, s.name from workflow_stages s \
             join approvals a on a.stage_id = s.id and a.state = 'pending' \
             where s.id = $1 and s.state = 'active' and s.due_at = $2 and s.overdue_at is null",
            &[&stage_id, &due_at],
        )
        .await?;
    for row in &rows {
        let (approval, approver, contract, name): (Uuid, Uuid, Uuid, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        record(
            tx,
            &actor,
            origin,
            "approval",
            "reminded",
            approval,
            json!({"contract_id": contract, "stage": name, "approver_id": approver,
                   "due_at": due_at, "hours_before": hours_before}),
        )
        .await?;
    }
    Ok(!rows.is_empty())
}
