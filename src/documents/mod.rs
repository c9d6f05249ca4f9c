//! Documents made from contracts: the PDF export.

pub mod pdf;
pub mod routes;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::contract_pdf);
}
