//! The pool that serves tenants' units of work, and how statements reach PostgreSQL.
//!
//! Three costs shape it, each measured (docs/benchmarks.md, "Many tenants"):
//!
//! - **Re-planning.** PostgreSQL re-analyses and re-plans a cached statement whenever
//!   the `search_path` differs from the one it was planned under. With requests
//!   rotating over tenants that is nearly every execution. So in direct mode a
//!   statement is cached per *schema*: its cache key (and its text, through a trailing
//!   comment) carries the schema name, and a statement planned for one tenant is only
//!   ever executed for that tenant. And it runs the generic plan made once for it
//!   ([`PoolStrategy::generic_plans`]): by default PostgreSQL plans a cached
//!   statement again with each execution's values whenever it judges that cheaper,
//!   and planning (which reads the size of a table and of each of its indexes) was a
//!   third or more of what a backend spent on the contracts page.
//! - **Catalog memory.** A backend keeps relation and catalog cache entries for every
//!   schema it has touched, about 100 KiB each, for as long as it lives. So each tenant
//!   has a *home* connection (its schema name hashed over the pool's slots), and the
//!   pool knows which schemas each slot's backend has served. A request takes its home
//!   connection when it is idle; else an idle connection its schema is already warm
//!   on; else an idle one whose backend has served fewer than [`GUEST_ROOM`] schemas
//!   (few tenants spread as in a plain pool, thousands do not). Finding none, it waits
//!   at home while fewer than [`HOME_QUEUE_LIMIT`] do, unless its schema is warm on
//!   half the connections or more (a busy tenant, or one of few, whose home is then no
//!   warmer than any other). Such a request, and one past the home queue, take any
//!   idle connection, or else wait like a request that names no tenant, in one queue
//!   served by whichever connection comes back first. A connection that has served
//!   more than [`MAX_SCHEMAS_PER_CONNECTION`] schemas, or cached more than
//!   [`MAX_CACHED_STATEMENTS`] statements, is retired at its next checkout.
//! - **Transaction poolers.** Behind PgBouncer in transaction mode consecutive
//!   transactions of one client run on different server connections, so nothing may
//!   outlive a transaction: no named statement kept in a cache, nothing set for the
//!   session. In [`Pooler::Transaction`] mode every statement goes as tokio-postgres'
//!   unnamed `query_typed` (Parse, Bind, Execute and Sync in one message train), with
//!   parameter types learnt once per statement text by a prepare that is closed inside
//!   the same transaction.
//!
//! Rule for everything built on this: on a pooled connection, run nothing that outlives
//! its transaction. What needs a session (`LISTEN`, a session advisory lock) connects
//! with [`super::pool::DatabaseUrl::connect`] to the direct URL.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement};

mod checkout;
mod request_pool;
mod settings;
mod warmth;

use warmth::Warmth;

pub use checkout::CheckoutCounts;
pub use request_pool::{Connection, PoolStatus, RequestPool};
pub use settings::{
    PoolStrategy, Pooler, GUEST_ROOM, HOME_QUEUE_LIMIT, MAX_CACHED_STATEMENTS,
    MAX_HOME_QUEUE_LIMIT, MAX_SCHEMAS_PER_CONNECTION,
};

use super::names::SchemaName;

/// Server connections are closed and replaced after this long or this many uses.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(30 * 60);
const MAX_CONNECTION_USES: usize = 100_000;
/// Parameter types remembered per process in transaction mode; statement texts are few
/// (filters combine into a bounded set), so this is a guard, not a working size.
const MAX_REMEMBERED_STATEMENTS: usize = 4_096;

/// Where a statement runs: in which tenant's schema (for the statement cache) and
/// whether inside a transaction (a transaction-mode pooler keeps the server connection
/// only that long).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub schema: Option<&'a SchemaName>,
    pub in_transaction: bool,
}

impl<'a> Scope<'a> {
    pub fn tenant(schema: &'a SchemaName) -> Self {
        Self {
            schema: Some(schema),
            in_transaction: true,
        }
    }

    /// A lone statement on `public`, outside any transaction.
    pub fn standalone() -> Self {
        Self {
            schema: None,
            in_transaction: false,
        }
    }

