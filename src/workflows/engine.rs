//! A workflow round's life, without HTTP: starting a round from a definition's
//! snapshot, activating stages (approvers resolved, out-of-office honoured, the
//! deadline counted in business hours and written as durable timers), advancing, and
//! closing the round and settling the contract when the last stage is done. Decisions
//! are in `decisions`, the SLA's deadlines and reminders in `sla`.
//!
//! Every change locks its contract's row and then its stage's before reading anything
//! else, so two approvers acting at the same instant are serialised (the second sees
//! the first's decision, and a stage completes exactly once), and a decision racing an
//! edit of the contract takes the locks in the edit's order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::definitions;
use super::matching::{self, Subject};
use super::model::{ApproverRef, StageBody, StageDue, StageReminder};
use crate::contracts::model::Status;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{enqueue, BackgroundJob};
use crate::kernel::unit;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin};
use crate::sla::Deadlines;
use crate::tenancy::scoped::TenantTx;

/// The longest out-of-office chain followed (A away to B, B away to C, ...).
pub(super) const MAX_DELEGATION_HOPS: usize = 5;

/// A run's fields the engine works with.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub allow_self_approval: bool,
    pub state: String,
}

pub(super) const RUN_COLUMNS: &str = "id, contract_id, allow_self_approval, state";

pub(super) fn run_from(row: &tokio_postgres::Row) -> Run {
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

pub(super) async fn record(
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
        return Err(DomainError::conflict(
            "not_in_review",
            format!("a workflow runs on a contract in review; this one is {status}"),
            json!({ "status": status }),
        ));
    }
    let definition = match definition {
        Some(id) => id,
        None => match matching::winner(tx, &Subject::Contract(contract_id)).await? {
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
pub(super) async fn advance(
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
            let truth = matching::evaluate(
                tx,
                &Subject::Contract(run.contract_id),
                &[matching::compile_rule(condition)?],
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
pub(super) struct Holder {
    user: Uuid,
    via: String,
    /// The approvers away, in order, whose approvals were passed on to `user`.
    away: Vec<(Uuid, String)>,
}

/// The users `approvers` name who may act (active, above viewer), in the order named,
/// each once.
pub(super) async fn resolve(
    tx: &TenantTx,
    approvers: &[String],
) -> Result<Vec<(Uuid, String)>, DomainError> {
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
pub(super) async fn honour_out_of_office(
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

pub(super) async fn activate(
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
        return Err(DomainError::conflict(
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
            let business = Deadlines::load(tx).await?;
            // Checked when the definition was saved, but the calendar may have changed.
            let after = |hours: f64| {
                business.after(now, hours).map_err(|e| {
                    DomainError::conflict(
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
            (Some(after(sla)?), reminders)
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
        let mut jobs = vec![StageDue {
            stage_id,
            due_at: due,
        }
        .at(due)];
        for (hours, at) in reminders {
            let reminder = StageReminder {
                stage_id,
                due_at: due,
                hours_before: hours,
            };
            jobs.push(reminder.at(at));
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
/// How a round ends: its own state, what its pending approvals and open stages
/// become, and why.
pub(super) struct Closing<'a> {
    pub state: &'static str,
    pub leftover: &'a str,
    pub reason: Option<&'a str>,
}

pub(super) async fn close_round(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    closing: Closing<'_>,
) -> Result<(), DomainError> {
    let Closing {
        state,
        leftover,
        reason,
    } = closing;
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
pub(super) async fn finish(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    outcome: &'static str,
    reason: Option<&str>,
) -> Result<(), DomainError> {
    let closing = Closing {
        state: outcome,
        leftover: "cancelled",
        reason,
    };
    close_round(tx, actor, origin, run, closing).await?;
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
    let closing = Closing {
        state,
        leftover: state,
        reason: Some(reason),
    };
    close_round(tx, actor, origin, &run, closing).await?;
    Ok(Some(run.id))
}
