//! Comments on any record an area lets people discuss (contracts today): they point at
//! a `(kind, id)` target, never at an area. `@user@example.com` mentions of this
//! tenant's users are resolved and stored with the comment, for notifications.
//!
//! `service` is the logic (no HTTP); `routes` serves what belongs to comments alone
//! (`DELETE /comments/{id}`). The routes under a record (`/contracts/{id}/comments`)
//! belong to the area that owns the record and call `service`.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{CommentView, NewComment};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::delete_comment);
}