    /// A statement on `public` inside a transaction the caller opened.
    pub fn public_transaction() -> Self {
        Self {
            schema: None,
            in_transaction: true,
        }
    }
}

/// Parameter types per statement text, shared by a process's connections.
#[derive(Default)]
struct ParamTypes(RwLock<HashMap<Box<str>, Arc<[Type]>>>);

impl ParamTypes {
    fn get(&self, sql: &str) -> Option<Arc<[Type]>> {
        self.0
            .read()
            .expect("parameter types lock")
            .get(sql)
            .cloned()
    }

    fn remember(&self, sql: &str, types: Arc<[Type]>) {
        let mut known = self.0.write().expect("parameter types lock");
        if known.len() >= MAX_REMEMBERED_STATEMENTS {
            known.clear();
        }
        known.insert(sql.into(), types);
    }
}

/// One pooled connection and what it has served.
pub struct PooledConnection {
    client: ClientWrapper,
    pooler: Pooler,
    statements_per_schema: bool,
    param_types: Arc<ParamTypes>,
    /// The schemas it has served: its slot's record when it is the slot's one
    /// connection (the pool reads it while the connection is out), else its own.
    schemas_served: Arc<Warmth>,
}

impl PooledConnection {
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// How many distinct tenant schemas this connection has served.
    pub fn schemas_served(&self) -> usize {
        self.schemas_served.len()
    }

    fn serve(&self, schema: &SchemaName) {
        self.schemas_served.insert(schema);
    }

    /// Sends a simple-protocol text (no parameters, nothing cached).
    pub async fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.client.batch_execute(sql).await
    }

    /// The direct-mode statement for `sql` in `scope`, from the per-schema cache.
    async fn cached(
        &self,
        scope: Scope<'_>,
        sql: &str,
    ) -> Result<Statement, tokio_postgres::Error> {
        match scope.schema.filter(|_| self.statements_per_schema) {
            // The comment makes the text, and so the cache key, the schema's own.
            // Schema names are validated identifiers, so it cannot end the comment.
            Some(schema) => {
                self.client
                    .prepare_cached(&format!("{sql}\n-- {}", schema.as_str()))
                    .await
            }
            None => self.client.prepare_cached(sql).await,
        }
    }

    /// Transaction mode: the parameter types of `sql`, learnt once per process by a
    /// prepare that is closed before its transaction ends.
    async fn param_types(
        &self,
        scope: Scope<'_>,
        sql: &str,
    ) -> Result<Arc<[Type]>, tokio_postgres::Error> {
        if let Some(types) = self.param_types.get(sql) {
            return Ok(types);
        }
        let types: Arc<[Type]> = if scope.in_transaction {
            // Dropping the statement queues its Close ahead of anything sent later,
            // so it is closed before this transaction's COMMIT.
            self.client.prepare(sql).await?.params().into()
        } else {
            self.client.batch_execute("BEGIN").await?;
            let prepared = self.client.prepare(sql).await;
            let ended = self.client.batch_execute("COMMIT").await;
            let types = prepared?.params().into();
            ended?;
            types
        };
        self.param_types.remember(sql, Arc::clone(&types));
        Ok(types)
    }

    /// Readies `sql` for execution: a cached statement in direct mode, its parameter
    /// types behind a transaction pooler. Once it returns, executing sends the query on
    /// the future's first poll, which lets callers queue several behind each other.
    pub async fn prepare(
        &self,
        scope: Scope<'_>,
        sql: &str,
    ) -> Result<Prepared, tokio_postgres::Error> {
        Ok(match self.pooler {
            Pooler::None => Prepared::Cached(self.cached(scope, sql).await?),
            Pooler::Transaction => Prepared::Unnamed(self.param_types(scope, sql).await?),
        })
    }

    pub async fn query_prepared(
        &self,
        prepared: &Prepared,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        match prepared {
            Prepared::Cached(statement) => self.client.query(statement, params).await,
            Prepared::Unnamed(types) if types.len() == params.len() => {
                self.client.query_typed(sql, &typed(params, types)).await
            }
            // Let PostgreSQL word the error about the parameter count.
            Prepared::Unnamed(_) => self.client.query(sql, params).await,
        }
    }

    pub async fn query(
        &self,
        scope: Scope<'_>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let prepared = self.prepare(scope, sql).await?;
        self.query_prepared(&prepared, sql, params).await
    }

    pub async fn query_one(
        &self,
        scope: Scope<'_>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        match self.prepare(scope, sql).await? {
            Prepared::Cached(statement) => self.client.query_one(&statement, params).await,
            Prepared::Unnamed(types) if types.len() == params.len() => {
                self.client
                    .query_typed_one(sql, &typed(params, &types))
                    .await
            }
            Prepared::Unnamed(_) => self.client.query_one(sql, params).await,
        }
    }

    pub async fn query_opt(
        &self,
        scope: Scope<'_>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        match self.prepare(scope, sql).await? {
            Prepared::Cached(statement) => self.client.query_opt(&statement, params).await,
            Prepared::Unnamed(types) if types.len() == params.len() => {
                self.client
                    .query_typed_opt(sql, &typed(params, &types))
                    .await
            }
            Prepared::Unnamed(_) => self.client.query_opt(sql, params).await,
        }
    }

    pub async fn execute(
        &self,
        scope: Scope<'_>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        use futures::TryStreamExt;
        match self.prepare(scope, sql).await? {
            Prepared::Cached(statement) => self.client.execute(&statement, params).await,
            Prepared::Unnamed(types) if types.len() == params.len() => {
                let rows = self
                    .client
                    .query_typed_raw(sql, typed(params, &types))
                    .await?;
                futures::pin_mut!(rows);
                while rows.try_next().await?.is_some() {}
                Ok(rows.rows_affected().unwrap_or(0))
            }
            Prepared::Unnamed(_) => self.client.execute(sql, params).await,
        }
    }
}

