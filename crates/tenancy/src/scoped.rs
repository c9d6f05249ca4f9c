//! The tenant-scoped database handle handlers get. Every unit of work is a transaction
//! opened by one simple-query message, `BEGIN; SET LOCAL search_path TO "<schema>",
//! public; SET LOCAL ROLE "<tenant role>"`. `SET LOCAL` dies with the transaction, so a
//! pooled connection never carries one tenant's search_path or role into the next
//! request, and the scheme holds behind PgBouncer in transaction mode. The role is
//! what makes PostgreSQL itself refuse a statement that names another tenant's schema
//! (see [`crate::roles`]).
//!
//! The schema and role names are spliced into that text rather than bound: they are a
//! validated `SchemaName` and `RoleName`, quoted, and a simple query is never cached,
//! so no per-tenant entry reaches the statement cache. One message instead of a `BEGIN`
//! plus prepared `set_config` calls halves what PostgreSQL parses per request.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::connection::{Connection, RequestPool, Scope};
use super::names::SchemaName;
use super::pool::connection_lost;
use super::roles::RoleName;
use super::{TenancyError, TenantId};

/// A pool and the one schema this handle may use. Nothing on it can pick another.
/// Made for every request, so it holds only handles: the opening text is written when
/// a unit of work starts.
#[derive(Clone)]
pub struct TenantDb {
    pool: RequestPool,
    tenant: TenantId,
    schema: SchemaName,
    /// `None` only for a tenant built before tenant roles (see [`crate::registry::Tenant`]).
    role: Option<RoleName>,
    context: Option<UnitContext>,
    commit_guard: Option<Arc<CommitGuard>>,
}

/// A statement run in every transaction of a handle right before its COMMIT, in the
/// same transaction: it returns one boolean, and `false` rolls the transaction back
/// (commit fails with [`TenancyError::CommitRefused`]). What the layers above use to
/// tie something to the outcome of whatever the unit of work writes (an idempotency
/// key, recorded only with the change it answers for).
pub struct CommitGuard {
    pub sql: String,
    pub params: Vec<Box<dyn ToSql + Send + Sync>>,
}

/// What the layers above attach to every unit of work (the clock, the event reactions),
/// opaque here: tenancy knows nothing of them, and `kernel::unit` reads them back.
pub type UnitContext = Arc<dyn Any + Send + Sync>;

impl TenantDb {
    /// A handle on `schema` whose units of work run as `role`.
    pub fn new(
        pool: RequestPool,
        tenant: TenantId,
        schema: &SchemaName,
        role: Option<&RoleName>,
    ) -> Self {
        Self {
            pool,
            tenant,
            schema: schema.clone(),
            role: role.cloned(),
            context: None,
            commit_guard: None,
        }
    }

    /// The same handle, with `guard` run before every commit of its transactions.
    pub fn with_commit_guard(mut self, guard: Arc<CommitGuard>) -> Self {
        self.commit_guard = Some(guard);
        self
    }

    /// The same handle without a commit guard: for bookkeeping that must commit
    /// whatever becomes of the guarded change (a record of something refused, the
    /// removal of a file should its record never come).
    pub fn without_commit_guard(&self) -> Self {
        Self {
            commit_guard: None,
            ..self.clone()
        }
    }

    /// The same handle, with `context` carried into every transaction it opens.
    pub fn with_context(mut self, context: UnitContext) -> Self {
        self.context = Some(context);
        self
    }

    /// The tenant whose schema this is: what a job enqueued from here belongs to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// The role its units of work run as.
    pub fn role(&self) -> Option<&RoleName> {
        self.role.as_ref()
    }

    /// What this handle carries into its transactions (see [`UnitContext`]).
    pub fn context(&self) -> Option<&UnitContext> {
        self.context.as_ref()
    }

    /// `BEGIN [READ ONLY]; SET LOCAL search_path TO "<schema>", public; SET LOCAL ROLE
    /// "<role>"`.
    fn opening_sql(&self, read_only: bool) -> String {
        let mode = if read_only { " READ ONLY" } else { "" };
        let schema = self.schema.quoted();
        match &self.role {
            Some(role) => format!(
                "BEGIN{mode}; SET LOCAL search_path TO {schema}, public; SET LOCAL ROLE {}",
                role.quoted()
            ),
            None => format!("BEGIN{mode}; SET LOCAL search_path TO {schema}, public"),
        }
    }

    async fn connection(&self) -> Result<Connection, TenancyError> {
        self.pool.get(Some(&self.schema)).await
    }

    /// Opens a transaction on the tenant's schema.
    pub async fn begin(&self) -> Result<TenantTx, TenancyError> {
        // The guard exists before BEGIN is sent, so a request cancelled mid-way still
        // rolls back.
        let mut tx = TenantTx::new(self.connection().await?, self.tenant, &self.schema);
        tx.context = self.context.clone();
        tx.commit_guard = self.commit_guard.clone();
        tx.watch(tx.conn().batch_execute(&self.opening_sql(false)).await)?;
        Ok(tx)
    }

