//! The clause library: reusable clauses by category, attached to contracts; similar
//! clauses by trigram similarity; and the check that a contract carries every clause
//! category its type requires.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{category, ClauseValidation, ClauseView, SimilarClause, CATEGORIES};
use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_clauses)
        .service(create_clause)
        .service(get_clause)
        .service(update_clause)
        .service(delete_clause)
        .service(similar_clauses)
        .service(contract_clauses)
        .service(attach_clause)
        .service(detach_clause)
        .service(validate_clauses);
}
