//! Each tenant's share of a runner's workers: a claimed job holds a place in its
//! tenant's share until it is dropped, so one tenant's hanging jobs cannot occupy
//! every worker.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rand::Rng;

use super::handler::Job;
use crate::tenancy::TenantId;

/// A job claimed by a runner, holding its place in its tenant's share of the
/// runner's workers until dropped.
#[derive(Debug)]
pub struct Claimed {
    pub job: Job,
    pub(super) _slot: ShareSlot,
}

impl std::ops::Deref for Claimed {
    type Target = Job;

    fn deref(&self) -> &Job {
        &self.job
    }
}

/// How many of a runner's claimed jobs each tenant holds, kept in memory: the share
/// is the runner's own (per process), so its count needs no query, and the claim
/// stays the plain one with a list of tenants to pass over.
#[derive(Debug, Clone)]
pub(super) struct TenantShares {
    share: usize,
    held: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl TenantShares {
    pub(super) fn new(share: usize) -> Self {
        Self {
            share: share.max(1),
            held: Arc::default(),
        }
    }

    /// The tenants holding their whole share.
    pub(super) fn full(&self) -> Vec<uuid::Uuid> {
        let held = self.held.lock().expect("tenant shares");
        held.iter()
            .filter(|(_, n)| **n >= self.share)
            .map(|(tenant, _)| tenant.0)
            .collect()
    }

    /// A place in `tenant`'s share, if it has one left.
    pub(super) fn take(&self, tenant: TenantId) -> Option<ShareSlot> {
        let mut held = self.held.lock().expect("tenant shares");
        let n = held.entry(tenant).or_default();
        if *n >= self.share {
            return None;
        }
        *n += 1;
        Some(ShareSlot {
            shares: self.clone(),
            tenant,
        })
    }
}

#[derive(Debug)]
pub(super) struct ShareSlot {
    shares: TenantShares,
    tenant: TenantId,
}

impl Drop for ShareSlot {
    fn drop(&mut self) {
        let mut held = self.shares.held.lock().expect("tenant shares");
        if let Some(n) = held.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.tenant);
            }
        }
    }
}

/// What a runner knows of the tenants at the fleet cap, so that its claims pass over
/// them without asking the database first. Each claim counts the tenants it took and
/// those it passed over (`FLEET_RUNNING_SQL`), every tenant known at the cap among
/// them, and the count replaces the knowledge whole: a tenant is passed over from the
/// count that found it at the cap to the next one that does not, not for a set time,
/// so a tenant at the cap runs its jobs back to back as the fleet's finish rather than
/// a batch per poll interval.
///
/// Runners that claimed a tenant's jobs at the same instant may each count the other's
/// claim and hand back all of theirs. A tenant this runner handed every claimed job
/// of back is also backed off for a few random milliseconds, so the two do not claim it
/// again in step.
#[derive(Debug, Default)]
pub(super) struct AtFleetCap(Mutex<AtCapState>);

#[derive(Debug, Default)]
struct AtCapState {
    counted: HashSet<uuid::Uuid>,
    freed: bool,
    backed_off: HashMap<uuid::Uuid, std::time::Instant>,
}

/// How long a runner leaves a tenant it collided on: long enough to fall out of step
/// with the other runner's claim (a round trip of a millisecond or less), short enough
/// that the tenant's jobs wait for it no more than a blink.
const COLLISION_BACK_OFF: std::ops::Range<std::time::Duration> =
    std::time::Duration::from_millis(5)..std::time::Duration::from_millis(50);

impl AtFleetCap {
    /// The tenants a claim passes over now.
    pub(super) fn passed_over(&self) -> Vec<uuid::Uuid> {
        let now = std::time::Instant::now();
        let mut state = self.0.lock().expect("tenants at the fleet cap");
        state.backed_off.retain(|_, until| *until > now);
        let backed_off: HashSet<uuid::Uuid> = state.backed_off.keys().copied().collect();
        state.counted.union(&backed_off).copied().collect()
    }

    /// Takes a fresh count's tenants at the cap in place of the last, and notes
    /// whether a tenant that `passed_over` had named is free again (see `take_freed`).
    pub(super) fn counted(&self, at_cap: HashSet<uuid::Uuid>, passed_over: &[uuid::Uuid]) {
        let mut state = self.0.lock().expect("tenants at the fleet cap");
        let freed = passed_over.iter().any(|tenant| {
            state.counted.contains(tenant)
                && !at_cap.contains(tenant)
                && !state.backed_off.contains_key(tenant)
        });
        state.counted = at_cap;
        state.freed |= freed;
    }

    /// Whether a claim since the last call passed over a tenant that its count found
    /// free: the claims that passed it over may be tried again at once.
    pub(super) fn take_freed(&self) -> bool {
        std::mem::take(&mut self.0.lock().expect("tenants at the fleet cap").freed)
    }

    pub(super) fn back_off(&self, tenant: uuid::Uuid) {
        let wait = rand::thread_rng().gen_range(COLLISION_BACK_OFF);
        let mut state = self.0.lock().expect("tenants at the fleet cap");
        state
            .backed_off
            .insert(tenant, std::time::Instant::now() + wait);
    }

    /// When the earliest back-off ends, for a claim loop with nothing to do to look
    /// again then rather than after a whole poll interval.
    pub(super) fn next_return(&self) -> Option<std::time::Instant> {
        let state = self.0.lock().expect("tenants at the fleet cap");
        state.backed_off.values().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_passed_over_from_the_count_that_finds_it_at_the_cap_to_the_next() {
        let (acme, globex) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let at_cap = AtFleetCap::default();
        at_cap.counted(HashSet::from([acme]), &[]);
        assert_eq!(at_cap.passed_over(), [acme]);
        assert!(!at_cap.take_freed(), "nothing passed over was found free");
        // Still at the cap: passed over again, and nothing to try again for.
        at_cap.counted(HashSet::from([acme]), &[acme]);
        assert!(!at_cap.take_freed());
        // A count that finds it below the cap frees it at once, and says so once.
        at_cap.counted(HashSet::new(), &[acme]);
        assert!(at_cap.passed_over().is_empty());
        assert!(at_cap.take_freed());
        assert!(!at_cap.take_freed());
        // A tenant found free that this claim did not pass over is nothing to retry.
        at_cap.counted(HashSet::from([globex]), &[]);
        at_cap.counted(HashSet::new(), &[]);
        assert!(!at_cap.take_freed());
    }

    #[test]
    fn a_tenant_backed_off_after_a_collision_returns_within_a_blink() {
        let acme = uuid::Uuid::new_v4();
        let at_cap = AtFleetCap::default();
        assert_eq!(at_cap.next_return(), None);
        at_cap.back_off(acme);
        // Counted below the cap, it stays backed off: not freed, still passed over.
        at_cap.counted(HashSet::new(), &[acme]);
        assert!(!at_cap.take_freed());
        assert_eq!(at_cap.passed_over(), [acme]);
        let back = at_cap.next_return().expect("a back-off ends");
        let wait = back.saturating_duration_since(std::time::Instant::now());
        assert!(wait <= COLLISION_BACK_OFF.end, "{wait:?}");
        std::thread::sleep(COLLISION_BACK_OFF.end);
        assert!(at_cap.passed_over().is_empty());
    }
}
