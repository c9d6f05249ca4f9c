//! Revoked access tokens, by token id, until they would have expired anyway. Logout
//! puts the presented access token here so it stops working at once rather than at
//! its expiry. With Redis the list is shared by every instance; without, it is this
//! process's only. Expiry is judged by the server's clock, the one that minted and
//! verifies the tokens, and a Redis entry lives for the time left by that clock.

use std::collections::HashMap;
use std::sync::Mutex;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::clock::SharedClock;

pub struct Revocations {
    /// Token id -> expiry (Unix seconds). Always written, so a Redis outage still
    /// honours this instance's own revocations.
    local: Mutex<HashMap<Uuid, u64>>,
    redis: Option<ConnectionManager>,
    clock: SharedClock,
}

fn key(jti: Uuid) -> String {
    format!("pactum:revoked:{jti}")
}

impl Revocations {
    pub fn new(redis: Option<ConnectionManager>, clock: SharedClock) -> Self {
        Self {
            local: Mutex::new(HashMap::new()),
            redis,
            clock,
        }
    }

    /// Revokes token `jti` that expires at `exp`.
    pub async fn revoke(&self, jti: Uuid, exp: u64) {
        let now = self.clock.unix_now();
        if exp <= now {
            return;
        }
        self.local
            .lock()
            .expect("revocation list lock")
            .insert(jti, exp);
        if let Some(redis) = &self.redis {
            let mut redis = redis.clone();
            let stored: redis::RedisResult<()> = redis::cmd("SET")
                .arg(key(jti))
                .arg(1)
                .arg("EX")
                .arg(exp - now)
                .query_async(&mut redis)
                .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "redis: cannot share a token revocation; it holds on this instance only");
            }
        }
    }

    pub async fn is_revoked(&self, jti: Uuid) -> bool {
        if self
            .local
            .lock()
            .expect("revocation list lock")
            .contains_key(&jti)
        {
            return true;
        }
        let Some(redis) = &self.redis else {
            return false;
        };
        let mut redis = redis.clone();
        match redis::cmd("EXISTS")
            .arg(key(jti))
            .query_async::<bool>(&mut redis)
            .await
        {
            Ok(revoked) => revoked,
            Err(e) => {
                tracing::warn!(error = %e, "redis: cannot read the shared revocation list; using this instance's");
                false
            }
        }
    }

    /// Drops entries for tokens that have expired by now, so memory stays bounded.
    pub fn forget_expired(&self) {
        let now = self.clock.unix_now();
        self.local
            .lock()
            .expect("revocation list lock")
            .retain(|_, exp| *exp > now);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::clock::{Clock, ManualClock};

    /// Kept until the token's expiry by the clock the list was given, years away from
    /// the machine's as it may be, then forgotten once that clock passes it.
    #[tokio::test]
    async fn revoked_until_expiry_by_its_clock_then_forgotten() {
        let start = DateTime::parse_from_rfc3339("2020-01-06T09:00:00Z").unwrap();
        let clock = ManualClock::starting_at(start.to_utc());
        let list = Revocations::new(None, clock.clone());
        let now = clock.unix_now();
        let (live, stale, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        list.revoke(live, now + 60).await;
        list.revoke(stale, now - 1).await;
        assert!(list.is_revoked(live).await);
        assert!(
            !list.is_revoked(stale).await,
            "already expired: nothing to keep"
        );
        assert!(!list.is_revoked(other).await);
        list.forget_expired();
        assert!(list.is_revoked(live).await, "not expired by its clock");
        clock.advance(Duration::seconds(61));
        list.forget_expired();
        assert!(!list.is_revoked(live).await, "its clock passed its expiry");
    }
}
