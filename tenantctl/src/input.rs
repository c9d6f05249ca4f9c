//! What the operator typed, checked before anything runs: the database URLs, slugs and
//! hosts (a refusal is exit code 2 with nothing changed), and the connection.

use pactum_tenancy::connection::Pooler;
use pactum_tenancy::pool::DatabaseUrl;
use pactum_tenancy::{Host, TenantSlug};
use tokio_postgres::Client;

use crate::output::CliError;

const APPLICATION_NAME: &str = "tenantctl";

pub fn database_url(given: Option<&str>) -> Result<DatabaseUrl, CliError> {
    let url = given.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
        CliError::refused(
            "no_database",
            "no database given: pass --database-url or set DATABASE_URL",
        )
    })?;
    Ok(DatabaseUrl::parse(url, APPLICATION_NAME)?)
}

/// The URL for session work: `--direct-database-url`, which a transaction pooler makes
/// necessary, or else DATABASE_URL.
pub fn direct_url(
    pooled: &DatabaseUrl,
    pooler: &str,
    direct: Option<&str>,
) -> Result<DatabaseUrl, CliError> {
    let pooler = pooler.parse::<Pooler>().map_err(|reason| {
        CliError::refused("invalid_input", format!("PACTUM_DB_POOLER {reason}"))
    })?;
    match (direct.filter(|u| !u.trim().is_empty()), pooler) {
        (Some(url), _) => Ok(DatabaseUrl::parse(url, APPLICATION_NAME)?),
        (None, Pooler::None) => Ok(pooled.clone()),
        (None, Pooler::Transaction) => Err(CliError::refused(
            "no_direct_database",
            "behind a transaction pooler tenantctl needs a direct URL for its session \
             work: pass --direct-database-url or set PACTUM_DIRECT_DATABASE_URL",
        )),
    }
}

pub async fn connect(url: &DatabaseUrl) -> Result<Client, CliError> {
    Ok(url.connect().await?)
}

pub fn parse_slug(slug: &str) -> Result<TenantSlug, CliError> {
    Ok(TenantSlug::parse(slug).map_err(pactum_tenancy::TenancyError::from)?)
}

pub fn parse_host(host: &str) -> Result<Host, CliError> {
    Ok(Host::parse(host).map_err(pactum_tenancy::TenancyError::from)?)
}
