//! Teams: named groups of users (`legal`, `finance`, `executives`), managed by admins,
//! that approval stages name as approvers.

pub mod model;
pub mod routes;
pub mod service;

pub use model::{CreateTeam, MemberView, TeamName, TeamView, UpdateTeam};
pub use routes::configure;
