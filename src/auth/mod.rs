//! Authentication: password hashing, tokens, tenant users and the auth routes.

pub mod password;
pub mod rate_limit;
pub mod revocation;
pub mod routes;
pub mod tokens;
pub mod user_routes;
pub mod users;
