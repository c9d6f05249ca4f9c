//! CSV import of accounts, contacts, leads and opportunities: a dry run that reports every row's
//! errors, then an import that is all or nothing, with duplicates found by email or
//! company domain, or an opportunity's account and name. Each row is made by its own area's create.

pub mod model;
pub mod references;
pub mod routes;
pub mod service;

use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(import_accounts)
        .service(import_contacts)
        .service(import_leads)
        .service(import_opportunities);
}
