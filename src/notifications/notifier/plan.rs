//! Who an event concerns, and what they are told: the plan the notifier makes of
//! each event before it writes anything.

use serde_json::Value;
use uuid::Uuid;

use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

/// Notifications one event makes: who, and what they are told.
pub(super) struct Planned {
    pub(super) recipients: Vec<Uuid>,
    pub(super) kind: &'static str,
    pub(super) title: String,
    pub(super) entity: &'static str,
    pub(super) entity_id: Option<Uuid>,
    pub(super) link: Option<String>,
    pub(super) contract: Option<Uuid>,
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
pub(super) async fn plan(
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
        "invoice.payment_due" | "invoice.overdue" | "invoice.dunning" => {
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
                kind: if event_type == "invoice.payment_due" {
                    "invoice_payment_due"
                } else {
                    "invoice_overdue"
                },
                title: match (event_type, changes["days_overdue"].as_i64()) {
                    ("invoice.payment_due", _) => {
                        format!("Invoice {number} is due {due} ({balance} unpaid)")
                    }
                    ("invoice.dunning", Some(days)) => format!(
                        "Invoice {number} is {days} days overdue (due {due}, {balance} unpaid)"
                    ),
                    _ => format!("Invoice {number} is overdue (due {due}, {balance} unpaid)"),
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
        "contract.generative_summary" if changes["background"] == true => {
            let title: Option<String> = tx
                .query_opt("select title from contracts where id = $1", &[&entity_id])
                .await?
                .map(|row| row.get(0));
            let (Some(title), Some(asker)) = (title, uuid(&changes["requested_by"])) else {
                return Ok(None);
            };
            let outcome = text(&changes["outcome"]);
            let made = outcome == "answered" || outcome == "reused";
            Planned {
                recipients: vec![asker],
                kind: if made {
                    "generative_summary_ready"
                } else {
                    "generative_summary_failed"
                },
                title: if made {
                    format!("The generative summary of {title} is ready")
                } else {
                    format!("The generative summary of {title} was not made: {outcome}")
                },
                entity: "contract",
                entity_id,
                link: entity_id.map(|c| format!("/api/v1/contracts/{c}/summary/generative")),
                contract: entity_id,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(planned))
}
