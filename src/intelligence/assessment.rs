//! The risk assessment job's request, apart from [`super::risk`] which runs it: the
//! parts that ask for an assessment (a contract's change, its passages made again)
//! name it here without depending on the risk rules, which themselves read what those
//! parts store.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::jobs::JobKind;

pub const ASSESS_RISK: JobKind = JobKind {
    name: "intelligence.assess_risk",
    queue: "default",
    priority: 5,
    max_attempts: 3,
    timeout: Duration::from_secs(120),
};

/// Weighs a contract against its tenant's policy again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessRisk {
    pub contract_id: Uuid,
}
