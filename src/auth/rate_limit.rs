//! Login attempts per tenant and email, in process (GCRA, via `governor`). Behind
//! several server instances each enforces its own budget; a Redis-backed shared limit
//! is still to come.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<(Uuid, String)>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// `per_minute` attempts per tenant and email, all of which may come at once.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts an attempt; `Err` says how long until the next one is allowed.
    pub fn check(&self, tenant: Uuid, email: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&(tenant, email.trim().to_lowercase()))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose budget is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_per_tenant_and_case_insensitive_email() {
        let limiter = LoginLimiter::new(NonZeroU32::new(3).unwrap());
        let (acme, globex) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            assert!(limiter.check(acme, "ops@example.com").is_ok());
        }
        let wait = limiter.check(acme, "OPS@example.com").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(globex, "ops@example.com").is_ok());
        assert!(limiter.check(acme, "other@example.com").is_ok());
    }
}
