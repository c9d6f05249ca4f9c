//! Support cases on an account or a contract: priority, status, assignee, and two SLA
//! clocks (first response, resolution) counted in the tenant's business calendar on
//! the shared SLA engine ([`crate::sla`]), with breaches marked and escalated to the
//! policy's team ([`sla`]). A comment or a logged activity on a case by someone other
//! than who opened it is its first response: the case hears of it by the events
//! `comment.created` and `activity.created`, never by those areas calling it.

pub mod model;
pub mod policies;
pub mod routes;
pub mod service;
pub mod sla;

use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, Origin};
use crate::tenancy::scoped::TenantTx;
use routes::*;

pub use model::{CaseView, NewCase, UpdateCase, CASE_TARGET};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // The export before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_cases)
        .service(list_cases)
        .service(create_case)
        .service(get_case)
        .service(update_case)
        .service(delete_case)
        .service(list_case_comments)
        .service(create_case_comment)
        .service(get_case_sla_policies)
        .service(put_case_sla_policies);
}

pub fn react_to(reactions: &mut Reactions) {
    reactions.on("comment.created", first_response);
    reactions.on("activity.created", first_response);
}

/// A comment or a logged activity on a case: its first response, when it is the first
/// and comes from someone other than who opened the case.
fn first_response<'a>(
    tx: &'a TenantTx,
    actor: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        if event.changes["target_kind"] != CASE_TARGET.name {
            return Ok(());
        }
        let Some(case) = event.changes["target_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
        else {
            return Ok(());
        };
        sla::responded(tx, case, actor.user_id()).await?;
        Ok(())
    })
}
