//! Revoked access tokens, by token id, until they would have expired anyway. Logout
//! puts the presented access token here so it stops working at once rather than at
//! its expiry. With Redis the list is shared by every instance; without, it is this
//! process's only.

use std::collections::HashMap;
use std::sync::Mutex;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::tokens::unix_now;

pub struct Revocations {
    /// Token id -> expiry (Unix seconds). Always written, so a Redis outage still
    /// honours this instance's own revocations.
    local: Mutex<HashMap<Uuid, u64>>,
    redis: Option<ConnectionManager>,
}

fn key(jti: Uuid) -> String {
    format!("pactum:revoked:{jti}")
}

impl Revocations {
    pub fn new(redis: Option<ConnectionManager>) -> Self {
        Self {
            local: Mutex::new(HashMap::new()),
            redis,
        }
    }

    /// Revokes token `jti` that expires at `exp`.
    pub async fn revoke(&self, jti: Uuid, exp: u64) {
        let now = unix_now();
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
                .arg("EXAT")
                .arg(exp)
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
        let now = unix_now();
        self.local
            .lock()
            .expect("revocation list lock")
            .retain(|_, exp| *exp > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revoked_until_expiry_then_forgotten() {
        let list = Revocations::new(None);
        let (live, stale, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        list.revoke(live, unix_now() + 60).await;
        list.revoke(stale, unix_now() - 1).await;
        assert!(list.is_revoked(live).await);
        assert!(
            !list.is_revoked(stale).await,
            "already expired: nothing to keep"
        );
        assert!(!list.is_revoked(other).await);
        list.local.lock().unwrap().insert(other, unix_now() - 1);
        list.forget_expired();
        assert!(list.is_revoked(live).await);
        assert!(!list.is_revoked(other).await);
    }
}