/// A statement readied by [`PooledConnection::prepare`].
pub enum Prepared {
    /// A named statement from the connection's per-schema cache (direct mode).
    Cached(Statement),
    /// The parameter types for an unnamed `query_typed` (transaction mode).
    Unnamed(Arc<[Type]>),
}

fn typed<'p>(
    params: &'p [&'p (dyn ToSql + Sync)],
    types: &[Type],
) -> Vec<(&'p (dyn ToSql + Sync), Type)> {
    params
        .iter()
        .zip(types)
        .map(|(param, ty)| (*param, ty.clone()))
        .collect()
}

/// Creates connections through `tracked_connect` and retires them by age, use and
/// the number of schemas and statements they hold.
pub struct ConnectionManager {
    inner: deadpool_postgres::Manager,
    pooler: Pooler,
    statements_per_schema: bool,
    max_schemas: usize,
    param_types: Arc<ParamTypes>,
    /// The slot's record of what its one connection serves (none in a slot of several,
    /// whose connections each keep their own).
    warmth: Option<Arc<Warmth>>,
}

impl managed::Manager for ConnectionManager {
    type Type = PooledConnection;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<PooledConnection, tokio_postgres::Error> {
        let client = managed::Manager::create(&self.inner).await?;
        let schemas_served = match &self.warmth {
            // The slot's previous backend, and its caches, are gone.
            Some(slot) => {
                slot.clear();
                Arc::clone(slot)
            }
            None => Arc::default(),
        };
        Ok(PooledConnection {
            client,
            pooler: self.pooler,
            statements_per_schema: self.statements_per_schema,
            param_types: Arc::clone(&self.param_types),
            schemas_served,
        })
    }

    async fn recycle(
        &self,
        connection: &mut PooledConnection,
        metrics: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        if metrics.age() > MAX_CONNECTION_AGE || metrics.recycle_count > MAX_CONNECTION_USES {
            return Err(RecycleError::message("retired: old or much used"));
        }
        if connection.schemas_served.len() > self.max_schemas
            || connection.client.statement_cache.size() > MAX_CACHED_STATEMENTS
        {
            return Err(RecycleError::message(
                "retired: served too many tenant schemas",
            ));
        }
        managed::Manager::recycle(&self.inner, &mut connection.client, metrics).await
    }

    fn detach(&self, connection: &mut PooledConnection) {
        managed::Manager::detach(&self.inner, &mut connection.client);
    }
}
