//! What a notification can be and where it can go: the types a user chooses channels
//! for, the ones nobody can mute, and the channels.

/// Every notification type.
pub const TYPES: &[&str] = &[
    "approval_requested",
    "approval_delegated",
    "approval_approved",
    "approval_rejected",
    "approval_overdue",
    "approval_escalated",
    "workflow_completed",
    "contract_updated",
    "mentioned",
    "contract_expiring",
    "renewal_notice_due",
    "ocr_finished",
    "ocr_failed",
    "obligation_due",
    "task_assigned",
    "task_reminder",
    "task_overdue",
    "case_assigned",
    "case_sla_breached",
    "case_sla_at_risk",
    "case_escalated",
    "invoice_payment_due",
    "invoice_overdue",
    "invoice_email_failed",
    "generative_summary_ready",
    "generative_summary_failed",
];

/// Types nobody can mute in the inbox or by email: someone is waiting on the recipient.
/// They are never held for a digest either (quiet hours still defer their email).
pub const CRITICAL: &[&str] = &[
    "approval_requested",
    "approval_delegated",
    "approval_overdue",
    "approval_escalated",
];

pub const CHANNELS: &[&str] = &["in_app", "email", "chat"];

pub fn is_critical(kind: &str) -> bool {
    CRITICAL.contains(&kind)
}
