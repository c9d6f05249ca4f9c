//! The audit log and the tenant's events, read by admins: `GET /api/v1/audit-logs`
//! ([`log`]) and `GET /api/v1/events` ([`events`]), the same rows typed. Rows are
//! written by `kernel::audit` in each mutation's own transaction.

pub mod events;
pub mod log;
pub mod routes;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::list_audit_logs)
        .service(routes::list_events);
}
