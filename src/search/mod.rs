//! One search across the tenant's records: accounts, contacts, leads, opportunities,
//! invoices and contract titles, typed results best first.

pub mod model;
pub mod routes;
pub mod service;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::search);
}
