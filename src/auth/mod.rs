//! Authentication: password hashing and tenant users. Issue 3 adds tokens and routes.

pub mod password;
pub mod users;
