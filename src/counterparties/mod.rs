//! Counterparties (organisations or people contracts are made with) and their contacts.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{ContactView, CounterpartyView, NewContact, NewCounterparty, UpdateCounterparty};
use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_counterparties)
        .service(create_counterparty)
        .service(get_counterparty)
        .service(update_counterparty)
        .service(delete_counterparty)
        .service(create_contact)
        .service(delete_contact);
}
