//! Deciding on a stage's approvals, without HTTP: approve, reject, delegate, and the
//! reassignment of a deactivated user's approvals. Each decision locks the contract's
//! row, then the stage's (see `engine`), so a stage completes exactly once.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::model::StageBody;
use crate::kernel::unit;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Refusal, Role};
use crate::tenancy::scoped::TenantTx;

use super::engine::*;

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
pub(super) struct Held {
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

pub(super) async fn hold(tx: &TenantTx, approval: Uuid) -> Result<Held, DomainError> {
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
        return Err(DomainError::conflict(
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
        return Err(DomainError::conflict(
            "already_decided",
            format!("this approval is already {}", held.state),
            json!({ "state": held.state }),
        ));
    }
    if held.stage_state != "active" || held.run.state != "running" {
        return Err(DomainError::conflict(
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
            let handover = Handover {
                approval,
                to,
                reason: reason.as_deref(),
                via: "delegation",
            };
            delegate(tx, actor, origin, &held, handover, now).await
        }
    }
}

pub(super) async fn set_state(
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

/// An approval handed to someone else: which, to whom, why, and how (a delegation by
/// its approver, an out-of-office rule, a deactivation).
pub(super) struct Handover<'a> {
    pub approval: Uuid,
    pub to: Uuid,
    pub reason: Option<&'a str>,
    pub via: &'a str,
}

pub(super) async fn delegate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    held: &Held,
    handover: Handover<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, DomainError> {
    let Handover {
        approval,
        to,
        reason,
        via,
    } = handover;
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
        return Err(DomainError::conflict(
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
            let handover = Handover {
                approval,
                to,
                reason: Some("the approver was deactivated"),
                via: "deactivated",
            };
            match delegate(tx, &actor, origin, &held, handover, now).await {
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

pub(super) async fn complete_stage(
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
