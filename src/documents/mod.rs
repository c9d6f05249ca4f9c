//! Documents made from contracts: the PDF export, the PDF renderer other areas print
//! with (an invoice's sections), and redacted copies.

pub mod pdf;
pub mod redaction;
pub mod routes;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::contract_pdf)
        .service(redaction::routes::preview)
        .service(redaction::routes::apply)
        .service(redaction::routes::list)
        .service(redaction::routes::get)
        .service(redaction::routes::redaction_pdf)
        .service(redaction::routes::patterns)
        .service(redaction::routes::add_pattern)
        .service(redaction::routes::delete_pattern);
}
