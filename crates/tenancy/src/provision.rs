//! Creating and deleting tenants.
//!
//! A tenant is created in a single transaction: registry row, schema, every tenant
//! migration with its history, domain and first admin. Any failure rolls all of it back,
//! so there is never an orphan schema or a stale registry row. PostgreSQL DDL is
//! transactional, which is what makes this possible.

use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::{Client, Transaction};

use super::citus::{Cluster, DETECT_SQL};
use super::error::map_unique_violation;
use super::first_admin::{self, CreatedAdmin, FirstAdmin};
use super::migrations::{history_timestamp, MigrationSet, HISTORY_TABLE};
use super::names::{Host, SchemaName, TenantSlug};
use super::registry::{self, Tenant, TENANT_COLUMNS};
use super::roles::{self, RoleName, DATABASE_OID_SQL};
use super::{describe_error, TenancyError};

/// Advisory-lock key ("pactum" in ASCII). `migrate` holds it exclusively for the whole
/// run; provisioning holds it shared for its transaction, so a tenant is never built
/// half-way through a fleet migration at a version the migrator has already passed.
pub const MIGRATION_LOCK_KEY: i64 = 0x7061_6374_756d;

const MAX_TENANT_NAME_CHARS: usize = 200;

/// What `tenantctl create` asks for, validated.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: String,
    pub host: Host,
    pub admin: Option<FirstAdmin>,
}

impl NewTenant {
    /// `name` defaults to the slug.
    pub fn new(slug: TenantSlug, name: Option<&str>, host: Host) -> Result<Self, TenancyError> {
        let name = match name.map(str::trim) {
            None => slug.to_string(),
            Some(name) => validate_display_name("tenant name", name)?,
        };
        Ok(Self {
            slug,
            name,
            host,
            admin: None,
        })
    }
}

/// Trims a display name and checks it is 1 to 200 printable characters.
pub fn validate_display_name(what: &str, name: &str) -> Result<String, TenancyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TENANT_NAME_CHARS {
        return Err(TenancyError::InvalidInput(format!(
            "the {what} must have 1 to {MAX_TENANT_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(TenancyError::InvalidInput(format!(
            "the {what} may not contain control characters"
        )));
    }
    Ok(name.to_owned())
}

/// Which way a tenant's schema came to be. Reported, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionPath {
    /// A pre-built spare schema was claimed and renamed.
    Spare,
    /// The schema was built from the migrations in this transaction.
    Cold,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provisioned {
    pub tenant: Tenant,
    pub host: Host,
    pub admin: Option<CreatedAdmin>,
    pub path: ProvisionPath,
    pub elapsed_ms: f64,
}

/// Claims the oldest spare at `$1` (the current version). `SKIP LOCKED` means two
/// concurrent signups never wait for, or get, the same spare.
const CLAIM_SPARE_SQL: &str = "delete from public.spare_schemas where schema_name = \
     (select schema_name from public.spare_schemas where schema_version = $1 \
      order by created_at, schema_name limit 1 for update skip locked) \
     returning schema_name, role_name";

/// Creates a tenant, from a spare schema when one is ready, else cold.
#[tracing::instrument(skip_all, fields(tenant = %new.slug))]
pub async fn create_tenant(
    client: &mut Client,
    set: &MigrationSet,
    new: &NewTenant,
) -> Result<Provisioned, TenancyError> {
    create(client, set, new, true).await
}

/// Creates a tenant by building its schema from the migrations, ignoring spares.
pub async fn create_tenant_cold(
    client: &mut Client,
    set: &MigrationSet,
    new: &NewTenant,
) -> Result<Provisioned, TenancyError> {
    create(client, set, new, false).await
}

