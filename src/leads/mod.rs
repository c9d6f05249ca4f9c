//! Leads: people who may become customers, before there is an account or a deal, and
//! their conversion into an account, a contact and an opportunity in one transaction.

pub mod model;
pub mod routes;
pub mod service;

use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // Exports before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_leads)
        .service(list_leads)
        .service(create_lead)
        .service(get_lead)
        .service(update_lead)
        .service(delete_lead)
        .service(convert_lead)
        .service(list_lead_comments)
        .service(create_lead_comment);
}
