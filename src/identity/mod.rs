//! Identity: tenant users, their passwords and roles, logins and sessions. Token
//! signing and the acting-user read (which also refuses a logged-out token or one of
//! an ended session) live in the kernel, because every request needs them.

pub mod grant_routes;
pub mod grants;
pub mod model;
pub use crate::kernel::password;
pub mod routes;
pub mod service;
pub mod user_routes;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::login)
        .service(routes::refresh)
        .service(routes::logout)
        .service(routes::me)
        .service(user_routes::change_password)
        .service(user_routes::list_users)
        .service(user_routes::create_user)
        .service(user_routes::get_user)
        .service(user_routes::update_user)
        .service(user_routes::delete_user)
        .service(grant_routes::list_grants)
        .service(grant_routes::create_grant)
        .service(grant_routes::revoke_grant);
}
