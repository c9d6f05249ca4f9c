//! The sales pipeline: stages each tenant orders and weighs, opportunities with an
//! account moving along them, the board and the weighted forecast, and a won deal
//! drafting its contract from a template in the same transaction.

pub mod model;
pub mod reports;
pub mod routes;
pub mod service;

pub use model::{NewOpportunity, OpportunityView};
use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // Exports before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_opportunities)
        .service(list_stages)
        .service(replace_stages)
        .service(list_opportunities)
        .service(create_opportunity)
        .service(board)
        .service(forecast)
        .service(get_opportunity)
        .service(update_opportunity)
        .service(win_opportunity)
        .service(delete_opportunity)
        .service(list_opportunity_comments)
        .service(create_opportunity_comment);
}
