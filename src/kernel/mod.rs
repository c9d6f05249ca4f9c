//! What every area shares, with no actix in sight: who acts ([`Actor`], [`Origin`]),
//! the domain error, audit recording, reads on behalf of an actor, input validation and
//! (in `shared`) the optional Redis connection. Imports only `tenancy`.

pub mod actor;
pub mod audit;
pub mod business_time;
pub mod clock;
pub mod concurrency;
pub mod destination;
pub mod error;
pub mod events;
pub mod jobs;
pub mod page;
pub mod query;
pub mod rate_limit;
pub mod reads;
pub mod revocation;
pub mod shared;
pub mod target;
pub mod tokens;
pub mod unit;
pub mod validate;

pub use actor::{Actor, Origin, Principal, Role};
pub use error::{DomainError, OnConstraint, Refusal};
