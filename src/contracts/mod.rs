//! Contracts: create, read, list (filters, sorting, full-text search, facets), update
//! with optimistic concurrency, lifecycle transitions, versions of the text and diffs,
//! contract types and the calendar of dates.
//!
//! `model` is the data; `service`, `search`, `versions` and `calendar` what can be done
//! and read (no HTTP); `routes`, `read_routes` and `discussion` the HTTP surface.

pub mod calendar;
pub mod discussion;
pub mod import;
pub mod import_routes;
pub mod model;
pub mod read_routes;
pub mod routes;
pub mod search;
pub mod service;
pub mod versions;

pub use model::{
    ContractView, CreateContract, Status, UpdateContract, CONTRACT_COLUMNS, MAX_BODY_CHARS,
};
pub use service::{insert_contract, lock_editable_contract, read_contract_rows};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // `facets`, `export`, `import` and the type routes before `{id}`, which would
    // otherwise try to read "facets", "export" or "import" as an id.
    cfg.service(read_routes::contract_facets)
        .service(read_routes::export_contracts)
        .service(import_routes::import_contracts)
        .service(routes::list_contract_types)
        .service(routes::create_contract_type)
        .service(read_routes::list_contracts)
        .service(routes::create_contract)
        .service(routes::get_contract)
        .service(routes::update_contract)
        .service(routes::delete_contract)
        .service(routes::transition_contract)
        .service(read_routes::list_versions)
        .service(read_routes::get_version)
        .service(read_routes::diff_versions)
        .service(read_routes::calendar)
        .service(discussion::list_comments)
        .service(discussion::create_comment)
        .service(discussion::list_attachments)
        .service(discussion::upload_attachment);
}
