//! The request pool: one slot per connection, each tenant's home among them, and the
//! order in which a request tries them (see the parent module's notes).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Timeouts};
use deadpool_postgres::{ManagerConfig, RecyclingMethod};
use tokio_postgres::Config;

use super::checkout::{self, CheckoutCounts, Checkouts, Overflow, Place, Turn};
use super::warmth::Warmth;
use super::{ConnectionManager, ParamTypes, PoolStrategy, Pooler};
use crate::names::SchemaName;
use crate::pool::{pool_error, tracked_connect, DatabaseUrl};
use crate::TenancyError;

type Slot = managed::Pool<ConnectionManager>;

/// What the pool's connections start with: the URL's settings, and in direct mode the
/// generic plans of [`PoolStrategy::generic_plans`] unless the URL chooses a plan cache
/// mode itself. Not behind a transaction pooler: its statements are unnamed, planned
/// once each anyway, and better planned with their values (and PgBouncer refuses
/// startup options).
fn connection_config(url: &DatabaseUrl, pooler: Pooler, strategy: PoolStrategy) -> Config {
    let mut config = url.config().clone();
    let own = config.get_options().unwrap_or_default();
    // PostgreSQL reads `--plan-cache-mode=` as `-c plan_cache_mode=`.
    let chosen = own.replace('-', "_").contains("plan_cache_mode");
    if pooler == Pooler::None && strategy.generic_plans && !chosen {
        let options = format!("{own} -c plan_cache_mode=force_generic_plan");
        config.options(options.trim_start());
    }
    config
}

/// A connection taken from the [`RequestPool`]; dropped, it goes back.
pub type Connection = checkout::Checkout<ConnectionManager>;

/// A snapshot of the pool for metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    pub max_size: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

/// The server's pool: `max_size` connections, each in a slot of its own so that a
/// tenant can be sent to its home connection. Cheap to clone.
#[derive(Clone)]
pub struct RequestPool(Arc<Slots>);

struct Slots {
    slots: Vec<Slot>,
    /// What each slot's backend has served, by slot (read only when there are several).
    warmth: Vec<Arc<Warmth>>,
    url: DatabaseUrl,
    pooler: Pooler,
    hasher: std::collections::hash_map::RandomState,
    next: AtomicUsize,
    waiting: AtomicUsize,
    overflow: Arc<Overflow>,
    checkouts: Checkouts,
    home_queue_limit: usize,
    guest_room: usize,
}

impl RequestPool {
    pub fn new(url: &DatabaseUrl, max_size: usize, pooler: Pooler) -> Result<Self, TenancyError> {
        Self::with_strategy(url, max_size, pooler, PoolStrategy::default())
    }

