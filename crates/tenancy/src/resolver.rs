//! Host -> tenant, through an in-process cache over `public.domains`/`public.tenants`.
//!
//! Every registry change fires `NOTIFY pactum_registry` (a trigger, whoever made the
//! change); a listener task clears the cache when one arrives, so a running server sees
//! `tenantctl` changes at once. A TTL is the safety net, and while the listener is
//! disconnected (notifications missed) nothing is cached at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::names::Host;
use super::registry::{self, Tenant};
use super::TenancyError;
use crate::connection::RequestPool;
use crate::pool::DatabaseUrl;

/// The channel the registry triggers notify on (see migrations/public/V5).
pub const REGISTRY_CHANNEL: &str = "pactum_registry";
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// Unknown hosts are remembered too, so a scan of random subdomains costs no queries.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    tenant: Option<Arc<Tenant>>,
    fetched: Instant,
}

pub struct TenantResolver {
    /// The direct URL: `LISTEN` needs a session of its own.
    url: DatabaseUrl,
    pool: RequestPool,
    ttl: Duration,
    entries: RwLock<HashMap<Host, Entry>>,
    listening: AtomicBool,
    /// Bumped by every invalidation: a look-up that started before one must not cache
    /// what it read.
    generation: AtomicU64,
}

impl TenantResolver {
    pub fn new(url: DatabaseUrl, pool: RequestPool, ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            url,
            pool,
            ttl,
            entries: RwLock::new(HashMap::new()),
            listening: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        })
    }

    /// The tenant that owns `host`, or `None` for an unknown host.
    pub async fn resolve(&self, host: &Host) -> Result<Option<Arc<Tenant>>, TenancyError> {
        if self.listening.load(Ordering::Acquire) {
            let entries = self.entries.read().expect("resolver cache lock");
            if let Some(entry) = entries.get(host) {
                if entry.fetched.elapsed() < self.ttl {
                    return Ok(entry.tenant.clone());
                }
            }
        }
        let fetched = Instant::now();
        let generation = self.generation.load(Ordering::Acquire);
        let client = self.pool.get(None).await?;
        let tenant = registry::find_by_host_pooled(&client, host)
            .await?
            .map(Arc::new);
        if self.listening.load(Ordering::Acquire) {
            let mut entries = self.entries.write().expect("resolver cache lock");
            if self.generation.load(Ordering::Acquire) != generation {
                return Ok(tenant);
            }
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                host.clone(),
                Entry {
                    tenant: tenant.clone(),
                    fetched,
                },
            );
        }
        Ok(tenant)
    }

    pub fn invalidate_all(&self) {
        let mut entries = self.entries.write().expect("resolver cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Listens for registry notifications until the process ends, reconnecting after
    /// failures. Returns once the first `LISTEN` is in place (or failed once), so a
    /// server that starts serving after it already sees changes.
    pub async fn spawn_listener(self: &Arc<Self>) {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let resolver = Arc::clone(self);
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                if let Err(error) = resolver.listen_once(&mut ready).await {
                    tracing::warn!(%error, "registry listener lost; tenant cache disabled until it is back");
                }
                resolver.listening.store(false, Ordering::Release);
                resolver.invalidate_all();
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
        let _ = ready_rx.await;
    }

    async fn listen_once(
        &self,
        ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<(), TenancyError> {
        let mut listening = super::listen::listen(&self.url, None, REGISTRY_CHANNEL).await?;
        // Anything cached before LISTEN took effect may be stale.
        self.invalidate_all();
        self.listening.store(true, Ordering::Release);
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        while let Some(tenant_id) = listening.notifications.recv().await {
            tracing::debug!(%tenant_id, "registry changed; clearing tenant cache");
            self.invalidate_all();
        }
        Err(TenancyError::Other(anyhow::anyhow!(
            "the notification connection closed"
        )))
    }
}
