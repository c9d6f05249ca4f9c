//! The tenant-scoped database handle handlers get. Every unit of work is a transaction
//! that starts with `set_config('search_path', '"<schema>", public', true)` (that is,
//! `SET LOCAL`), sent in the same round trip as `BEGIN`. `SET LOCAL` dies with the
//! transaction, so a pooled connection never carries one tenant's search_path into the
//! next request, and the scheme holds behind PgBouncer in transaction mode.

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::names::SchemaName;
use super::TenancyError;
use crate::db::{pool_error, DatabaseUrl};

const SET_SEARCH_PATH: &str = "select set_config('search_path', $1, true)";

/// A pool and the one schema this handle may use. Nothing on it can pick another.
#[derive(Clone)]
pub struct TenantDb {
    pool: Pool,
    url: DatabaseUrl,
    search_path: String,
}

impl TenantDb {
    pub fn new(pool: Pool, url: DatabaseUrl, schema: &SchemaName) -> Self {
        Self {
            pool,
            url,
            search_path: format!("{}, public", schema.quoted()),
        }
    }

    /// Opens a transaction on the tenant's schema.
    pub async fn begin(&self) -> Result<TenantTx, TenancyError> {
        let conn = self
            .pool
            .get()
            .await
            .map_err(|e| pool_error(&self.url, e))?;
        let set_path = conn.prepare_cached(SET_SEARCH_PATH).await?;
        // Both go out before either answer is awaited: BEGIN as a simple query, the
        // already-prepared set_config right behind it on the same connection.
        let params: [&(dyn ToSql + Sync); 1] = [&self.search_path];
        let (begun, path) =
            tokio::join!(conn.batch_execute("BEGIN"), conn.query(&set_path, &params));
        begun?;
        path?;
        Ok(TenantTx {
            conn,
            finished: false,
        })
    }
}

/// An open transaction on one tenant's schema. Commit it; if it is dropped instead,
/// the pool's recycle step (`ROLLBACK; RESET ALL`) undoes it before anyone else gets
/// the connection.
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
    fn drop(&mut self) {
        if !self.finished {
            tracing::debug!("tenant transaction dropped without commit; the pool rolls it back");
        }
    }
}
