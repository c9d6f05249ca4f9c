//! Server settings, read from the environment once at start and validated there: a bad
//! or missing value stops start-up with one line naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

use crate::tenancy::connection::{PoolStrategy, Pooler, HOME_QUEUE_LIMIT, MAX_HOME_QUEUE_LIMIT};
use crate::tenancy::pool::DatabaseUrl;
use crate::tenancy::Host;

const DEFAULT_BIND: &str = "127.0.0.1:8000";
const DEFAULT_PUBLIC_HOST: &str = "localhost";
const DEFAULT_POOL_SIZE: usize = 16;
const MAX_POOL_SIZE: usize = 1000;
/// HS256 wants at least as many secret bytes as the hash has (32).
const MIN_JWT_SECRET_BYTES: usize = 32;
const DEFAULT_TENANT_CACHE_TTL: Duration = Duration::from_secs(30);
const DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE: std::num::NonZeroU32 =
    std::num::NonZeroU32::new(10).expect("10 is not zero");

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// A secret whose `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: where units of work go (PostgreSQL, or a pooler in front of it).
    pub database_url: DatabaseUrl,
    /// `PACTUM_DB_POOLER`: `none` (default) or `transaction` (PgBouncer in transaction
    /// mode, or any pooler that may run consecutive transactions on different server
    /// connections).
    pub pooler: Pooler,
    /// `PACTUM_DIRECT_DATABASE_URL`: a connection straight to PostgreSQL for what needs a
    /// session (the registry `LISTEN`). Required with a transaction pooler; otherwise
    /// `DATABASE_URL`.
    pub direct_database_url: DatabaseUrl,
    /// `PACTUM_DB_TENANT_AFFINITY`, `PACTUM_DB_STATEMENTS_PER_SCHEMA` and
    /// `PACTUM_DB_GENERIC_PLANS` (all on): how the request pool serves many tenants; off
    /// only to measure the alternatives, to trade plans for backend memory, or to have
    /// PostgreSQL plan each execution with its values.
    pub pool_strategy: PoolStrategy,
    /// `PACTUM_BIND`: where to listen; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// `PACTUM_METRICS_BIND`: where `pactum worker` serves its `/metrics` (default
    /// `127.0.0.1:9464`; `off` for none). The server serves them on `PACTUM_BIND`.
    pub worker_metrics_bind: Option<SocketAddr>,
    /// Whether `PACTUM_METRICS_BIND` was set: a default address that is taken (a second
    /// worker on the host) is skipped with a warning, a chosen one is an error.
    pub worker_metrics_bind_chosen: bool,
    /// `PACTUM_PUBLIC_HOST`: the apex host that serves platform routes only.
    pub public_host: Host,
    /// `JWT_SECRET`, or generated in development mode.
    pub jwt_secret: Secret,
    /// Whether `JWT_SECRET` was generated (development mode only).
    pub jwt_secret_generated: bool,
    /// `PACTUM_DB_POOL_SIZE`: connections per server process.
    pub pool_size: usize,
    /// `REDIS_URL`, optional.
    pub redis_url: Option<String>,
    /// `PACTUM_TRUST_PROXY`: believe `X-Forwarded-Host` (only behind our own proxy).
    pub trust_proxy: bool,
    /// `PACTUM_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `PACTUM_TENANT_CACHE_TTL_SECS`: the safety net behind registry notifications.
    pub tenant_cache_ttl: Duration,
    /// `PACTUM_LOGIN_ATTEMPTS_PER_MINUTE`: per tenant and email.
    pub login_attempts_per_minute: std::num::NonZeroU32,
    /// `PACTUM_UPLOAD_DIR`: attachments, one folder per tenant id under it.
    pub upload_dir: std::path::PathBuf,
    /// Where attachments are kept: that folder, or the S3-compatible bucket of
    /// `PACTUM_STORAGE_URL` (the folder then holds only files being received or read).
    pub store: crate::kernel::storage::Store,
    /// `PACTUM_MAX_UPLOAD_BYTES`: the largest attachment accepted.
    pub max_upload_bytes: u64,
    /// `PACTUM_UPLOAD_IDLE_TIMEOUT_SECS`: an upload that sends nothing for this long is
    /// refused (408) and its partial file removed, so a stalled client cannot hold a
    /// socket and a temporary file.
    pub upload_idle_timeout: Duration,
    /// `PACTUM_CLAMD_URL`: ClamAV's daemon (`tcp://host:port` or `unix:/path`); when
    /// set, every upload is scanned before it is stored. Unset: no scanning.
    pub clamd: Option<clamd::Clamd>,
    /// `PACTUM_MODEL_DIR`: the sentence-embedding model's folder (`config.json`,
    /// `tokenizer.json`, `model.safetensors`; `scripts/model.sh` installs one). Unset:
    /// no semantic search, similar contracts or passages; full-text search stays.
    pub model_dir: Option<std::path::PathBuf>,
    /// `PACTUM_VECTOR_MEMORY_MB`: the memory every tenant's loaded vectors share, in
    /// bytes (256 MiB by default).
    pub vector_memory_bytes: usize,
    /// `PACTUM_VECTOR_EXACT_MAX`: larger vector sets get an HNSW index at load (1,000,000:
    /// the scan is faster at the sizes a budget holds, docs/benchmarks.md).
    pub vector_exact_max: usize,
    /// Background jobs: workers in this process and how they run.
    pub jobs: JobSettings,
    /// `PACTUM_WEBHOOK_ALLOW_PRIVATE`: let the destinations tenants choose (webhooks,
    /// chat, generative endpoints) reach loopback, private and link-local addresses
    /// (off: refused after DNS resolution).
    pub webhook_allow_internal: bool,
    /// `PACTUM_WEBHOOK_DISABLE_AFTER_HOURS`: how long an endpoint's deliveries may
    /// keep failing (since its last success) before it is disabled.
    pub webhook_disable_after: Duration,
    /// `PACTUM_WEBHOOK_LOG_DAYS`: how long an endpoint's delivery attempts, and its
    /// messages once delivered or failed, are kept. A message still to send is kept
    /// however old.
    pub webhook_log_kept: Duration,
    /// `PACTUM_WEBHOOK_MAX_PER_DESTINATION`: deliveries one destination (scheme, host,
    /// port) may have in flight from this process; by default half the job workers
    /// (at least one), so a receiver that hangs never holds them all.
    pub webhook_max_per_destination: usize,
    /// `PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION`: deliveries one destination may have
    /// in flight from every server and `pactum worker` on the database together; `off`
    /// (the default) leaves each process its own share only.
    pub webhook_fleet_max_per_destination: Option<usize>,
    /// Email and the notification stream.
    pub notifications: NotificationSettings,
}

