//! The multi-tenancy core: validated names, the registry in `public`, provisioning,
//! spare schemas and the migration runner. It knows nothing about HTTP.

pub mod citus;
pub mod connection;
pub mod error;
pub mod first_admin;
pub mod fleet;
pub mod isolation;
pub mod listen;
pub mod migrations;
pub mod names;
pub mod pool;
pub mod provision;
pub mod registry;
pub mod resolver;
pub mod roles;
pub mod scoped;
pub mod spares;

pub use error::TenancyError;
pub use migrations::{MigrationName, MigrationSet};
pub use names::{Email, Host, NameError, SchemaName, TenantSlug};
pub use registry::{Domain, Tenant, TenantId, TenantStatus};

/// An error and its causes on one line. Driver errors hide the PostgreSQL message in
/// their source chain; operators need it.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
