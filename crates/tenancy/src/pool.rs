//! Connecting to PostgreSQL: one place that parses `DATABASE_URL`, bounds the connect
//! time and turns "connection refused" into a message an operator can act on.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};
use tokio_util::task::TaskTracker;

use crate::TenancyError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Every connection task of the process, so that a short-lived process can let them
/// send PostgreSQL their Terminate message before it exits (see [`connections_closed`]).
static CONNECTION_TASKS: std::sync::LazyLock<TaskTracker> =
    std::sync::LazyLock::new(TaskTracker::new);

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
        CONNECTION_TASKS.spawn(drive(connection));
        Ok(client)
    }

    /// A bounded pool for the operator's work (provisioning, migrations). Its users
    /// run every statement inside a transaction that ends before the connection goes
    /// back, and set nothing for the session, so a checkout costs no round trip; the
    /// same holds behind a transaction pooler.
    pub fn pool(&self, max_size: usize) -> Result<Pool, TenancyError> {
        let manager = Manager::from_connect(
            self.0.config.clone(),
            tracked_connect(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(max_size.max(1))
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

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(error) = connection.await {
        tracing::debug!(%error, "database connection closed");
    }
}

/// deadpool's connector, with one difference: deadpool aborts a connection's task when
/// its client is dropped, so PostgreSQL never gets a Terminate message and logs every
/// retired or left-over connection as a lost client. Here the task is tracked and ends
/// by itself once the client is gone, saying goodbye first; deadpool is handed a
/// finished task to abort.
pub(crate) fn tracked_connect() -> TrackedConnect {
    TrackedConnect
}

pub(crate) struct TrackedConnect;

impl deadpool_postgres::Connect for TrackedConnect {
    fn connect(
        &self,
        config: &Config,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<(Client, JoinHandle<()>), tokio_postgres::Error>,
                > + Send
                + '_,
        >,
    > {
        let config = config.clone();
        Box::pin(async move {
            let (client, connection) = config.connect(NoTls).await?;
            CONNECTION_TASKS.spawn(drive(connection));
            Ok((client, tokio::spawn(async {})))
        })
    }
}

/// Waits, at most `limit`, until every connection whose client has been dropped has
/// said goodbye to PostgreSQL. For short-lived processes (`tenantctl`): call it after
/// dropping clients and pools, before the runtime ends.
pub async fn connections_closed(limit: Duration) {
    CONNECTION_TASKS.close();
    let _ = tokio::time::timeout(limit, CONNECTION_TASKS.wait()).await;
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

/// The database's `LC_CTYPE` when it folds only ASCII letters (`C`, `POSIX`): there
/// `lower('ÖBB')` is `Öbb`, while the server lower-cases the keys it looks records up
/// by (names, addresses, search words) as Unicode does, `öbb`. Every case-blind match
/// of a name with a capital beyond ASCII then misses, even against its own text.
/// `None` when the database folds case as Unicode does.
pub async fn ascii_only_case_folding(client: &Client) -> Result<Option<String>, TenancyError> {
    let row = client
        .query_one(
            "select lower('ÄÖÜÉÑ') = 'äöüéñ', current_setting('lc_ctype')",
            &[],
        )
        .await?;
    Ok((!row.get::<_, bool>(0)).then(|| row.get(1)))
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
