//! The notifier: turns events into notifications. Areas never call it: a reaction to
//! each event type that may concern someone enqueues a `notifications.from_event` job in
//! the event's own transaction, and the job decides who is told. Each insert is keyed by
//! (event, recipient, type), so a job that runs twice makes nothing twice. The one who
//! caused the event is never told about it.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::kernel::jobs::{enqueue, JobContext, JobError, JobKind, NewJob};
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

pub const FROM_EVENT: JobKind = JobKind {
    name: "notifications.from_event",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: std::time::Duration::from_secs(30),
};

/// The event types that may concern someone.
pub const EVENT_TYPES: &[&str] = &[
    "approval.requested",
    "approval.approved",
    "approval.rejected",
    "approval.overdue",
    "workflow_stage.escalated",
    "workflow_run.approved",
    "workflow_run.rejected",
    "contract.updated",
    "comment.created",
];

pub fn react_to(reactions: &mut Reactions) {
    for event_type in EVENT_TYPES {
        reactions.on(event_type, enqueue_for);
    }
}

fn enqueue_for<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        enqueue(
            tx,
            vec![NewJob::now(FROM_EVENT, json!({"event_id": event.id}))],
        )
        .await?;
        Ok(())
    })
}

/// Notifications one event makes: who, and what they are told.
struct Planned {
    recipients: Vec<Uuid>,
    kind: &'static str,
    title: String,
    entity: &'static str,
    entity_id: Option<Uuid>,
    link: Option<String>,
}

fn uuid(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|s| s.parse().ok())
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

async fn owner_of(tx: &TenantTx, contract: Option<Uuid>) -> Result<Vec<Uuid>, DomainError> {
    Ok(tx
        .query("select owner_id from contracts where id = $1", &[&contract])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn workflow_link(contract: Option<Uuid>) -> Option<String> {
    contract.map(|c| format!("/api/v1/contracts/{c}/workflow"))
}

/// Who an event concerns, and how.
async fn plan(
    tx: &TenantTx,
    event_type: &str,
    entity_id: Option<Uuid>,
    changes: &Value,
) -> Result<Option<Planned>, DomainError> {
    let contract = uuid(&changes["contract_id"]);
    let stage = text(&changes["stage"]);
    let planned = match event_type {
        "approval.requested" => {
            let delegated = !changes["delegated_from"].is_null();
            Planned {
                recipients: uuid(&changes["approver_id"]).into_iter().collect(),
                kind: if delegated {
                    "approval_delegated"
                } else {
                    "approval_requested"
                },
                title: if delegated {
                    format!("An approval was delegated to you: {stage}")
                } else {
                    format!("Your approval is requested: {stage}")
                },
                entity: "approval",
                entity_id,
                link: workflow_link(contract),
            }
        }
        "approval.approved" | "approval.rejected" => {
            let approved = event_type == "approval.approved";
            Planned {
                recipients: owner_of(tx, contract).await?,
                kind: if approved {
                    "approval_approved"
                } else {
                    "approval_rejected"
                },
                title: format!(
                    "{stage}: {}",
                    if approved { "approved" } else { "rejected" }
                ),
                entity: "approval",
                entity_id,
                link: workflow_link(contract),
            }
        }
        "approval.overdue" => Planned {
            recipients: uuid(&changes["approver_id"]).into_iter().collect(),
            kind: "approval_overdue",
            title: format!("Overdue: your approval for {stage}"),
            entity: "approval",
            entity_id,
            link: workflow_link(contract),
        },
        "workflow_stage.escalated" => {
            let team = text(&changes["team"]);
            let members = tx
                .query(
                    "select m.user_id from team_members m join teams t on t.id = m.team_id where t.name = $1",
                    &[&team],
                )
                .await?;
            Planned {
                recipients: members.iter().map(|r| r.get(0)).collect(),
                kind: "approval_escalated",
                title: format!("Escalated to {team}: {stage} is overdue"),
                entity: "workflow_stage",
                entity_id,
                link: workflow_link(contract),
            }
        }
        "workflow_run.approved" | "workflow_run.rejected" => Planned {
            recipients: owner_of(tx, contract).await?,
            kind: "workflow_completed",
            title: format!(
                "The approval workflow {} your contract",
                if event_type == "workflow_run.approved" {
                    "approved"
                } else {
                    "rejected"
                }
            ),
            entity: "contract",
            entity_id: contract,
            link: workflow_link(contract),
        },
        "contract.updated" => {
            let rows = tx
                .query(
                    "select owner_id from contracts where id = $1 \
                     union select approver_id from approvals where contract_id = $1 and state = 'pending'",
                    &[&entity_id],
                )
                .await?;
            Planned {
                recipients: rows.iter().map(|r| r.get(0)).collect(),
                kind: "contract_updated",
                title: "A contract you own or approve was updated".into(),
                entity: "contract",
                entity_id,
                link: entity_id.map(|c| format!("/api/v1/contracts/{c}")),
            }
        }
        "comment.created" => {
            let target = uuid(&changes["target_id"]);
            Planned {
                recipients: changes["mentions"]
                    .as_array()
                    .map(|m| m.iter().filter_map(uuid).collect())
                    .unwrap_or_default(),
                kind: "mentioned",
                title: "You were mentioned in a comment".into(),
                entity: "comment",
                entity_id,
                link: target.map(|t| format!("/api/v1/contracts/{t}/comments")),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(planned))
}

/// Makes the notifications of one event, once.
pub async fn from_event(tx: &TenantTx, event_id: i64) -> Result<usize, DomainError> {
    let Some(event) = tx
        .query_opt(
            "select event_type, entity_id, actor_id, changes from audit_logs where id = $1",
            &[&event_id],
        )
        .await?
    else {
        return Ok(0);
    };
    let (event_type, entity_id, actor, changes): (String, Option<Uuid>, Option<Uuid>, Value) =
        (event.get(0), event.get(1), event.get(2), event.get(3));
    let Some(planned) = plan(tx, &event_type, entity_id, &changes).await? else {
        return Ok(0);
    };
    let mut recipients = planned.recipients;
    recipients.sort();
    recipients.dedup();
    recipients.retain(|r| Some(*r) != actor);
    if recipients.is_empty() {
        return Ok(0);
    }
    let made = tx
        .execute(
            "insert into notifications (recipient_id, type, title, entity, entity_id, link, metadata, event_id) \
             select r, $2, $3, $4, $5, $6, $7, $8 from unnest($1::uuid[]) as r \
             join users u on u.id = r and u.active \
             on conflict (event_id, recipient_id, type) do nothing",
            &[
                &recipients,
                &planned.kind,
                &planned.title,
                &planned.entity,
                &planned.entity_id,
                &planned.link,
                &json!({"event_type": event_type, "actor_id": actor}),
                &event_id,
            ],
        )
        .await?;
    Ok(made as usize)
}

pub async fn from_event_job(ctx: JobContext) -> Result<(), JobError> {
    let Some(event_id) = ctx.job.args["event_id"].as_i64() else {
        return Err(JobError::Cancel(format!(
            "malformed arguments: {}",
            ctx.job.args
        )));
    };
    let tx = ctx.db.begin().await?;
    from_event(&tx, event_id).await?;
    tx.commit().await?;
    Ok(())
}
