//! Connecting to PostgreSQL: one place that parses `DATABASE_URL`, bounds the connect
//! time and turns "connection refused" into a message an operator can act on.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::tenancy::TenancyError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Recycling resets whatever a previous user left behind: a transaction that was never
/// ended and any session setting, search_path included.
const RECYCLE_SQL: &str = "ROLLBACK; RESET ALL;";

/// Server connections are closed and replaced after this long or this many uses.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(30 * 60);
const MAX_CONNECTION_USES: usize = 100_000;

/// A parsed database URL that remembers a password-free description for messages.
/// Cheap to clone: every request's database handle carries one.
#[derive(Clone)]
pub struct DatabaseUrl(Arc<ParsedUrl>);

struct ParsedUrl {
    config: Config,
    display: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.display)
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str, application_name: &str) -> Result<Self, TenancyError> {
        let mut config: Config = url.parse().map_err(|error| {
            TenancyError::InvalidInput(format!(
                "DATABASE_URL is not a valid PostgreSQL URL or key=value string: {error}"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(application_name);
        }
        let display = describe(&config);
        Ok(Self(Arc::new(ParsedUrl { config, display })))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub async fn connect(&self) -> Result<Client, TenancyError> {
        let (client, connection) = self
            .0
            .config
            .connect(NoTls)
            .await
            .map_err(|error| self.unreachable(&error))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "database connection closed");
            }
        });
        Ok(client)
    }

    /// A bounded pool whose connections are reset on every checkout.
    pub fn pool(&self, max_size: usize) -> Result<Pool, TenancyError> {
        let manager = Manager::from_config(
            self.0.config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Custom(RECYCLE_SQL.into()),
            },
        );
        Pool::builder(manager)
            .max_size(max_size.max(1))
            .build()
            .map_err(|error| TenancyError::Other(anyhow::anyhow!("building the pool: {error}")))
    }

    /// The server's pool: no round trip at checkout. Sound because request code never
    /// changes session state (search_path is only ever `SET LOCAL`) and every unit of
    /// work ends its transaction, even when dropped (see `TenantTx`). Connections are
    /// retired after a maximum age or use count, which bounds the per-backend catalog
    /// cache that grows with every tenant schema a backend touches.
    pub fn request_pool(&self, max_size: usize) -> Result<Pool, TenancyError> {
        let manager = Manager::from_config(
            self.0.config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(max_size.max(1))
            .pre_recycle(Hook::sync_fn(|_, metrics| {
                if metrics.age() > MAX_CONNECTION_AGE || metrics.recycle_count > MAX_CONNECTION_USES
                {
                    Err(HookError::Message("retired: old or much used".into()))
                } else {
                    Ok(())
                }
            }))
            .build()
            .map_err(|error| TenancyError::Other(anyhow::anyhow!("building the pool: {error}")))
    }

    pub fn unreachable(&self, error: &tokio_postgres::Error) -> TenancyError {
        let reason = match error.as_db_error() {
            Some(db_error) => db_error.message().to_owned(),
            None => {
                let mut reason = error.to_string();
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    reason = format!("{reason}: {cause}");
                    source = cause.source();
                }
                reason
            }
        };
        TenancyError::Unreachable {
            target: self.0.display.clone(),
            reason,
        }
    }
}

/// Maps a pool checkout failure to the same "unreachable" error a direct connect gives.
pub fn pool_error(url: &DatabaseUrl, error: deadpool_postgres::PoolError) -> TenancyError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => url.unreachable(&error),
        other => TenancyError::Unreachable {
            target: url.0.display.clone(),
            reason: other.to_string(),
        },
    }
}

/// The connection to PostgreSQL broke under the query: closed by the server (a
/// restart, an administrator's `pg_terminate_backend`, a failover) or by the network.
pub fn connection_lost(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
                || code.code().starts_with("08")
        }
        // No SQLSTATE: an I/O failure under the query is the connection dying.
        None => {
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                if cause.is::<std::io::Error>() {
                    return true;
                }
                source = cause.source();
            }
            false
        }
    }
}

fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{database}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_never_contains_the_password() {
        let url = DatabaseUrl::parse("postgres://ops:s3cret@db.internal:6543/pactum", "t").unwrap();
        let shown = format!("{url:?}");
        assert_eq!(shown, "db.internal:6543/pactum");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn garbage_url_is_an_operator_error() {
        let error = DatabaseUrl::parse("postgres://:::/", "t").unwrap_err();
        assert_eq!(error.code(), "invalid_input");
    }
}
