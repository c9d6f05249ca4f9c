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
