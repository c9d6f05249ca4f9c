//! Each tenant's share of a runner's workers: a claimed job holds a place in its
//! tenant's share until it is dropped, so one tenant's hanging jobs cannot occupy
//! every worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// The tenants a runner last found at the fleet cap, passed over by its claims for
/// about a poll interval without asking the database before each claim: a tenant that
/// reached the cap meanwhile is claimed once, handed back by the count after the
/// claim, and remembered then. How long is random (half to one and a half poll
/// intervals), so that runners which collided on a tenant (both counted the other's
/// claim and handed theirs back) do not claim it again at the same instant.
#[derive(Debug, Default)]
pub(super) struct AtFleetCap(Mutex<HashMap<uuid::Uuid, std::time::Instant>>);

impl AtFleetCap {
    pub(super) fn remember(&self, tenant: uuid::Uuid, poll: std::time::Duration) {
        let until = std::time::Instant::now() + poll.mul_f64(0.5 + rand::random::<f64>());
        let mut at_cap = self.0.lock().expect("tenants at the fleet cap");
        at_cap.insert(tenant, until);
    }

    /// The tenants found at the cap that are still passed over.
    pub(super) fn passed_over(&self) -> Vec<uuid::Uuid> {
        let now = std::time::Instant::now();
        let mut at_cap = self.0.lock().expect("tenants at the fleet cap");
        at_cap.retain(|_, until| *until > now);
        at_cap.keys().copied().collect()
    }
}
