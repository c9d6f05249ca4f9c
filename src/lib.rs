//! Pactum: a multi-tenant contract lifecycle management server, one PostgreSQL schema
//! per tenant. The server binary and `tenantctl` are thin layers over this library.
//!
//! Layers, bottom to top; each imports only those below it (`tests/api/layers.rs`
//! fails the build otherwise; ARCHITECTURE.md says why and how):
//!
//! 1. [`tenancy`]: schemas, registry, provisioning, migrations, pools, the scoped
//!    database handle. No actix, no business area.
//! 2. [`kernel`]: what every area shares: actor and origin, the domain error, audit
//!    and events, validation, the clock, business time, the job queue. No actix, no
//!    area.
//! 3. [`config`] and [`telemetry`]: settings read once at start, and logging.
//! 4. [`web`]: actix: state, middleware, extractors, error -> HTTP, idempotency.
//! 5. Areas, one folder each: [`identity`], [`contracts`], [`counterparties`],
//!    [`leads`], [`pipeline`], [`invoices`], [`dashboards`], [`search`], [`clauses`], [`templates`], [`comments`], [`attachments`], [`documents`],
//!    [`audit`], [`teams`], [`webhooks`], [`workflows`], [`notifications`]. An area
//!    may call another area's service, never its routes; reactions across areas go
//!    through events.
//! 6. [`app`]: builds the server and the worker, mounts every area, the OpenAPI root,
//!    registers job handlers and event reactions.

/// The bottom layer is a crate of its own (`crates/tenancy`), so the compiler, not
/// only a test, keeps it from naming anything above it.
pub use pactum_tenancy as tenancy;

/// The kernel is a crate of its own too (`crates/kernel`), above the tenancy crate.
pub use pactum_kernel as kernel;

pub mod config;
pub mod telemetry;

pub mod web;

pub mod activities;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod clauses;
pub mod comments;
pub mod contracts;
pub mod counterparties;
pub mod dashboards;
pub mod documents;
pub mod identity;
pub mod imports;
pub mod intelligence;
pub mod invoices;
pub mod leads;
pub mod notifications;
pub mod pipeline;
pub mod search;
pub mod sla;
pub mod teams;
pub mod templates;
pub mod webhooks;
pub mod workflows;

pub mod app;
