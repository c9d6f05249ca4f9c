//! Contract intelligence, all local: the embedding model runs in this process
//! (`engine`), every change of a contract's text makes its passages and their vectors
//! again by a job (`indexing`), and contracts are found by meaning, by words or both,
//! and by likeness to another (`search`), and so are the library's clauses
//! (`clauses`); `routes` serves them. Each passage of a contract gets a clause category
//! from its nearest clauses in the tenant's library or its words (`classify`); the
//! sentences that bind a party are its obligations (`obligations`); a summary and a
//! key-terms sheet give it at a glance (`summary`). A contract's terms (parties, dates, renewal,
//! value, governing law, payment terms) are read from its text by rules (`terms`) and
//! offered as suggestions a person accepts or rejects (`suggestions`), with or without
//! a model; each contract is weighed against the tenant's risk policy (`risk`); both
//! are enqueued by `reading`'s reactions. Nothing else leaves the server. The model, the passage cutting and the vector index live in the
//! `pactum-embedding` crate; this area stores and searches per tenant.

pub mod assessment;
pub mod classify;
pub mod clauses;
pub mod engine;
pub mod generative;
pub mod indexing;
pub mod obligations;
mod passage_words;
pub mod reading;
pub mod risk;
pub mod routes;
pub mod search;
pub mod suggestions;
pub mod summary;
pub mod tasks;
pub mod terms;

pub use engine::Engine;
pub use generative::Generator;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::search_contracts)
        .service(routes::similar_contracts)
        .service(routes::search_clauses)
        .service(routes::similar_clauses)
        .service(routes::list_suggestions)
        .service(routes::accept_suggestion)
        .service(routes::reject_suggestion)
        .service(routes::classify_contract)
        .service(routes::contract_obligations)
        .service(routes::contract_obligation_tasks)
        .service(routes::list_obligation_tasks)
        .service(routes::update_obligation_task)
        .service(routes::contract_summary)
        .service(routes::generative_summary)
        .service(routes::kept_generative_summary)
        .service(routes::generative_summary_request)
        .service(routes::get_generative_settings)
        .service(routes::put_generative_settings)
        .service(routes::contract_risk)
        .service(routes::get_risk_policy)
        .service(routes::put_risk_policy);
}

pub use indexing::react_to;