    pub fn with_strategy(
        url: &DatabaseUrl,
        max_size: usize,
        pooler: Pooler,
        strategy: PoolStrategy,
    ) -> Result<Self, TenancyError> {
        let param_types = Arc::new(ParamTypes::default());
        // Behind a transaction pooler the server connection is the pooler's choice, so
        // a home connection would mean nothing: one slot of `max_size`.
        let (slot_count, slot_size) = match pooler {
            Pooler::None if strategy.tenant_affinity => (max_size.max(1), 1),
            _ => (1, max_size.max(1)),
        };
        let config = connection_config(url, pooler, strategy);
        let warmth: Vec<Arc<Warmth>> = (0..slot_count).map(|_| Arc::default()).collect();
        let slots = warmth
            .iter()
            .map(|warmth| {
                let manager = ConnectionManager {
                    inner: deadpool_postgres::Manager::from_connect(
                        config.clone(),
                        tracked_connect(),
                        ManagerConfig {
                            recycling_method: RecyclingMethod::Fast,
                        },
                    ),
                    pooler,
                    statements_per_schema: strategy.statements_per_schema,
                    max_schemas: strategy.max_schemas_per_connection,
                    param_types: Arc::clone(&param_types),
                    warmth: (slot_size == 1).then(|| Arc::clone(warmth)),
                };
                managed::Pool::builder(manager)
                    .max_size(slot_size)
                    .build()
                    .map_err(|error| {
                        TenancyError::Other(anyhow::anyhow!("building the pool: {error}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(Arc::new(Slots {
            slots,
            warmth,
            url: url.clone(),
            pooler,
            hasher: Default::default(),
            next: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            overflow: Arc::default(),
            checkouts: Checkouts::default(),
            home_queue_limit: strategy.home_queue_limit,
            guest_room: strategy.guest_room,
        })))
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.0.url
    }

    pub fn pooler(&self) -> Pooler {
        self.0.pooler
    }

    /// A connection for a unit of work on `schema` (or on `public` alone), recorded as
    /// one that has served `schema`. Which connection, and how long it waits: see
    /// [`crate::connection`]'s notes.
    pub async fn get(&self, schema: Option<&SchemaName>) -> Result<Connection, TenancyError> {
        let connection = self.checkout(schema).await?;
        if let Some(schema) = schema {
            connection.serve(schema);
        }
        Ok(connection)
    }

    async fn checkout(&self, schema: Option<&SchemaName>) -> Result<Connection, TenancyError> {
        let slots = &self.0.slots;
        let count = slots.len();
        let tenant = schema.filter(|_| count > 1);
        let home = match tenant.and_then(|schema| self.home_slot(schema)) {
            Some(home) => home,
            None => self.0.next.fetch_add(1, Ordering::Relaxed) % count,
        };
        let no_wait = Timeouts {
            wait: Some(Duration::ZERO),
            ..Timeouts::default()
        };
        let place_of = |slot: usize| match tenant {
            Some(_) if slot == home => Place::Home,
            Some(schema) if self.0.warmth[slot].contains(schema) => Place::WarmElsewhere,
            Some(_) => Place::Elsewhere,
            None if count == 1 => Place::Shared,
            None => Place::NoTenant,
        };
        let try_slot = |slot: usize| {
            let no_wait = &no_wait;
            async move {
                match slots[slot].timeout_get(no_wait).await {
                    Ok(connection) => Ok(Some(self.0.checkouts.count(
                        place_of(slot),
                        Connection::new(connection, &self.0.overflow),
                    ))),
                    Err(managed::PoolError::Timeout(_)) => Ok(None),
                    Err(error) => Err(pool_error(&self.0.url, error)),
                }
            }
        };
        if let Some(connection) = try_slot(home).await? {
            return Ok(connection);
        }
        if count == 1 {
            let connection = self.wait_for(home).await?;
            return Ok(self.0.checkouts.count(place_of(home), connection));
        }
        if let Some(schema) = tenant {
            // The home connection is busy. An idle connection that has served the
            // schema costs nothing more than home; one with room for guests costs a
            // catalog build in a backend that holds few. Past those, a request waits at
            // home while few others do: under load that keeps a tenant on its
            // connection (warm catalog cache and plans). Taking any idle connection
            // instead would soon have every connection serve every tenant: with
            // thousands of tenants, a cold catalog on most requests and connections
            // retired for the schemas they piled up.
            let room = self.0.guest_room;
            let others = || (1..count).map(|offset| (home + offset) % count);
            let mut warm_elsewhere = 0;
            let mut any_room = false;
            for slot in others() {
                let view = self.0.warmth[slot].view(schema, room);
                if view.warm {
                    warm_elsewhere += 1;
                    if let Some(connection) = try_slot(slot).await? {
                        return Ok(connection);
                    }
                }
                any_room |= view.has_room && !view.warm;
            }
            if any_room {
                for slot in others() {
                    let view = self.0.warmth[slot].view(schema, room);
                    if view.has_room && !view.warm {
                        if let Some(connection) = try_slot(slot).await? {
                            return Ok(connection);
                        }
                    }
                }
            }
            // Warm on half the other connections or more (a busy tenant, or one of few):
            // its home is no warmer than the first connection to come back. (Spreading a
            // tenant as soon as a second request of it waits at home was tried: at
            // 2,000 tenants their requests meet at home often enough to spread them
            // all; see docs/benchmarks.md, "Thousands of tenants".)
            let spread = warm_elsewhere * 2 >= count - 1;
            if !spread && slots[home].status().waiting < self.0.home_queue_limit {
                let connection = self.wait_for(home).await?;
                return Ok(self.0.checkouts.count(place_of(home), connection));
            }
        }
        // A tenant that crowds its home or is spread, or no tenant: any idle
        // connection, else the first to come back to a slot nobody waits on. Waiting
        // is on one queue, never on several slots at once: a wait abandoned for another
        // slot could abandon a connection being opened, and a saturated pool would
        // spend PostgreSQL's time forking backends dropped before their first query.
        let scan = || async {
            for offset in 1..=count {
                if let Some(connection) = try_slot((home + offset) % count).await? {
                    return Ok(Some(connection));
                }
            }
            Ok::<_, TenancyError>(None)
        };
        if let Some(connection) = scan().await? {
            return Ok(connection);
        }
        let mut turn = Turn::new(&self.0.overflow, &self.0.waiting);
        loop {
            // Queued before looking again, so a connection that comes back meanwhile
            // wakes this request rather than nobody.
            turn.queue();
            if let Some(connection) = scan().await? {
                return Ok(turn.served(connection));
            }
            turn.wait().await;
            if let Some(connection) = scan().await? {
                return Ok(turn.served(connection));
            }
            // A newcomer of that slot's tenants took it first: the head of the queue
            // again.
        }
    }

    /// Which slot is `schema`'s home, when the pool gives tenants homes (for tests and
    /// diagnostics: the hash is the pool's own).
    pub fn home_slot(&self, schema: &SchemaName) -> Option<usize> {
        let count = self.0.slots.len();
        (count > 1).then(|| (self.0.hasher.hash_one(schema) % count as u64) as usize)
    }

    /// How many checkouts each kind of connection served, since the pool was built.
    pub fn checkouts(&self) -> CheckoutCounts {
        self.0.checkouts.snapshot()
    }

    async fn wait_for(&self, slot: usize) -> Result<Connection, TenancyError> {
        self.0.waiting.fetch_add(1, Ordering::Relaxed);
        let connection = self.0.slots[slot].get().await;
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
        connection
            .map(|connection| Connection::new(connection, &self.0.overflow))
            .map_err(|e| pool_error(&self.0.url, e))
    }

    pub fn status(&self) -> PoolStatus {
        let mut status = PoolStatus {
            max_size: 0,
            open: 0,
            idle: 0,
            waiting: self.0.waiting.load(Ordering::Relaxed),
        };
        for slot in &self.0.slots {
            let slot = slot.status();
            status.max_size += slot.max_size;
            status.open += slot.size;
            status.idle += slot.available;
            if self.0.slots.len() == 1 {
                status.waiting += slot.waiting;
            }
        }
        status
    }

    /// Closes every idle connection and refuses new checkouts.
    pub fn close(&self) {
        for slot in &self.0.slots {
            slot.close();
        }
    }
}
