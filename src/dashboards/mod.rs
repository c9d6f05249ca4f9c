//! Dashboards over the CRM and the contracts: pipeline value by stage, win rate by
//! owner, contract value by account, renewals due, overdue invoices, case SLA compliance. Each is one
//! statement, amounts per currency.

pub mod model;
pub mod routes;
pub mod service;

use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(pipeline)
        .service(win_rate)
        .service(account_value)
        .service(renewals)
        .service(overdue_invoices)
        .service(case_sla);
}
