//! Pactum: a multi-tenant contract lifecycle management server, one PostgreSQL schema
//! per tenant. The server binary and `tenantctl` are thin layers over this library.
//!
//! Layers, bottom to top; each imports only those below it (`tests/layers.rs` fails
//! the build otherwise):
//!
//! 1. [`tenancy`]: schemas, registry, provisioning, migrations, pools, the scoped
//!    database handle. No actix, no business area.
//! 2. [`kernel`]: what every area shares: actor and origin, the domain error, audit
//!    recording, validation. No actix.
//! 3. [`config`] and [`telemetry`]: settings read once at start, and logging.
//! 4. [`web`]: actix: state, middleware, extractors, error -> HTTP.
//! 5. Areas, one folder each: [`identity`], [`contracts`], [`counterparties`],
//!    [`clauses`], [`templates`], [`comments`], [`attachments`], [`documents`],
//!    [`audit`], [`webhooks`], [`teams`], [`workflows`]. An area may call another area's service, never its
//!    routes.
//! 6. [`app`]: builds the server, mounts every area, the OpenAPI root.

pub mod tenancy;

pub mod kernel;

pub mod config;
pub mod telemetry;

pub mod web;

pub mod attachments;
pub mod audit;
pub mod clauses;
pub mod comments;
pub mod contracts;
pub mod counterparties;
pub mod documents;
pub mod identity;
pub mod notifications;
pub mod teams;
pub mod templates;
pub mod webhooks;
pub mod workflows;

pub mod app;
