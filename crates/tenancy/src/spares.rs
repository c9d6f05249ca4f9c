//! The warm path: spare schemas built ahead of time, so that a signup only claims and
//! renames one (see `provision::create_tenant`).

use serde::Serialize;
use tokio_postgres::Client;

use super::migrations::MigrationSet;
use super::names::SchemaName;
use super::provision::{build_schema, take_shared_migration_lock, BuildError};
use super::roles::RoleName;
use super::{describe_error, TenancyError};

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SparePool {
    /// All spares.
    pub total: i64,
    /// Spares at the version this build expects: the only ones `create` claims.
    pub ready: i64,
    /// Spares waiting for `tenantctl migrate`.
    pub behind: i64,
}

pub async fn pool_status(client: &Client, set: &MigrationSet) -> Result<SparePool, TenancyError> {
    let row = client
        .query_one(
            "select count(*), count(*) filter (where schema_version = $1), \
             count(*) filter (where schema_version < $1) from public.spare_schemas",
            &[&set.latest_version()],
        )
        .await?;
    Ok(SparePool {
        total: row.get(0),
        ready: row.get(1),
        behind: row.get(2),
    })
}

/// Builds spares, one transaction each, until the pool holds `target` of them.
/// `on_built` is called after each one (for a progress bar). Returns how many were built.
pub async fn fill(
    client: &mut Client,
    set: &MigrationSet,
    target: i64,
    mut on_built: impl FnMut(),
) -> Result<i64, TenancyError> {
    let mut built = 0;
    while pool_status(client, set).await?.total < target {
        build_spare(client, set).await?;
        built += 1;
        on_built();
    }
    Ok(built)
}

async fn build_spare(client: &mut Client, set: &MigrationSet) -> Result<SchemaName, TenancyError> {
    let schema = SchemaName::new_spare();
    let tx = client.transaction().await?;
    let (cluster, database_oid) = take_shared_migration_lock(&tx).await?;
    let role = RoleName::generate(database_oid);
    build_schema(&tx, set, &schema, &role, cluster)
        .await
        .map_err(|error| match error {
            BuildError::Sql(error) => TenancyError::Database(error),
            BuildError::Migration(error) => TenancyError::Other(anyhow::anyhow!(
                "building spare {schema}: {}",
                describe_error(&error)
            )),
        })?;
    tx.execute(
        "insert into public.spare_schemas (schema_name, schema_version, role_name) \
         values ($1, $2, $3)",
        &[&schema.as_str(), &set.latest_version(), &role.as_str()],
    )
    .await?;
    tx.commit().await?;
    Ok(schema)
}
