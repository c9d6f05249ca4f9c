//! Approval workflows (issue 13, in progress): today, the trigger-rule language that
//! definitions and stage conditions are written in ([`rules`]). Definitions, stages,
//! approvals, SLAs and their routes come next.

pub mod rules;
