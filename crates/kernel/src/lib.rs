//! Pactum's kernel: what every area shares, with no actix in sight: who acts
//! ([`Actor`], [`Origin`]), the domain error, audit recording and events, reads on
//! behalf of an actor, input validation, the clock and the unit of work, passwords and
//! tokens, the outbound-request guard, finding and masking personal data in a text
//! (`sensitive`), (in `shared`) the optional Redis connection, and the job queue. A
//! crate of its own above `pactum-tenancy`, so the compiler keeps it from naming the
//! web layer or an area; the server re-exports it as `pactum::kernel`.

/// The layer below, under the name the kernel's modules use for it.
pub(crate) use pactum_tenancy as tenancy;

pub mod acting;
pub mod actor;
pub mod audit;
pub mod business_time;
pub mod clock;
pub mod concurrency;
pub mod destination;
pub mod error;
pub mod events;
pub mod jobs;
pub mod language;
pub mod letters;
pub mod page;
pub mod password;
pub mod query;
pub mod rate_limit;
pub mod reads;
pub mod sensitive;
pub mod shared;
pub mod storage;
pub mod target;
pub mod tokens;
pub mod unit;
pub mod validate;

pub use actor::{Actor, Origin, Principal, Role};
pub use error::{DomainError, OnConstraint, Refusal};