    /// Runs read-only statements in one `READ ONLY` transaction and a single round
    /// trip: the opening message, every statement and the `COMMIT` are sent before any
    /// answer is awaited, so PostgreSQL reads them in one go and answers in one go
    /// instead of waking up again for a `COMMIT` sent after the rows came back. For
    /// the hot read paths, where extra round trips would cost more than the query
    /// itself. Returns each statement's rows, in order.
    pub async fn read(
        &self,
        statements: &[(&str, &[&(dyn ToSql + Sync)])],
    ) -> Result<Vec<Vec<Row>>, TenancyError> {
        let tx = TenantTx::new(self.connection().await?, self.tenant, &self.schema);
        let (conn, commit_sent) = (tx.conn(), &tx.finished);
        let scope = Scope::tenant(&self.schema);
        let opening = self.opening_sql(true);
        let reads =
            async {
                // Everything is readied first: a cached statement (or known parameter
                // types, behind a transaction pooler) is ready at once, so on a warm
                // connection nothing is awaited here; a miss sends its Parse behind the
                // opening message, so it resolves in the tenant schema. Then each query
                // is sent on its first poll.
                let mut prepared = Vec::with_capacity(statements.len());
                for (sql, _) in statements {
                    prepared.push(conn.prepare(scope, sql).await?);
                }
                let queries =
                    futures::future::try_join_all(prepared.iter().zip(statements).map(
                        |(prepared, (sql, params))| conn.query_prepared(prepared, sql, params),
                    ));
                // `join!` polls in order and each request is queued on its first poll, so
                // the COMMIT goes out after every statement, in the same poll as the
                // transaction is marked finished (so that a cancelled request does not
                // send a ROLLBACK behind it): nothing can cancel this future in between.
                commit_sent.store(true, Ordering::Relaxed);
                let (rows, committed) = tokio::join!(queries, conn.batch_execute("COMMIT"));
                let rows = rows?;
                committed?;
                Ok::<_, tokio_postgres::Error>(rows)
            };
        let (begun, rows) = tokio::join!(conn.batch_execute(&opening), reads);
        tx.watch(begun)?;
        Ok(tx.watch(rows)?)
    }
}

/// Puts a simple statement on the connection's queue and returns at once; its answer is
/// discarded. tokio-postgres sends a request on its future's first poll, and answers
/// come in order, so everything sent later runs after it.
fn send_without_waiting(conn: &Connection, sql: &str) {
    use futures::FutureExt;
    let _ = conn.batch_execute(sql).now_or_never();
}

/// An open transaction on one tenant's schema. Commit it; if it is dropped instead,
/// it is rolled back before anyone else gets the connection.
pub struct TenantTx {
    /// Always present; an `Option` only so that `Drop` can take a broken connection
    /// out of the pool.
    conn: Option<Connection>,
    tenant: TenantId,
    schema: SchemaName,
    /// Set once COMMIT or ROLLBACK has been sent. Atomic only so that `read` can set
    /// it while its statements borrow the connection.
    finished: AtomicBool,
    /// Set when a statement found the connection gone (a restart, a failover, a
    /// terminated backend).
    broken: AtomicBool,
    context: Option<UnitContext>,
    commit_guard: Option<Arc<CommitGuard>>,
    /// Channels to notify once the transaction has committed.
    notify_after_commit: std::sync::Mutex<Vec<&'static str>>,
    /// What the transaction collects into single rows written right before its COMMIT.
    collections: std::sync::Mutex<Vec<Collection>>,
}