/// Where notification email goes and how the stream behaves.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// `SMTP_URL`: lettre's form (`smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required`, `smtp://localhost:2525`). Unset: email is
    /// written as `.eml` files under `outbox_dir`.
    pub smtp_url: Option<String>,
    /// `PACTUM_OUTBOX_DIR`: one folder per tenant slug under it.
    pub outbox_dir: std::path::PathBuf,
    /// `PACTUM_MAIL_FROM`: the sender (`Name <address>`); its domain makes Message-IDs.
    pub mail_from: String,
    /// `PACTUM_LINK_SCHEME`: `https` (default) or `http`, for links in messages to the
    /// tenant's primary host.
    pub link_scheme: &'static str,
    /// `PACTUM_LINK_PORT`: a port for those links, when the tenant hosts are not served
    /// on the scheme's own (`scripts/run.sh` sets its port, 8000).
    pub link_port: Option<u16>,
    /// `PACTUM_SSE_HEARTBEAT_SECS`: a comment line on idle streams, so proxies keep them.
    pub sse_heartbeat: Duration,
    /// `PACTUM_INBOX_DAYS`: how long a notification stays in its recipient's inbox,
    /// read or not, with the record of its email or chat message.
    pub inbox_kept: Duration,
}

pub const DEFAULT_OUTBOX_DIR: &str = ".pactum/outbox";
pub const DEFAULT_MAIL_FROM: &str = "Pactum <notifications@pactum.localhost>";
/// A year: an inbox is where news arrives, not an archive (what a notification points
/// to keeps its own history and audit log).
pub const DEFAULT_INBOX_DAYS: u64 = 365;

/// A number in `range`, or `None` when unset or set to `word` ("auto", "off").
fn unless_word(
    variable: &'static str,
    value: Option<String>,
    word: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, ConfigError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim() == word => Ok(None),
        value => ranged(variable, value, range, 0).map(Some),
    }
}

