//! Login attempts per tenant and email (GCRA: `per_minute` attempts may come at once,
//! then one more every `60 / per_minute` seconds). With Redis the budget is shared by
//! every server instance, computed by one Lua script on Redis's own clock; without
//! Redis, or while Redis fails, each instance enforces it in process (`governor`).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// KEYS[1]: the budget's key. ARGV[1]: milliseconds between attempts at the steady
/// rate; ARGV[2]: the burst window in milliseconds (the whole minute). Returns 0 when
/// the attempt is allowed, else the milliseconds until the next one would be.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - window
if allowed_at > now then
  return allowed_at - now
end
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
"#;

pub struct LoginLimiter {
    local: DefaultKeyedRateLimiter<(Uuid, String)>,
    clock: DefaultClock,
    shared: Option<(ConnectionManager, redis::Script)>,
    per_minute: NonZeroU32,
}

impl LoginLimiter {
    /// `per_minute` attempts per tenant and email, all of which may come at once.
    pub fn new(per_minute: NonZeroU32, redis: Option<ConnectionManager>) -> Self {
        Self {
            local: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            shared: redis.map(|r| (r, redis::Script::new(GCRA))),
            per_minute,
        }
    }

    /// Counts an attempt; `Err` says how long until the next one is allowed.
    pub async fn check(&self, tenant: Uuid, email: &str) -> Result<(), Duration> {
        let email = crate::letters::fold_case(email.trim());
        if let Some((redis, script)) = &self.shared {
            let window_ms: u64 = 60_000;
            let interval_ms = window_ms / u64::from(self.per_minute.get());
            let mut redis = redis.clone();
            let answer: redis::RedisResult<u64> = script
                .key(shared_key(tenant, &email))
                .arg(interval_ms)
                .arg(window_ms)
                .invoke_async(&mut redis)
                .await;
            match answer {
                Ok(0) => return Ok(()),
                Ok(wait_ms) => return Err(Duration::from_millis(wait_ms)),
                Err(e) => {
                    tracing::warn!(error = %e, "redis: shared login rate limit unavailable; limiting in process");
                }
            }
        }
        self.local
            .check_key(&(tenant, email))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose budget is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.local.retain_recent();
        self.local.shrink_to_fit();
    }
}

/// Emails are hashed so keys have one shape whatever the address holds.
fn shared_key(tenant: Uuid, email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pactum:login:{tenant}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_budget_is_per_tenant_and_case_insensitive_email() {
        let limiter = LoginLimiter::new(NonZeroU32::new(3).unwrap(), None);
        let (acme, globex) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            assert!(limiter.check(acme, "ops@example.com").await.is_ok());
        }
        let wait = limiter.check(acme, "OPS@example.com").await.unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(globex, "ops@example.com").await.is_ok());
        assert!(limiter.check(acme, "other@example.com").await.is_ok());
    }

    #[test]
    fn shared_keys_depend_on_tenant_and_normalised_email_only() {
        let tenant = Uuid::nil();
        assert_eq!(
            shared_key(tenant, "a@x.example"),
            shared_key(tenant, "a@x.example")
        );
        assert_ne!(
            shared_key(tenant, "a@x.example"),
            shared_key(tenant, "b@x.example")
        );
        assert_ne!(
            shared_key(tenant, "a@x.example"),
            shared_key(Uuid::new_v4(), "a@x.example")
        );
    }
}
