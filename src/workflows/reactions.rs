//! How workflows answer contract events, in the transaction that records them: a
//! submission starts the matching workflow (or is refused, by the tenant's setting,
//! when none matches); a manager's direct approval is refused while a workflow runs;
//! a change to a material term voids the round's decisions and starts again.

use serde_json::{json, Value};

use super::{decisions, engine, settings};
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin, Refusal};
use crate::tenancy::scoped::TenantTx;

/// Terms whose change voids the decisions taken on the version before.
pub const MATERIAL_TERMS: &[&str] = &[
    "value",
    "currency",
    "contract_type",
    "counterparty_id",
    "body",
];

pub fn react_to(reactions: &mut Reactions) {
    reactions
        .on("contract.status_changed", status_changed)
        .on("contract.updated", updated)
        .on("user.updated", user_updated);
}

fn status(changes: &Value, which: &str) -> String {
    changes["status"][which]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn status_changed<'a>(
    tx: &'a TenantTx,
    actor: &'a Actor,
    origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(contract) = event.entity_id else {
            return Ok(());
        };
        let (old, new) = (status(event.changes, "old"), status(event.changes, "new"));
        if new == "in_review" {
            let started =
                engine::start(tx, actor, origin, contract, None, "submitted for review").await?;
            if started.is_none() && settings::unmatched(tx).await? == "refuse" {
                return Err(DomainError::refused(
                    Refusal::Conflict,
                    "no_workflow_matches",
                    "no active workflow definition matches this contract, and this tenant refuses submissions no workflow covers; see POST /api/v1/workflows/match",
                    json!({ "contract_id": contract }),
                ));
            }
        } else if old == "in_review" && engine::running(tx, contract).await?.is_some() {
            return Err(DomainError::refused(
                Refusal::Conflict,
                "workflow_in_progress",
                "a workflow decides this contract; its approvers act through /api/v1/approvals",
                json!({ "contract_id": contract }),
            ));
        }
        Ok(())
    })
}

fn updated<'a>(
    tx: &'a TenantTx,
    actor: &'a Actor,
    origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(contract) = event.entity_id else {
            return Ok(());
        };
        let changed: Vec<&str> = MATERIAL_TERMS
            .iter()
            .copied()
            .filter(|term| event.changes.get(*term).is_some())
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let in_review: bool = tx
            .query_one(
                "select status = 'in_review' from contracts where id = $1",
                &[&contract],
            )
            .await?
            .get(0);
        if !in_review {
            return Ok(());
        }
        let reason = format!("material change: {}", changed.join(", "));
        engine::end_round(tx, actor, origin, contract, "voided", &reason).await?;
        engine::start(tx, actor, origin, contract, None, &reason).await?;
        Ok(())
    })
}

/// A user deactivated: their pending approvals go to someone who can act, at once.
fn user_updated<'a>(
    tx: &'a TenantTx,
    _actor: &'a Actor,
    origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let deactivated = event.changes["active"]["new"] == Value::Bool(false);
        if let (true, Some(user)) = (deactivated, event.entity_id) {
            decisions::reassign_from(tx, origin, user).await?;
        }
        Ok(())
    })
}
