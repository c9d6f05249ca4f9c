//! The tenant-scoped database handle handlers get. Every unit of work is a transaction
//! opened by one simple-query message, `BEGIN; SET LOCAL search_path TO "<schema>",
//! public`. `SET LOCAL` dies with the transaction, so a pooled connection never
//! carries one tenant's search_path into the next request, and the scheme holds behind
//! PgBouncer in transaction mode.
//!
//! The schema name is spliced into that text rather than bound: it is a validated
//! `SchemaName`, quoted, and a simple query is never cached, so no per-tenant entry
//! reaches the statement cache. One message instead of a `BEGIN` plus a prepared
//! `set_config` halves what PostgreSQL parses per request.

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::names::SchemaName;
use super::TenancyError;
use crate::db::{pool_error, DatabaseUrl};

/// A pool and the one schema this handle may use. Nothing on it can pick another.
/// Made for every request, so it holds only handles: the opening text is written when
/// a unit of work starts.
#[derive(Clone)]
pub struct TenantDb {
    pool: Pool,
    url: DatabaseUrl,
    schema: SchemaName,
}

impl TenantDb {
    pub fn new(pool: Pool, url: DatabaseUrl, schema: &SchemaName) -> Self {
        Self {
            pool,
            url,
            schema: schema.clone(),
        }
    }

    /// `BEGIN [READ ONLY]; SET LOCAL search_path TO "<schema>", public`.
    fn opening_sql(&self, read_only: bool) -> String {
        let mode = if read_only { " READ ONLY" } else { "" };
        format!(
            "BEGIN{mode}; SET LOCAL search_path TO {}, public",
            self.schema.quoted()
        )
    }

    async fn connection(&self) -> Result<Object, TenancyError> {
        self.pool.get().await.map_err(|e| pool_error(&self.url, e))
    }

    /// Opens a transaction on the tenant's schema.
    pub async fn begin(&self) -> Result<TenantTx, TenancyError> {
        // The guard exists before BEGIN is sent, so a request cancelled mid-way still
        // rolls back.
        let tx = TenantTx {
            conn: self.connection().await?,
            finished: false,
        };
        tx.conn.batch_execute(&self.opening_sql(false)).await?;
        Ok(tx)
    }

    /// Runs read-only statements in one `READ ONLY` transaction and a single round
    /// trip: the opening message and every statement are sent before any answer is
    /// awaited, and `COMMIT` is queued without waiting. For the hot read paths, where
    /// three round trips per request would cost more than the query itself. Returns
    /// each statement's rows, in order.
    pub async fn read(
        &self,
        statements: &[(&str, &[&(dyn ToSql + Sync)])],
    ) -> Result<Vec<Vec<Row>>, TenancyError> {
        let mut tx = TenantTx {
            conn: self.connection().await?,
            finished: false,
        };
        let conn = &tx.conn;
        // Each read prepares its statement (a cache hit after the connection's first
        // use, so nothing is sent) and then sends it, all on the first poll; a miss
        // sends its Parse behind the opening message, so it resolves in the tenant
        // schema.
        let reads =
            futures::future::try_join_all(statements.iter().map(|(sql, params)| async move {
                let statement = conn.prepare_cached(sql).await?;
                conn.query(&statement, params).await
            }));
        let opening = self.opening_sql(true);
        let (begun, rows) = tokio::join!(conn.batch_execute(&opening), reads);
        begun?;
        let rows = rows?;
        // Nothing to wait for: the transaction wrote nothing, and whoever uses this
        // connection next has their statements queued behind the COMMIT.
        send_without_waiting(conn, "COMMIT");
        tx.finished = true;
        Ok(rows)
    }
}

/// Puts a simple statement on the connection's queue and returns at once; its answer is
/// discarded. tokio-postgres sends a request on its future's first poll, and answers
/// come in order, so everything sent later runs after it.
fn send_without_waiting(conn: &Object, sql: &str) {
    use futures::FutureExt;
    let _ = conn.batch_execute(sql).now_or_never();
}

/// An open transaction on one tenant's schema. Commit it; if it is dropped instead,
/// it is rolled back before anyone else gets the connection.
pub struct TenantTx {
    conn: Object,
    finished: bool,
}

impl TenantTx {
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.conn.prepare_cached(sql).await?;
        self.conn.query(&statement, params).await
    }

    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let statement = self.conn.prepare_cached(sql).await?;
        self.conn.query_one(&statement, params).await
    }

    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.conn.prepare_cached(sql).await?;
        self.conn.query_opt(&statement, params).await
    }

    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = self.conn.prepare_cached(sql).await?;
        self.conn.execute(&statement, params).await
    }

    pub async fn commit(mut self) -> Result<(), tokio_postgres::Error> {
        self.finished = true;
        self.conn.batch_execute("COMMIT").await
    }

    pub async fn rollback(mut self) -> Result<(), tokio_postgres::Error> {
        self.finished = true;
        self.conn.batch_execute("ROLLBACK").await
    }
}

impl Drop for TenantTx {
    /// A transaction dropped unfinished (an error, a cancelled request) is rolled back
    /// before the connection goes back to the pool: the ROLLBACK is queued ahead of
    /// anything the next user sends.
    fn drop(&mut self) {
        if !self.finished {
            tracing::debug!("tenant transaction dropped without commit; rolling back");
            send_without_waiting(&self.conn, "ROLLBACK");
        }
    }
}
