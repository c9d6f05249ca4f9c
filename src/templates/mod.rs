//! Contract templates with named `{{variables}}`, and generating contracts from them.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{GenerateRequest, NewTemplate, TemplateView, UpdateTemplate};
use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_templates)
        .service(create_template)
        .service(get_template)
        .service(update_template)
        .service(delete_template)
        .service(generate_contract);
}
