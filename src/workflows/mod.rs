//! Approval workflows (issue 13, in progress): the trigger-rule language that
//! definitions and stage conditions are written in ([`rules`]) and the tenant's business
//! calendar that SLAs are counted in ([`calendar`], `/api/v1/business-calendar`).
//! Definitions, stages, approvals and SLA timers come next.

pub mod calendar;
pub mod routes;
pub mod rules;

pub use routes::configure;