async fn create(
    client: &mut Client,
    set: &MigrationSet,
    new: &NewTenant,
    use_spares: bool,
) -> Result<Provisioned, TenancyError> {
    let started = Instant::now();
    let slug = new.slug.as_str();
    let host = new.host.as_str();
    let schema = new.slug.schema_name();
    let version = set.latest_version();
    let mut tx = client.transaction().await?;
    let (cluster, database_oid) = take_shared_migration_lock(&tx).await?;

    // The registry rows go first: a taken slug or host fails here, before any DDL and
    // before a spare is claimed. The row can be written as `active` at once because
    // nobody sees it before the schema behind it is complete and committed.
    let insert = format!(
        "with tenant as (insert into public.tenants (slug, name, schema_name, status, schema_version) \
             values ($1, $2, $3, 'active', $5) \
             returning id, slug, name, schema_name, status, schema_version, created_at, updated_at, \
                 role_name), \
         domain as (insert into public.domains (host, tenant_id, is_primary) \
             select $4, id, true from tenant) \
         select {TENANT_COLUMNS} from tenant t"
    );
    let row = tx
        .query_one(
            &insert,
            &[&slug, &new.name, &schema.as_str(), &host, &version],
        )
        .await
        .map_err(|e| map_unique_violation(e, slug, Some(host), None))?;
    let mut tenant = Tenant::from_row(&row)?;

    let claimed = if use_spares {
        tx.query_opt(CLAIM_SPARE_SQL, &[&version]).await?
    } else {
        None
    };
    let spare = claimed.as_ref().and_then(|row| {
        let schema = SchemaName::from_stored(row.get(0))?;
        let role = row
            .get::<_, Option<&str>>(1)
            .and_then(RoleName::from_stored);
        Some((schema, role))
    });
    let adopted = match spare {
        Some((spare, spare_role)) => {
            // In a savepoint: a spare that cannot be adopted must not fail this create,
            // nor stay at the head of the pool to fail every later one. Its claim (the
            // delete above) stands, so it leaves the pool when this commits.
            let attempt = tx.savepoint("adopt_spare").await?;
            let role = spare_role.unwrap_or_else(|| RoleName::generate(database_oid));
            let adoption = Adoption {
                spare: &spare,
                role_is_new: claimed_role_is_missing(&claimed),
                role: &role,
                schema: &schema,
                tenant: tenant.id,
            };
            match adopt_spare(&attempt, &adoption, cluster).await {
                Ok(()) => {
                    attempt.commit().await?;
                    tenant.role = Some(role);
                    true
                }
                Err(error) => {
                    attempt.rollback().await?;
                    tracing::error!(
                        %spare,
                        error = %describe_error(&error),
                        "a spare schema could not be adopted: it is taken out of the pool \
                         (the schema is left in place for inspection; drop it when done) \
                         and this tenant is built cold"
                    );
                    false
                }
            }
        }
        None => false,
    };
    let path = if adopted {
        ProvisionPath::Spare
    } else {
        let role = RoleName::generate(database_oid);
        build_schema(&tx, set, &schema, &role, cluster)
            .await
            .map_err(|e| map_build_error(e, slug))?;
        tx.execute(
            "update public.tenants set role_name = $2 where id = $1",
            &[&tenant.id.0, &role.as_str()],
        )
        .await?;
        tenant.role = Some(role);
        ProvisionPath::Cold
    };

    let admin = match &new.admin {
        Some(admin) => Some(first_admin::insert(&tx, slug, admin).await?),
        None => None,
    };
    tx.commit().await?;
    Ok(Provisioned {
        tenant,
        host: new.host.clone(),
        admin,
        path,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

fn claimed_role_is_missing(claimed: &Option<tokio_postgres::Row>) -> bool {
    claimed
        .as_ref()
        .is_some_and(|row| row.get::<_, Option<&str>>(1).is_none())
}

/// A claimed spare and what it becomes.
struct Adoption<'a> {
    spare: &'a SchemaName,
    /// The spare was built before tenant roles: `role` is made now.
    role_is_new: bool,
    role: &'a RoleName,
    schema: &'a SchemaName,
    tenant: super::TenantId,
}

/// Renames a claimed spare into place, gives its role to the tenant and leaves
/// `search_path` on it. The history's timestamps are reset to now, as a cold build
/// would have written them, so nothing in the schema tells that it was built earlier.
async fn adopt_spare(
    tx: &Transaction<'_>,
    adoption: &Adoption<'_>,
    cluster: Cluster,
) -> Result<(), TenancyError> {
    // One round trip. The timestamp is our own RFC 3339 rendering (digits, '-', ':',
    // '.', 'T', 'Z'), the role name and the tenant id are validated by their types, so
    // all three are safe as literals.
    let now = history_timestamp(OffsetDateTime::now_utc());
    debug_assert!(now
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-:.+".contains(&b)));
    let Adoption {
        spare,
        role,
        schema,
        ..
    } = adoption;
    let new_role = if adoption.role_is_new {
        roles::create_script(role)
    } else {
        String::new()
    };
    let script = format!(
        "alter schema {spare} rename to {schema}; set local search_path to {schema}; \
         update {HISTORY_TABLE} set applied_on = '{now}';\n{new_role}\
         update public.tenants set role_name = '{role}' where id = '{tenant}'",
        spare = spare.quoted(),
        schema = schema.quoted(),
        role = role.as_str(),
        tenant = adoption.tenant,
    );
    cluster.execute_script(tx, &script).await.map_err(|e| {
        map_unique_violation(e, schema.as_str().trim_start_matches("t_"), None, None)
    })?;
    if adoption.role_is_new {
        roles::grant(tx, cluster, role, schema).await?;
    }
    cluster.ensure_distributed(tx, schema).await?;
    Ok(())
}

/// Creates `schema`, applies the whole set to it and makes `role` its tenant role,
/// leaving `search_path` on it. One round trip for the DDL (the schema is new, so
/// refinery's script for it is known up front), two for the role's grants.
pub(crate) async fn build_schema(
    tx: &Transaction<'_>,
    set: &MigrationSet,
    schema: &SchemaName,
    role: &RoleName,
    cluster: Cluster,
) -> Result<(), BuildError> {
    let script = set
        .script_for_new_schema(schema)
        .await
        .map_err(BuildError::Migration)?;
    cluster
        .before_schema_build(tx)
        .await
        .map_err(BuildError::Sql)?;
    cluster
        .execute_script(
            tx,
            &format!(
                "create schema {quoted}; set local search_path to {quoted};\n{script}\n{role}",
                quoted = schema.quoted(),
                role = roles::create_script(role),
            ),
        )
        .await
        .map_err(BuildError::Sql)?;
    roles::grant(tx, cluster, role, schema)
        .await
        .map_err(BuildError::Sql)?;
    cluster
        .ensure_distributed(tx, schema)
        .await
        .map_err(BuildError::Sql)?;
    Ok(())
}

#[derive(Debug)]
pub(crate) enum BuildError {
    /// Creating the schema or running the migrations failed.
    Sql(tokio_postgres::Error),
    /// refinery refused the migration set itself.
    Migration(refinery::Error),
}

fn map_build_error(error: BuildError, slug: &str) -> TenancyError {
    match error {
        BuildError::Sql(error) if is_duplicate_schema(&error) => {
            map_unique_violation(error, slug, None, None)
        }
        BuildError::Sql(error) => TenancyError::Other(anyhow::anyhow!(
            "applying the tenant migrations: {}",
            describe_error(&error)
        )),
        BuildError::Migration(error) => TenancyError::Other(anyhow::anyhow!(
            "applying the tenant migrations: {}",
            describe_error(&error)
        )),
    }
}

fn is_duplicate_schema(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_SCHEMA)
}

/// A simple-protocol statement: one round trip, no prepare (the key is a constant). The
/// same round trip finds out whether this is Citus, which decides how DDL is sent, and
/// the database's oid, which tenant role names carry.
pub(crate) async fn take_shared_migration_lock(
    tx: &Transaction<'_>,
) -> Result<(Cluster, u32), TenancyError> {
    let messages = tx
        .simple_query(&format!(
            "select pg_advisory_xact_lock_shared({MIGRATION_LOCK_KEY}), {DETECT_SQL}, \
             {DATABASE_OID_SQL}"
        ))
        .await?;
    let row = messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or_else(|| TenancyError::Other(anyhow::anyhow!("the lock statement gave no row")))?;
    let citus = row.get(1) == Some("t");
    let oid = row
        .get(2)
        .and_then(|oid| oid.parse().ok())
        .ok_or_else(|| TenancyError::Other(anyhow::anyhow!("no database oid")))?;
    Ok((Cluster::from_detected(citus), oid))
}

#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub id: super::TenantId,
    pub slug: TenantSlug,
    pub schema: SchemaName,
}

/// A tenant marked `deleting` ([`begin_delete`]): no longer served, its jobs
/// cancelled, its schema still there until [`finish_delete`].
#[derive(Debug, Clone)]
pub struct Deleting {
    pub id: super::TenantId,
    pub slug: TenantSlug,
    pub schema: SchemaName,
    role: Option<RoleName>,
}

/// Deletes a tenant and its schema with all its data: [`begin_delete`] then
/// [`finish_delete`]. What lives outside the database (its files) is the caller's to
/// remove between the two, so that a failure there leaves the tenant `deleting` and
/// running the delete again resumes.
#[tracing::instrument(skip_all, fields(tenant = %slug))]
pub async fn delete_tenant(
    client: &mut Client,
    slug: &TenantSlug,
) -> Result<Deleted, TenancyError> {
    let deleting = begin_delete(client, slug).await?;
    finish_delete(client, deleting).await
}

/// Marks a tenant `deleting` and commits that, so servers stop serving it at once, and
/// cancels its pending and running jobs. A tenant already `deleting` (an earlier delete
/// that stopped part way) is taken up again.
pub async fn begin_delete(client: &Client, slug: &TenantSlug) -> Result<Deleting, TenancyError> {
    let row = client
        .query_opt(
            "update public.tenants set status = 'deleting', updated_at = now() \
             where slug = $1 returning id, schema_name, role_name",
            &[&slug.as_str()],
        )
        .await?
        .ok_or_else(|| TenancyError::TenantNotFound(slug.to_string()))?;
    let tenant_id: uuid::Uuid = row.get(0);
    let schema = SchemaName::from_stored(row.get(1))
        .ok_or_else(|| TenancyError::Other(anyhow::anyhow!("invalid schema name in registry")))?;
    // Its jobs will never run (workers claim only active tenants' jobs); say so, in
    // case the drop fails and the tenant stays `deleting` for a while. The rows go with
    // the registry row.
    client
        .execute(
            "update public.jobs set state = 'cancelled', finished_at = now(), lease_until = null \
             where tenant_id = $1 and state in ('scheduled', 'available', 'held', 'running', 'retryable')",
            &[&tenant_id],
        )
        .await?;
    let role = row
        .get::<_, Option<&str>>(2)
        .and_then(RoleName::from_stored);
    Ok(Deleting {
        id: super::TenantId(tenant_id),
        slug: slug.clone(),
        schema,
        role,
    })
}

/// Drops a `deleting` tenant's schema and role and its registry row, in one
/// transaction. If the drop fails (say, too few `max_locks_per_transaction` for a very
/// large schema), the tenant stays `deleting` and running the delete again resumes.
pub async fn finish_delete(
    client: &mut Client,
    deleting: Deleting,
) -> Result<Deleted, TenancyError> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "drop schema if exists {} cascade",
        deleting.schema.quoted()
    ))
    .await?;
    if let Some(role) = &deleting.role {
        roles::drop_role(&tx, Cluster::detect(&tx).await?, role).await?;
    }
    tx.execute(
        "delete from public.tenants where id = $1",
        &[&deleting.id.0],
    )
    .await?;
    tx.commit().await?;
    Ok(Deleted {
        id: deleting.id,
        slug: deleting.slug,
        schema: deleting.schema,
    })
}

/// Adds an admin user to an existing tenant.
#[tracing::instrument(skip_all, fields(tenant = %slug))]
pub async fn create_admin(
    client: &mut Client,
    slug: &TenantSlug,
    admin: &FirstAdmin,
) -> Result<CreatedAdmin, TenancyError> {
    let tx = client.transaction().await?;
    let tenant = registry::find_by_slug(&tx, slug)
        .await?
        .filter(|t| t.status != registry::TenantStatus::Deleting)
        .ok_or_else(|| TenancyError::TenantNotFound(slug.to_string()))?;
    // The admin's row is written as this release writes users; on a schema of another
    // release it may not fit, as this release's requests and jobs would not.
    let expected = MigrationSet::tenant().latest_version();
    if tenant.schema_version != expected {
        return Err(TenancyError::SchemaVersion {
            slug: slug.to_string(),
            at: tenant.schema_version,
            expected,
        });
    }
    tx.query(
        "select set_config('search_path', $1, true)",
        &[&tenant.schema.quoted()],
    )
    .await?;
    let user = first_admin::insert(&tx, slug.as_str(), admin).await?;
    tx.commit().await?;
    Ok(user)
}
