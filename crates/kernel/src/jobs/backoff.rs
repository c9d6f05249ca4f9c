//! When a failed job runs again: exponential in the attempt, with "equal jitter"
//! (half the delay fixed, half random) so that jobs failing together (an endpoint down
//! for everyone) do not all retry in the same second.

use std::time::Duration;

/// The first retry waits about this long; each later one twice as long as the one before.
pub const BASE: Duration = Duration::from_secs(2);
/// No retry waits longer than this.
pub const CAP: Duration = Duration::from_secs(6 * 3600);

/// The delay after failed attempt `attempt` (1-based), given a random fraction in
/// `[0, 1)`.
pub fn delay(attempt: i32, random: f64) -> Duration {
    let exponent = attempt.clamp(1, 32) - 1;
    let full = BASE
        .checked_mul(1u32 << exponent.min(31))
        .unwrap_or(CAP)
        .min(CAP);
    let half = full / 2;
    half + half.mul_f64(random.clamp(0.0, 1.0))
}

/// [`delay`] with a fresh random fraction.
pub fn next_delay(attempt: i32) -> Duration {
    delay(attempt, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_per_attempt_within_their_jitter_band() {
        for attempt in 1..=10 {
            let full = BASE * (1 << (attempt - 1));
            assert_eq!(
                delay(attempt, 0.0),
                full / 2,
                "attempt {attempt}, no jitter"
            );
            assert_eq!(delay(attempt, 1.0), full, "attempt {attempt}, full jitter");
            let middle = delay(attempt, 0.5);
            assert!(middle > full / 2 && middle < full);
        }
    }

    #[test]
    fn delays_stop_growing_at_the_cap() {
        assert_eq!(delay(30, 1.0), CAP);
        assert_eq!(delay(i32::MAX, 1.0), CAP);
        assert_eq!(delay(100, 0.0), CAP / 2);
    }

    #[test]
    fn jittered_delays_spread_out() {
        let delays: std::collections::HashSet<_> = (0..50).map(|_| next_delay(5)).collect();
        assert!(
            delays.len() > 40,
            "jitter spreads retries: {}",
            delays.len()
        );
    }
}
