//! A stage's SLA, without HTTP: what its deadline does when it passes (the stage marked
//! overdue, reassigned or escalated as its definition says) and its reminders. Run by
//! the timer jobs in `timers`; each checks under the stage's lock that the deadline it
//! carries still holds.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::model::StageBody;
use crate::kernel::unit;
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

use super::engine::*;

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
        let overdue = Overdue {
            stage_id,
            name: &name,
            late: &late,
            now,
        };
        escalate(tx, &actor, origin, &run, escalation, overdue).await?;
    }
    Ok(true)
}

/// A stage past its deadline: which, its name, its late approvals (approval,
/// approver), and when it was found late.
struct Overdue<'a> {
    stage_id: Uuid,
    name: &'a str,
    late: &'a [(Uuid, Uuid)],
    now: DateTime<Utc>,
}

async fn escalate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    run: &Run,
    escalation: &super::model::Escalation,
    overdue: Overdue<'_>,
) -> Result<(), DomainError> {
    let Overdue {
        stage_id,
        name,
        late,
        now,
    } = overdue;
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
