//! State shared between server instances through Redis, when `REDIS_URL` is set: login
//! rate limits. Without Redis each instance keeps its own in-process copy, which is
//! right for a single instance only. (A logout is kept in the tenant's schema, shared
//! by every instance whatever this says.)
//!
//! Redis trouble after start-up never fails a request: every user of the connection
//! falls back to its in-process state and logs a warning. Short timeouts keep a hung
//! Redis from holding requests.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis command may take before we fall back to in-process state.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects once at start-up: a configured but unreachable Redis stops the server,
/// because running with a silently local rate limit behind a load balancer is worse.
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_number_of_retries(2);
    let mut manager = ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| anyhow::anyhow!("REDIS_URL: cannot connect to {}: {e}", redacted(url)))?;
    let _: String = redis::cmd("PING")
        .query_async(&mut manager)
        .await
        .map_err(|e| anyhow::anyhow!("REDIS_URL: {} does not answer PING: {e}", redacted(url)))?;
    Ok(manager)
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted("redis://:hunter2@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
