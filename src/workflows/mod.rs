//! Approval workflows: definitions written in the workflow seed's shape and
//! matched by trigger rules ([`rules`], [`definitions`], [`matching`]); rounds of stages run by
//! [`engine`], decided in [`decisions`], started and voided by [`reactions`] to
//! contract events; SLA deadlines and reminders ([`sla`]) as durable [`timers`] counted
//! in the tenant's business calendar ([`crate::sla`]); what clients read ([`views`]).

pub mod decisions;
pub mod definitions;
pub mod engine;
pub mod matching;
pub mod model;
pub mod reactions;
pub mod routes;
pub mod rules;
pub mod settings;
pub mod sla;
pub mod timers;
pub mod views;

pub use reactions::react_to;
pub use routes::configure;