/// A whole number in `range` from `variable`, or `default` when unset.
fn ranged<T>(
    variable: &'static str,
    value: Option<String>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                invalid(
                    variable,
                    format!("expected {} to {}, got {v:?}", range.start(), range.end()),
                )
            }),
    }
}

/// Where attachments live unless `PACTUM_UPLOAD_DIR` says otherwise (relative to the
/// working directory). `tenantctl delete` reads the same variable.
pub use crate::kernel::storage::DEFAULT_UPLOAD_DIR;

/// How long an upload may send nothing before it is refused.
pub const DEFAULT_UPLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Attachments above this are refused unless `PACTUM_MAX_UPLOAD_BYTES` says otherwise.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let dev_mode = parse_bool("PACTUM_DEV", get("PACTUM_DEV"))?.unwrap_or(false);
        let database_url = get("DATABASE_URL").ok_or_else(|| {
            invalid(
                "DATABASE_URL",
                "is required, e.g. postgres://user@host/pactum",
            )
        })?;
        let database_url = DatabaseUrl::parse(&database_url, "pactum")
            .map_err(|e| invalid("DATABASE_URL", e.to_string()))?;
        let pooler = match get("PACTUM_DB_POOLER") {
            None => Pooler::None,
            Some(value) => value
                .parse::<Pooler>()
                .map_err(|reason| invalid("PACTUM_DB_POOLER", reason))?,
        };
        let direct_database_url = match (get("PACTUM_DIRECT_DATABASE_URL"), pooler) {
            // Named apart, so that an operator tells the session connections from the
            // pooled ones in pg_stat_activity.
            (Some(url), _) => DatabaseUrl::parse(&url, "pactum-session")
                .map_err(|e| invalid("PACTUM_DIRECT_DATABASE_URL", e.to_string()))?,
            (None, Pooler::None) => database_url.clone(),
            (None, Pooler::Transaction) => {
                return Err(invalid(
                    "PACTUM_DIRECT_DATABASE_URL",
                    "is required with PACTUM_DB_POOLER=transaction: the registry listener \
                     needs a session, which a transaction pooler does not keep",
                ))
            }
        };
        let pool_strategy = PoolStrategy {
            tenant_affinity: parse_bool(
                "PACTUM_DB_TENANT_AFFINITY",
                get("PACTUM_DB_TENANT_AFFINITY"),
            )?
            .unwrap_or(true),
            statements_per_schema: parse_bool(
                "PACTUM_DB_STATEMENTS_PER_SCHEMA",
                get("PACTUM_DB_STATEMENTS_PER_SCHEMA"),
            )?
            .unwrap_or(true),
            generic_plans: parse_bool("PACTUM_DB_GENERIC_PLANS", get("PACTUM_DB_GENERIC_PLANS"))?
                .unwrap_or(true),
            home_queue_limit: match get("PACTUM_DB_HOME_QUEUE") {
                None => HOME_QUEUE_LIMIT,
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_HOME_QUEUE_LIMIT)
                    .ok_or_else(|| {
                        invalid(
                            "PACTUM_DB_HOME_QUEUE",
                            format!("expected 0 to {MAX_HOME_QUEUE_LIMIT}, got {v:?}"),
                        )
                    })?,
            },
            ..PoolStrategy::default()
        };
        let bind = get("PACTUM_BIND")
            .unwrap_or_else(|| DEFAULT_BIND.into())
            .parse::<SocketAddr>()
            .map_err(|e| invalid("PACTUM_BIND", format!("expected host:port, {e}")))?;
        let worker_metrics_bind_chosen = get("PACTUM_METRICS_BIND").is_some();
        let worker_metrics_bind = match get("PACTUM_METRICS_BIND").as_deref() {
            Some("off") => None,
            value => Some(
                value
                    .unwrap_or("127.0.0.1:9464")
                    .parse::<SocketAddr>()
                    .map_err(|e| {
                        invalid(
                            "PACTUM_METRICS_BIND",
                            format!("expected host:port or off, {e}"),
                        )
                    })?,
            ),
        };
        let public_host =
            Host::parse(&get("PACTUM_PUBLIC_HOST").unwrap_or_else(|| DEFAULT_PUBLIC_HOST.into()))
                .map_err(|e| invalid("PACTUM_PUBLIC_HOST", e.to_string()))?;
        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
            Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => (Secret(secret), false),
            Some(_) => {
                return Err(invalid(
                    "JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ))
            }
            None if dev_mode => (Secret(generate_secret()), true),
            None => {
                return Err(invalid(
                    "JWT_SECRET",
                    "is required (or set PACTUM_DEV=1 to generate a throwaway one)",
                ))
            }
        };
        let pool_size = match get("PACTUM_DB_POOL_SIZE") {
            None => DEFAULT_POOL_SIZE,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "PACTUM_DB_POOL_SIZE",
                        format!("expected 1 to {MAX_POOL_SIZE}, got {v:?}"),
                    )
                })?,
        };
        let redis_url = match get("REDIS_URL") {
            // Built without TLS support: a `rediss://` URL would fail at first use.
            Some(url)
                if url.starts_with("redis://") && redis::Client::open(url.as_str()).is_ok() =>
            {
                Some(url)
            }
            Some(_) => return Err(invalid("REDIS_URL", "expected redis://host:port[/db]")),
            None => None,
        };
        let trust_proxy =
            parse_bool("PACTUM_TRUST_PROXY", get("PACTUM_TRUST_PROXY"))?.unwrap_or(false);
        let log_format = match get("PACTUM_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "PACTUM_LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ))
            }
        };
        let tenant_cache_ttl = match get("PACTUM_TENANT_CACHE_TTL_SECS") {
            None => DEFAULT_TENANT_CACHE_TTL,
            Some(v) => {
                Duration::from_secs(v.parse::<u64>().ok().filter(|s| *s <= 3600).ok_or_else(
                    || {
                        invalid(
                            "PACTUM_TENANT_CACHE_TTL_SECS",
                            format!("expected 0 to 3600, got {v:?}"),
                        )
                    },
                )?)
            }
        };
        let login_attempts_per_minute = match get("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE") {
            None => DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10_000)
                .and_then(std::num::NonZeroU32::new)
                .ok_or_else(|| {
                    invalid(
                        "PACTUM_LOGIN_ATTEMPTS_PER_MINUTE",
                        format!("expected 1 to 10000, got {v:?}"),
                    )
                })?,
        };
        let upload_dir = std::path::PathBuf::from(
            get("PACTUM_UPLOAD_DIR").unwrap_or_else(|| DEFAULT_UPLOAD_DIR.into()),
        );
        let store = crate::kernel::storage::Store::from_lookup(get)
            .map_err(|(variable, reason)| invalid(variable, reason))?;
        let max_upload_bytes = match get("PACTUM_MAX_UPLOAD_BYTES") {
            None => DEFAULT_MAX_UPLOAD_BYTES,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1024 * 1024 * 1024).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "PACTUM_MAX_UPLOAD_BYTES",
                        format!("expected 1 to 1073741824, got {v:?}"),
                    )
                })?,
        };
        let upload_idle_timeout = match get("PACTUM_UPLOAD_IDLE_TIMEOUT_SECS") {
            None => DEFAULT_UPLOAD_IDLE_TIMEOUT,
            Some(v) => Duration::from_secs(
                v.parse::<u64>()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .ok_or_else(|| {
                        invalid(
                            "PACTUM_UPLOAD_IDLE_TIMEOUT_SECS",
                            format!("expected 1 to 3600, got {v:?}"),
                        )
                    })?,
            ),
        };
        let jobs = JobSettings::from_lookup(get)?;
        let webhook_allow_internal = parse_bool(
            "PACTUM_WEBHOOK_ALLOW_PRIVATE",
            get("PACTUM_WEBHOOK_ALLOW_PRIVATE"),
        )?
        .unwrap_or(false);
        if get("PACTUM_WEBHOOK_DISABLE_AFTER").is_some() {
            // A count of failures is what lost events during short outages; refuse the
            // old setting rather than ignore it.
            return Err(invalid(
                "PACTUM_WEBHOOK_DISABLE_AFTER",
                "no longer read: endpoints are disabled after failing for a period, set \
                 PACTUM_WEBHOOK_DISABLE_AFTER_HOURS instead",
            ));
        }
        let webhook_disable_after = Duration::from_secs(
            3600 * ranged(
                "PACTUM_WEBHOOK_DISABLE_AFTER_HOURS",
                get("PACTUM_WEBHOOK_DISABLE_AFTER_HOURS"),
                1..=8760,
                DEFAULT_WEBHOOK_DISABLE_AFTER_HOURS,
            )?,
        );
        let webhook_log_kept = Duration::from_secs(
            24 * 3600
                * ranged(
                    "PACTUM_WEBHOOK_LOG_DAYS",
                    get("PACTUM_WEBHOOK_LOG_DAYS"),
                    1..=3650,
                    DEFAULT_WEBHOOK_LOG_DAYS,
                )?,
        );
        let webhook_max_per_destination = ranged(
            "PACTUM_WEBHOOK_MAX_PER_DESTINATION",
            get("PACTUM_WEBHOOK_MAX_PER_DESTINATION"),
            1..=1000,
            (jobs.workers / 2).max(1),
        )?;
        let webhook_fleet_max_per_destination = unless_word(
            "PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION",
            get("PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION"),
            "off",
            1..=100_000,
        )?;
        let smtp_url = match get("SMTP_URL") {
            None => None,
            Some(url) => {
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err(invalid("SMTP_URL", "expected smtp://... or smtps://..."));
                }
                Some(url)
            }
        };
        let mail_from = get("PACTUM_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "PACTUM_MAIL_FROM",
                format!("expected Name <address>, got {mail_from:?}"),
            ));
        }
        let link_scheme = match get("PACTUM_LINK_SCHEME").as_deref() {
            None | Some("https") => "https",
            Some("http") => "http",
            Some(other) => {
                return Err(invalid(
                    "PACTUM_LINK_SCHEME",
                    format!("expected https or http, got {other:?}"),
                ))
            }
        };
        let notifications = NotificationSettings {
            smtp_url,
            outbox_dir: std::path::PathBuf::from(
                get("PACTUM_OUTBOX_DIR").unwrap_or_else(|| DEFAULT_OUTBOX_DIR.into()),
            ),
            mail_from,
            link_scheme,
            link_port: match get("PACTUM_LINK_PORT") {
                None => None,
                value => Some(ranged("PACTUM_LINK_PORT", value, 1..=65535, 443)?),
            },
            sse_heartbeat: Duration::from_secs(ranged(
                "PACTUM_SSE_HEARTBEAT_SECS",
                get("PACTUM_SSE_HEARTBEAT_SECS"),
                1..=300,
                15,
            )?),
            inbox_kept: Duration::from_secs(
                24 * 3600
                    * ranged(
                        "PACTUM_INBOX_DAYS",
                        get("PACTUM_INBOX_DAYS"),
                        1..=36500,
                        DEFAULT_INBOX_DAYS,
                    )?,
            ),
        };
        let clamd = match get("PACTUM_CLAMD_URL").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(
                clamd::Clamd::parse(v.trim())
                    .map_err(|reason| invalid("PACTUM_CLAMD_URL", reason))?,
            ),
        };
        let intelligence::Settings {
            model_dir,
            vector_memory_bytes,
            vector_exact_max,
        } = intelligence::read(&get)?;
        Ok(Self {
            clamd,
            model_dir,
            vector_memory_bytes,
            vector_exact_max,
            notifications,
            jobs,
            webhook_allow_internal,
            webhook_disable_after,
            webhook_log_kept,
            webhook_max_per_destination,
            webhook_fleet_max_per_destination,
            upload_idle_timeout,
            upload_dir,
            store,
            max_upload_bytes,
            login_attempts_per_minute,
            database_url,
            pooler,
            direct_database_url,
            pool_strategy,
            bind,
            worker_metrics_bind,
            worker_metrics_bind_chosen,
            public_host,
            jwt_secret,
            jwt_secret_generated,
            pool_size,
            redis_url,
            trust_proxy,
            log_format,
            tenant_cache_ttl,
        })
    }
}

fn parse_bool(variable: &'static str, value: Option<String>) -> Result<Option<bool>, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(other) => Err(invalid(
            variable,
            format!("expected true or false, got {other:?}"),
        )),
    }
}

fn generate_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub mod clamd;
mod jobs;
pub use jobs::{
    JobSettings, DEFAULT_JOB_QUEUES, DEFAULT_JOB_WORKERS, DEFAULT_WEBHOOK_DISABLE_AFTER_HOURS,
    DEFAULT_WEBHOOK_LOG_DAYS, MODEL_QUEUE,
};

mod intelligence;
#[cfg(test)]
mod tests;
