//! The notifier: turns events into notifications. Areas never call it: a reaction to
//! each event type that may concern someone adds the event to its transaction's one
//! `notifications.from_event` job (one job per unit of work, however many events it
//! records), and the job decides who is told, on which channels, and when. Each insert
//! is keyed by (event, recipient, type), so a job that runs twice makes nothing twice.
//! The one who caused the event is never told about it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::delivery::{self, Made};
use super::inbox::{NotificationView, COLUMNS};
use super::preferences;
use super::stream::{Fanout, Published};
use crate::kernel::jobs::{enqueue_collecting, BackgroundJob, JobContext, JobError, JobKind};
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
    "contract.expiring",
    "contract.renewal_notice_due",
    "attachment.text_extracted",
    "attachment.text_failed",
    "obligation.due",
    "task.assigned",
    "task.reminder",
    "task.overdue",
    "case.assigned",
    "case.sla_breached",
    "case.sla_at_risk",
    "case.escalated",
    "invoice.payment_due",
    "invoice.overdue",
    "invoice.email_failed",
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
        enqueue_collecting(tx, FROM_EVENT, json!(event.id)).await?;
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
    contract: Option<Uuid>,
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
                contract,
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
                contract,
            }
        }
        "approval.overdue" => Planned {
            recipients: uuid(&changes["approver_id"]).into_iter().collect(),
            kind: "approval_overdue",
            title: format!("Overdue: your approval for {stage}"),
            entity: "approval",
            entity_id,
            link: workflow_link(contract),
            contract,
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
                contract,
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
            contract,
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
                contract: entity_id,
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
                link: target.map(|t| {
                    let collection = match changes["target_kind"].as_str() {
                        Some("counterparty") => "counterparties",
                        Some("contact") => "contacts",
                        Some("lead") => "leads",
                        Some("opportunity") => "opportunities",
                        Some("invoice") => "invoices",
                        Some("case") => "cases",
                        _ => "contracts",
                    };
                    format!("/api/v1/{collection}/{t}/comments")
                }),
                contract: target
                    .filter(|_| matches!(changes["target_kind"].as_str(), None | Some("contract"))),
            }
        }
        "contract.expiring" | "contract.renewal_notice_due" => {
            let expiring = event_type == "contract.expiring";
            let title = text(&changes["title"]);
            let days = changes["days_before"].as_i64().unwrap_or_default();
            Planned {
                recipients: owner_of(tx, entity_id).await?,
                kind: if expiring {
                    "contract_expiring"
                } else {
                    "renewal_notice_due"
                },
                title: if expiring {
                    format!(
                        "{title} ends in {days} days ({})",
                        text(&changes["end_date"])
                    )
                } else {
                    format!(
                        "Notice to stop {title} renewing is due in {days} days ({})",
                        text(&changes["notice_date"])
                    )
                },
                entity: "contract",
                entity_id,
                link: entity_id.map(|c| format!("/api/v1/contracts/{c}")),
                contract: entity_id,
            }
        }
        "obligation.due" => {
            let days = changes["days_before"].as_i64().unwrap_or_default();
            let when = match days {
                0 => "today".to_owned(),
                1 => "tomorrow".to_owned(),
                _ => format!("in {days} days"),
            };
            Planned {
                recipients: uuid(&changes["assignee_id"]).into_iter().collect(),
                kind: "obligation_due",
                title: match text(&changes["party"]).as_str() {
                    // A redacted contract's reminder names no words of its original.
                    "" => format!(
                        "Due {when} ({}): an obligation of {}",
                        text(&changes["due_date"]),
                        text(&changes["title"])
                    ),
                    party => format!(
                        "Due {when} ({}), {}: {party} must {}",
                        text(&changes["due_date"]),
                        text(&changes["title"]),
                        crate::kernel::validate::truncate(&text(&changes["action"]), 120)
                    ),
                },
                entity: "obligation",
                entity_id,
                link: contract.map(|c| format!("/api/v1/contracts/{c}/obligation-tasks")),
                contract,
            }
        }
        "task.assigned" | "task.reminder" | "task.overdue" => {
            let title = crate::kernel::validate::truncate(&text(&changes["title"]), 120);
            // Timers tell the assignee, or the creator while nobody is assigned.
            let recipient = uuid(&changes["assignee_id"]).or(uuid(&changes["created_by"]));
            let due = changes["due_at"]
                .as_str()
                .map(|d| format!(" (due {d})"))
                .unwrap_or_default();
            Planned {
                recipients: recipient.into_iter().collect(),
                kind: match event_type {
                    "task.assigned" => "task_assigned",
                    "task.reminder" => "task_reminder",
                    _ => "task_overdue",
                },
                title: match event_type {
                    "task.assigned" => format!("A task for you: {title}{due}"),
                    "task.reminder" => format!("Reminder: {title}{due}"),
                    _ => format!("Overdue: {title}{due}"),
                },
                entity: "task",
                entity_id,
                link: entity_id.map(|t| format!("/api/v1/tasks/{t}")),
                contract: uuid(&changes["target_id"])
                    .filter(|_| changes["target_kind"] == "contract"),
            }
        }
        "case.assigned" | "case.sla_breached" | "case.sla_at_risk" | "case.escalated" => {
            let case = format!(
                "CASE-{} {}",
                changes["number"],
                crate::kernel::validate::truncate(&text(&changes["subject"]), 120)
            );
            let clock = text(&changes["clock"]).replace('_', " ");
            let (kind, title, recipients) = match event_type {
                "case.assigned" => (
                    "case_assigned",
                    format!("A case for you: {case}"),
                    uuid(&changes["assignee_id"]).into_iter().collect(),
                ),
                "case.sla_at_risk" => (
                    "case_sla_at_risk",
                    format!(
                        "{case}: the {clock} SLA is due at {}",
                        text(&changes["due_at"])
                    ),
                    uuid(&changes["assignee_id"])
                        .or(uuid(&changes["created_by"]))
                        .into_iter()
                        .collect(),
                ),
                "case.sla_breached" => (
                    "case_sla_breached",
                    format!("{case}: the {clock} SLA was breached"),
                    uuid(&changes["assignee_id"])
                        .or(uuid(&changes["created_by"]))
                        .into_iter()
                        .collect(),
                ),
                _ => (
                    "case_escalated",
                    format!(
                        "Escalated to {}: {case} breached its {clock} SLA",
                        text(&changes["team"])
                    ),
                    changes["members"]
                        .as_array()
                        .map(|m| m.iter().filter_map(uuid).collect())
                        .unwrap_or_default(),
                ),
            };
            Planned {
                recipients,
                kind,
                title,
                entity: "case",
                entity_id,
                link: entity_id.map(|c| format!("/api/v1/cases/{c}")),
                contract,
            }
        }
        "invoice.payment_due" | "invoice.overdue" => {
            let rows = tx
                .query(
                    "select i.created_by from invoices i where i.id = $1 and i.created_by is not null \
                     union select a.owner_id from invoices i join counterparties a on a.id = i.account_id \
                     where i.id = $1 and a.owner_id is not null",
                    &[&entity_id],
                )
                .await?;
            let number = text(&changes["number"]);
            let due = text(&changes["due_date"]);
            let balance = text(&changes["balance"]);
            Planned {
                recipients: rows.iter().map(|r| r.get(0)).collect(),
                kind: if event_type == "invoice.overdue" {
                    "invoice_overdue"
                } else {
                    "invoice_payment_due"
                },
                title: if event_type == "invoice.overdue" {
                    format!("Invoice {number} is overdue (due {due}, {balance} unpaid)")
                } else {
                    format!("Invoice {number} is due {due} ({balance} unpaid)")
                },
                entity: "invoice",
                entity_id,
                link: entity_id.map(|i| format!("/api/v1/invoices/{i}")),
                contract: None,
            }
        }
        // Whoever asked for an invoice to be mailed hears when it could not be.
        "invoice.email_failed" => Planned {
            recipients: uuid(&changes["requested_by"]).into_iter().collect(),
            kind: "invoice_email_failed",
            title: format!(
                "Invoice {} could not be emailed to {}: {}",
                text(&changes["number"]),
                changes["to"]
                    .as_array()
                    .map(|to| to.iter().map(text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                crate::kernel::validate::truncate(&text(&changes["error"]), 200)
            ),
            entity: "invoice",
            entity_id,
            link: entity_id.map(|i| format!("/api/v1/invoices/{i}/emails")),
            contract: None,
        },
        // Reading a file's own text takes moments; OCR of a scan can take minutes, so
        // its uploader hears when it is done.
        "attachment.text_extracted" | "attachment.text_failed" if changes["method"] == "ocr" => {
            let Some(file) = tx
                .query_opt(
                    "select uploaded_by, filename, case when target_kind = 'contract' then target_id end \
                     from attachments where id = $1",
                    &[&entity_id],
                )
                .await?
            else {
                return Ok(None);
            };
            let (uploader, filename, contract): (Option<Uuid>, String, Option<Uuid>) =
                (file.get(0), file.get(1), file.get(2));
            let read = event_type == "attachment.text_extracted";
            Planned {
                recipients: uploader.into_iter().collect(),
                kind: if read { "ocr_finished" } else { "ocr_failed" },
                title: if read {
                    format!(
                        "The text of {filename} was recognised ({} pages)",
                        changes["pages"]
                    )
                } else {
                    format!("The text of {filename} could not be recognised")
                },
                entity: "attachment",
                entity_id,
                link: entity_id.map(|a| format!("/api/v1/attachments/{a}/text")),
                contract,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(planned))
}

/// Makes the notifications of one event, once, with their deliveries; returns the
/// messages to publish to open streams.
pub async fn from_event(
    tx: &TenantTx,
    event_id: i64,
    fanout: Option<&Fanout>,
) -> Result<Vec<String>, DomainError> {
    let Some(event) = tx
        .query_opt(
            "select event_type, entity_id, actor_id, changes from audit_logs where id = $1",
            &[&event_id],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let (event_type, entity_id, actor, changes): (String, Option<Uuid>, Option<Uuid>, Value) =
        (event.get(0), event.get(1), event.get(2), event.get(3));
    let Some(planned) = plan(tx, &event_type, entity_id, &changes).await? else {
        return Ok(Vec::new());
    };
    let mut recipients = planned.recipients;
    recipients.sort();
    recipients.dedup();
    recipients.retain(|r| Some(*r) != actor);
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let choices = preferences::resolve_many(tx, &recipients).await?;
    let wanted = |user: &Uuid, channel: &str| {
        choices
            .get(user)
            .is_some_and(|r| r.wants(channel, planned.kind))
    };
    // Told somewhere at all; a muted inbox still keeps the record, archived on arrival,
    // for the email or chat message that refers to it.
    recipients.retain(|r| wanted(r, "in_app") || wanted(r, "email") || wanted(r, "chat"));
    let archived: Vec<bool> = recipients.iter().map(|r| !wanted(r, "in_app")).collect();
    let now = crate::kernel::unit::now(tx);
    let rows = tx
        .query(
            &format!(
                "insert into notifications (recipient_id, type, title, entity, entity_id, link, metadata, event_id, created_at, archived_at) \
                 select r.id, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, case when r.archived then $9::timestamptz end \
                 from unnest($1::uuid[], $10::bool[]) as r(id, archived) \
                 join users u on u.id = r.id and u.active \
                 on conflict (event_id, recipient_id, type) do nothing \
                 returning {COLUMNS}, recipient_id"
            ),
            &[
                &recipients,
                &planned.kind,
                &planned.title,
                &planned.entity,
                &planned.entity_id,
                &planned.link,
                &json!({"event_type": event_type, "actor_id": actor, "contract_id": planned.contract}),
                &event_id,
                &now,
                &archived,
            ],
        )
        .await?;
    let tenant = tx.tenant_id().0;
    let mut made = Vec::with_capacity(rows.len());
    let mut messages = Vec::new();
    for row in &rows {
        let view = NotificationView::from(row);
        let recipient: Uuid = row.get(12);
        if view.archived_at.is_none() {
            let data = serde_json::to_string(&view).unwrap_or_default();
            let published = Published {
                tenant,
                recipient,
                id: view.id,
                data: serde_json::value::RawValue::from_string(data)
                    .map_err(|e| DomainError::Internal(e.into()))?,
            };
            messages.push(serde_json::to_string(&published).unwrap_or_default());
        }
        made.push(Made {
            id: view.id,
            recipient,
            kind: view.kind,
        });
    }
    delivery::plan(tx, &made, &choices).await?;
    if let Some(fanout) = fanout {
        fanout.publish_in(tx, &messages).await?;
    }
    Ok(messages)
}

/// The notifier's job: the events of one unit of work (`items`, collected by
/// `enqueue_collecting`; a job of an older build carries a single `event_id`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FromEvent {
    #[serde(default)]
    pub items: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
}

impl BackgroundJob for FromEvent {
    const KIND: JobKind = FROM_EVENT;
    type Env = Option<Fanout>;

    async fn run(self, ctx: JobContext, fanout: Option<Fanout>) -> Result<(), JobError> {
        let mut ids = self.items;
        ids.extend(self.event_id);
        if ids.is_empty() {
            return Err(JobError::Cancel(format!(
                "malformed arguments for {}: no events",
                FROM_EVENT.name
            )));
        }
        from_events(ctx, fanout, ids).await
    }
}

/// Runs the notifier over the events of one unit of work, in one transaction.
async fn from_events(
    ctx: JobContext,
    fanout: Option<Fanout>,
    ids: Vec<i64>,
) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    // One notifier at a time per tenant, until commit: notification ids are then in
    // commit order, so a stream that reconnects with `Last-Event-ID` and replays what
    // came after it cannot miss one that committed late with a smaller id. A
    // transaction-level lock, so it holds behind a transaction pooler.
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 14))",
        &[&format!("notifier:{}", ctx.job.tenant.0)],
    )
    .await?;
    let mut messages = Vec::new();
    for id in ids {
        messages.extend(from_event(&tx, id, fanout.as_ref()).await?);
    }
    tx.commit().await?;
    if let Some(fanout) = fanout {
        fanout.publish_after(&messages).await;
    }
    Ok(())
}