/// The statement that writes one collection, with its parameters; the collected items
/// follow as its last parameter (see [`TenantTx::collect_before_commit`]).
pub type CollectionWrite = (&'static str, Vec<Box<dyn ToSql + Send + Sync>>);

/// Items a transaction collects under one key, and how they are written.
struct Collection {
    key: &'static str,
    write: CollectionWrite,
    items: Vec<serde_json::Value>,
}

impl TenantTx {
    fn new(conn: Connection, tenant: TenantId, schema: &SchemaName) -> Self {
        Self {
            conn: Some(conn),
            tenant,
            schema: schema.clone(),
            finished: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            context: None,
            commit_guard: None,
            notify_after_commit: std::sync::Mutex::default(),
            collections: std::sync::Mutex::default(),
        }
    }

    /// Adds `item` to this transaction's collection `key`. Right before COMMIT each
    /// collection is written by one statement: the `write` its first item came with
    /// (`write` is called only then), its parameters, and then its items as a JSON
    /// array. What every event of a unit of work adds to one row (the job that
    /// collects them) thereby costs one statement per transaction instead of one per
    /// event. Items added inside a savepoint that is rolled back stay collected: what
    /// reads them must expect some to name nothing.
    pub fn collect_before_commit(
        &self,
        key: &'static str,
        write: impl FnOnce() -> CollectionWrite,
        item: serde_json::Value,
    ) {
        let mut collections = self.collections.lock().expect("collections");
        match collections.iter_mut().find(|c| c.key == key) {
            Some(collection) => collection.items.push(item),
            None => collections.push(Collection {
                key,
                write: write(),
                items: vec![item],
            }),
        }
    }

    /// Sends `NOTIFY channel` once this transaction has committed (never if it rolls
    /// back), as a statement of its own: not inside the transaction, where PostgreSQL
    /// would hold a database-wide lock from the notification until the commit's WAL
    /// flush, so that every notifying transaction commits one after another (measured:
    /// 585 against 2,400 commits a second with 16 clients). `channel` is a constant
    /// identifier of the caller's.
    pub fn notify_after_commit(&self, channel: &'static str) {
        debug_assert!(channel.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        let mut channels = self.notify_after_commit.lock().expect("channels");
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }

    /// The tenant this transaction works for.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// What the handle that opened this transaction carried (see [`UnitContext`]).
    pub fn context(&self) -> Option<&UnitContext> {
        self.context.as_ref()
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("the connection stays until drop")
    }

    /// Notes a broken connection in a result on its way out.
    fn watch<T>(
        &self,
        result: Result<T, tokio_postgres::Error>,
    ) -> Result<T, tokio_postgres::Error> {
        if let Err(error) = &result {
            if connection_lost(error) {
                self.broken.store(true, Ordering::Relaxed);
            }
        }
        result
    }

    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let scope = Scope::tenant(&self.schema);
        self.watch(self.conn().query(scope, sql, params).await)
    }

    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let scope = Scope::tenant(&self.schema);
        self.watch(self.conn().query_one(scope, sql, params).await)
    }

    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let scope = Scope::tenant(&self.schema);
        self.watch(self.conn().query_opt(scope, sql, params).await)
    }

    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let scope = Scope::tenant(&self.schema);
        self.watch(self.conn().execute(scope, sql, params).await)
    }

    /// Commits, once what the transaction collected is written and the handle's
    /// commit guard (if any) agreed. A connection lost while COMMIT was on its way is
    /// [`TenancyError::CommitOutcomeUnknown`]: the change may have been made, so "try
    /// again" would be the wrong advice.
    pub async fn commit(mut self) -> Result<(), TenancyError> {
        let collections = std::mem::take(self.collections.get_mut().expect("collections"));
        for Collection {
            write: (sql, params),
            items,
            ..
        } in collections
        {
            let items = serde_json::Value::Array(items);
            let mut params: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            params.push(&items);
            self.execute(sql, &params).await?;
        }
        if let Some(guard) = self.commit_guard.clone() {
            let params: Vec<&(dyn ToSql + Sync)> = guard
                .params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let agreed: bool = self.query_one(&guard.sql, &params).await?.get(0);
            if !agreed {
                // Dropped unfinished: rolled back.
                return Err(TenancyError::CommitRefused);
            }
        }
        *self.finished.get_mut() = true;
        let committed = self.conn().batch_execute("COMMIT").await;
        match self.watch(committed) {
            Ok(()) => {
                // Without waiting: the answer is read before the connection's next
                // user's, and a notification is a wake-up that listeners also get by
                // polling, so nothing waits for it.
                let channels =
                    std::mem::take(self.notify_after_commit.get_mut().expect("channels"));
                for channel in channels {
                    send_without_waiting(self.conn(), &format!("NOTIFY {channel}"));
                }
                Ok(())
            }
            Err(error) if connection_lost(&error) => Err(TenancyError::CommitOutcomeUnknown(error)),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn rollback(mut self) -> Result<(), tokio_postgres::Error> {
        *self.finished.get_mut() = true;
        let rolled_back = self.conn().batch_execute("ROLLBACK").await;
        self.watch(rolled_back)
    }
}

impl Drop for TenantTx {
    /// A transaction dropped unfinished (an error, a cancelled request) is rolled back
    /// before the connection goes back to the pool: the ROLLBACK is queued ahead of
    /// anything the next user sends.
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection found broken never goes back to the pool: the pool checks only
        // whether the client has noticed the close yet, which can lag behind, and the
        // next request would get the same dead connection.
        if *self.broken.get_mut() || conn.is_closed() {
            tracing::debug!("dropping a broken pooled connection");
            drop(Connection::take(conn));
            return;
        }
        if !*self.finished.get_mut() {
            tracing::debug!("tenant transaction dropped without commit; rolling back");
            send_without_waiting(&conn, "ROLLBACK");
        }
    }
}
