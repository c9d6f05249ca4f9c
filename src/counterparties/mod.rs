//! Counterparties (organisations or people contracts are made with; the CRM's
//! accounts) and the contacts at them: a contact stands on its own and may belong to
//! several accounts.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{
    ContactView, CounterpartyView, NewContact, NewCounterparty, UpdateContact, UpdateCounterparty,
};
use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // Exports before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_contacts)
        .service(export_counterparties)
        .service(list_counterparties)
        .service(create_counterparty)
        .service(get_counterparty)
        .service(update_counterparty)
        .service(delete_counterparty)
        .service(create_contact)
        .service(list_contacts)
        .service(create_standalone_contact)
        .service(get_contact)
        .service(update_contact)
        .service(delete_contact)
        .service(list_counterparty_comments)
        .service(create_counterparty_comment)
        .service(list_contact_comments)
        .service(create_contact_comment);
}
