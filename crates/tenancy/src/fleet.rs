//! Migrating the fleet: `public` first, then every tenant and spare schema that the
//! registry shows behind, N at a time, each in its own transaction.
//!
//! - The pending set is one indexed query on the registry: a run with nothing to apply
//!   touches no tenant schema.
//! - A schema's DDL, its history rows and its registry version commit together, so a
//!   failed tenant stays exactly at its previous version and a re-run resumes.
//! - A session advisory lock keeps two migrators apart; provisioning takes the same lock
//!   shared, so no tenant is created mid-run at a version the run has already passed.
//! - `lock_timeout` makes a tenant blocked by a long transaction fail fast and be
//!   reported instead of stalling the fleet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tokio_postgres::Client;
use uuid::Uuid;

use super::citus::Cluster;
use super::migrations::{MigrationName, MigrationSet, HISTORY_TABLE};
use super::names::{SchemaName, TenantSlug};
use super::provision::MIGRATION_LOCK_KEY;
use super::roles::{self, RoleName};
use super::{describe_error, TenancyError};
use crate::pool::{pool_error, DatabaseUrl};

mod report;
mod status;

pub use report::{
    CatalogWideMigration, FleetReport, OutcomeStatus, Progress, SchemaKind, SchemaOutcome, Summary,
};
pub use status::{fleet_status, FleetStatus, TenantVersion};

pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// How many schemas migrate at once (each on its own connection).
    pub parallel: usize,
    /// Stop starting new schemas after the first failure.
    pub fail_fast: bool,
    /// Report what would be applied; apply nothing and take no lock.
    pub dry_run: bool,
    /// Wait for another migrator's lock instead of failing with `MigrationLocked`.
    pub wait_for_lock: bool,
    /// `lock_timeout` for every migration transaction.
    pub lock_timeout: Duration,
    /// Which schemas to consider after `public`.
    pub scope: Scope,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            parallel: 4,
            fail_fast: false,
            dry_run: false,
            wait_for_lock: true,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            scope: Scope::All,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `public` only.
    Shared,
    /// `public`, then every tenant and spare that is behind.
    All,
    /// `public`, then this one tenant.
    Tenant(TenantSlug),
}

/// A schema the registry shows behind.
#[derive(Debug, Clone)]
struct PendingSchema {
    kind: SchemaKind,
    tenant_id: Option<Uuid>,
    tenant: Option<TenantSlug>,
    schema: SchemaName,
    version: i32,
}

/// Migrates over one URL: straight to PostgreSQL (or through a session pooler).
pub async fn migrate_fleet(
    url: &DatabaseUrl,
    public_set: &MigrationSet,
    tenant_set: &MigrationSet,
    options: &FleetOptions,
    on_progress: impl Fn(Progress<'_>) + Send + Sync,
) -> Result<FleetReport, TenancyError> {
    migrate_fleet_via(url, url, public_set, tenant_set, options, on_progress).await
}

/// Migrates with the session work (the advisory lock, the public schema, planning) on
/// `direct` and the per-schema transactions on `url`, which may be a transaction pooler:
/// each schema's migration is one transaction and keeps nothing beyond it.
pub async fn migrate_fleet_via(
    url: &DatabaseUrl,
    direct: &DatabaseUrl,
    public_set: &MigrationSet,
    tenant_set: &MigrationSet,
    options: &FleetOptions,
    on_progress: impl Fn(Progress<'_>) + Send + Sync,
) -> Result<FleetReport, TenancyError> {
    let started = Instant::now();
    let mut control = direct.connect().await?;
    if !options.dry_run {
        acquire_migration_lock(&control, options.wait_for_lock, &on_progress).await?;
    }
    let result = run(
        &mut control,
        url,
        public_set,
        tenant_set,
        options,
        &on_progress,
    )
    .await;
    if !options.dry_run {
        // Closing the connection would release the lock too; unlocking explicitly
        // frees it at once even if the connection lingers.
        let _ = control
            .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
            .await;
    }
    let (public_applied, schemas, already_current) = result?;
    // Schemas already at the target never enter the pending set (so that a no-op run
    // touches no tenant schema), but they are up to date all the same.
    let mut summary = Summary {
        up_to_date: already_current,
        ..Summary::default()
    };
    for outcome in &schemas {
        match outcome.status {
            OutcomeStatus::Migrated => summary.migrated += 1,
            OutcomeStatus::UpToDate => summary.up_to_date += 1,
            OutcomeStatus::Pending => summary.pending += 1,
            OutcomeStatus::Failed => summary.failed += 1,
            OutcomeStatus::Skipped => summary.skipped += 1,
        }
    }
    Ok(FleetReport {
        dry_run: options.dry_run,
        public_applied,
        target_version: tenant_set.latest_version(),
        catalog_wide: report::catalog_wide(tenant_set, &schemas),
        schemas,
        summary,
        duration_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

async fn run(
    control: &mut Client,
    url: &DatabaseUrl,
    public_set: &MigrationSet,
    tenant_set: &MigrationSet,
    options: &FleetOptions,
    on_progress: &(impl Fn(Progress<'_>) + Send + Sync),
) -> Result<(Vec<MigrationName>, Vec<SchemaOutcome>, usize), TenancyError> {
    let cluster = Cluster::detect(&*control).await?;
    let public_applied = if options.dry_run {
        public_version(control)
            .await
            .map(|version| public_set.after(version))?
    } else {
        migrate_public(control, public_set, options.lock_timeout, cluster).await?
    };
    on_progress(Progress::PublicDone {
        applied: &public_applied,
    });
    if options.scope == Scope::Shared {
        return Ok((public_applied, Vec::new(), 0));
    }
    // In a dry run on a database that was never migrated there is no registry yet.
    let registry_exists: bool = control
        .query_one("select to_regclass('public.tenants') is not null", &[])
        .await?
        .get(0);
    if registry_exists && !options.dry_run {
        let made = roles::give_missing(control, cluster).await?;
        if made > 0 {
            tracing::info!(made, "tenant roles made for schemas built before them");
        }
    }
    let (pending, already_current) = if registry_exists {
        (
            pending_schemas(control, tenant_set.latest_version(), &options.scope).await?,
            current_schemas(control, tenant_set.latest_version(), &options.scope).await?,
        )
    } else {
        (Vec::new(), 0)
    };
    on_progress(Progress::Planned {
        schemas: pending.len(),
    });
    let target = tenant_set.latest_version();
    if options.dry_run {
        let outcomes = pending
            .into_iter()
            .map(|p| {
                let applied = tenant_set.after(p.version);
                let status = if applied.is_empty() {
                    OutcomeStatus::UpToDate
                } else {
                    OutcomeStatus::Pending
                };
                outcome(p, status, target, applied, None, Duration::ZERO)
            })
            .inspect(|o| on_progress(Progress::SchemaDone(o)))
            .collect();
        return Ok((public_applied, outcomes, already_current));
    }

    let pool = url.pool(options.parallel)?;
    let stop = AtomicBool::new(false);
    let outcomes = stream::iter(pending)
        .map(|pending| {
            let (pool, stop) = (&pool, &stop);
            async move {
                if stop.load(Ordering::Relaxed) {
                    return outcome(
                        pending,
                        OutcomeStatus::Skipped,
                        target,
                        Vec::new(),
                        Some("not attempted: --fail-fast stopped the run".into()),
                        Duration::ZERO,
                    );
                }
                let result =
                    migrate_schema(pool, url, tenant_set, &pending, options, cluster).await;
                if result.status == OutcomeStatus::Failed && options.fail_fast {
                    stop.store(true, Ordering::Relaxed);
                }
                result
            }
        })
        .buffer_unordered(options.parallel.max(1))
        .inspect(|o| on_progress(Progress::SchemaDone(o)))
        .collect::<Vec<_>>()
        .await;
    let mut outcomes = outcomes;
    outcomes.sort_by_key(|o| (o.kind, o.label()));
    Ok((public_applied, outcomes, already_current))
}

async fn acquire_migration_lock(
    control: &Client,
    wait: bool,
    on_progress: &(impl Fn(Progress<'_>) + Send + Sync),
) -> Result<(), TenancyError> {
    let acquired: bool = control
        .query_one("select pg_try_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?
        .get(0);
    if acquired {
        return Ok(());
    }
    let holder = lock_holder(control).await?;
    if !wait {
        return Err(TenancyError::MigrationLocked { holder });
    }
    on_progress(Progress::WaitingForLock { holder: &holder });
    control
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    Ok(())
}

/// Describes the session holding the migration lock: pid, program, client, since when.
pub async fn lock_holder(client: &Client) -> Result<String, TenancyError> {
    // A bigint advisory key shows in pg_locks split into classid (high 32 bits) and
    // objid (low 32 bits), with objsubid 1. Advisory locks are per database: other
    // databases on the same server may hold the same key.
    let class_id = (MIGRATION_LOCK_KEY >> 32) as u32;
    let object_id = (MIGRATION_LOCK_KEY & 0xffff_ffff) as u32;
    let row = client
        .query_opt(
            "select a.pid, coalesce(nullif(a.application_name, ''), 'unknown program'), \
                    coalesce(host(a.client_addr), 'local socket'), \
                    to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') \
             from pg_locks l join pg_stat_activity a on a.pid = l.pid \
             where l.locktype = 'advisory' and l.granted and l.mode = 'ExclusiveLock' \
               and l.database = (select oid from pg_database where datname = current_database()) \
               and l.classid = $1::bigint::oid and l.objid = $2::bigint::oid and l.objsubid = 1 \
             limit 1",
            &[&i64::from(class_id), &i64::from(object_id)],
        )
        .await?;
    Ok(match row {
        Some(row) => {
            let pid: i32 = row.get(0);
            let program: String = row.get(1);
            let client_addr: String = row.get(2);
            let since: String = row.get(3);
            format!("held by PostgreSQL pid {pid}, {program} from {client_addr}, connected since {since}")
        }
        None => "holder already gone; try again".to_owned(),
    })
}

pub(super) async fn public_version(client: &Client) -> Result<i32, TenancyError> {
    let exists: bool = client
        .query_one(
            &format!("select to_regclass('public.{HISTORY_TABLE}') is not null"),
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: Option<i32> = client
        .query_one(
            &format!("select max(version) from public.{HISTORY_TABLE}"),
            &[],
        )
        .await?
        .get(0);
    Ok(version.unwrap_or(0))
}

async fn migrate_public(
    client: &mut Client,
    set: &MigrationSet,
    lock_timeout: Duration,
    cluster: Cluster,
) -> Result<Vec<MigrationName>, TenancyError> {
    let tx = client.transaction().await?;
    set_lock_timeout(&tx, lock_timeout).await?;
    let applied = set
        .apply_public_in_transaction(&tx, cluster)
        .await
        .map_err(|error| {
            TenancyError::Other(anyhow::anyhow!(
                "migrating the public schema: {}",
                describe_error(&error)
            ))
        })?;
    tx.commit().await?;
    Ok(applied)
}

async fn set_lock_timeout(
    tx: &tokio_postgres::Transaction<'_>,
    lock_timeout: Duration,
) -> Result<(), TenancyError> {
    tx.query(
        "select set_config('lock_timeout', $1, true)",
        &[&format!("{}ms", lock_timeout.as_millis().max(1))],
    )
    .await?;
    Ok(())
}

/// How many schemas in `scope` are already at `target` and so left out of the pending
/// set: one count, no tenant schema touched.
async fn current_schemas(
    client: &Client,
    target: i32,
    scope: &Scope,
) -> Result<usize, TenancyError> {
    if *scope != Scope::All {
        // A single tenant is always in the pending set and reports its own outcome.
        return Ok(0);
    }
    let count: i64 = client
        .query_one(
            "select (select count(*) from public.tenants \
                     where schema_version >= $1 and status <> 'deleting') \
                  + (select count(*) from public.spare_schemas where schema_version >= $1)",
            &[&target],
        )
        .await?
        .get(0);
    Ok(usize::try_from(count).unwrap_or(0))
}

async fn pending_schemas(
    client: &Client,
    target: i32,
    scope: &Scope,
) -> Result<Vec<PendingSchema>, TenancyError> {
    let tenant_rows = match scope {
        Scope::Tenant(slug) => {
            let rows = client
                .query(
                    "select id, slug, schema_name, schema_version from public.tenants \
                     where slug = $1 and status <> 'deleting'",
                    &[&slug.as_str()],
                )
                .await?;
            if rows.is_empty() {
                return Err(TenancyError::TenantNotFound(slug.to_string()));
            }
            rows
        }
        _ => {
            client
                .query(
                    "select id, slug, schema_name, schema_version from public.tenants \
                     where schema_version < $1 and status <> 'deleting' order by slug",
                    &[&target],
                )
                .await?
        }
    };
    let mut pending = Vec::with_capacity(tenant_rows.len());
    for row in tenant_rows {
        let slug: String = row.get(1);
        let schema: String = row.get(2);
        pending.push(PendingSchema {
            kind: SchemaKind::Tenant,
            tenant_id: Some(row.get(0)),
            tenant: Some(TenantSlug::parse(&slug)?),
            schema: stored_schema(&schema)?,
            version: row.get(3),
        });
    }
    if *scope == Scope::All {
        for row in client
            .query(
                "select schema_name, schema_version from public.spare_schemas \
                 where schema_version < $1 order by schema_name",
                &[&target],
            )
            .await?
        {
            let schema: String = row.get(0);
            pending.push(PendingSchema {
                kind: SchemaKind::Spare,
                tenant_id: None,
                tenant: None,
                schema: stored_schema(&schema)?,
                version: row.get(1),
            });
        }
    }
    Ok(pending)
}

fn stored_schema(name: &str) -> Result<SchemaName, TenancyError> {
    SchemaName::from_stored(name).ok_or_else(|| {
        TenancyError::Other(anyhow::anyhow!(
            "the registry holds an invalid schema name {name:?}"
        ))
    })
}

fn outcome(
    pending: PendingSchema,
    status: OutcomeStatus,
    to_version: i32,
    applied: Vec<MigrationName>,
    error: Option<String>,
    took: Duration,
) -> SchemaOutcome {
    SchemaOutcome {
        kind: pending.kind,
        tenant: pending.tenant,
        schema: pending.schema,
        status,
        from_version: pending.version,
        to_version: if status == OutcomeStatus::Migrated || status == OutcomeStatus::Pending {
            to_version
        } else {
            pending.version
        },
        applied,
        error,
        duration_ms: took.as_secs_f64() * 1e3,
    }
}

#[tracing::instrument(skip_all, fields(schema = %pending.schema))]
async fn migrate_schema(
    pool: &deadpool_postgres::Pool,
    url: &DatabaseUrl,
    set: &MigrationSet,
    pending: &PendingSchema,
    options: &FleetOptions,
    cluster: Cluster,
) -> SchemaOutcome {
    let started = Instant::now();
    let result = try_migrate_schema(pool, url, set, pending, options.lock_timeout, cluster).await;
    let took = started.elapsed();
    let target = set.latest_version();
    match result {
        Ok(Attempt::Applied(applied)) if applied.is_empty() => outcome(
            pending.clone(),
            OutcomeStatus::UpToDate,
            target,
            applied,
            None,
            took,
        ),
        Ok(Attempt::Applied(applied)) => outcome(
            pending.clone(),
            OutcomeStatus::Migrated,
            target,
            applied,
            None,
            took,
        ),
        Ok(Attempt::Gone(reason)) => outcome(
            pending.clone(),
            OutcomeStatus::Skipped,
            target,
            Vec::new(),
            Some(reason.into()),
            took,
        ),
        Err(error) => {
            tracing::warn!(schema = %pending.schema, %error, "schema migration failed");
            outcome(
                pending.clone(),
                OutcomeStatus::Failed,
                target,
                Vec::new(),
                Some(error),
                took,
            )
        }
    }
}

enum Attempt {
    Applied(Vec<MigrationName>),
    Gone(&'static str),
}

async fn try_migrate_schema(
    pool: &deadpool_postgres::Pool,
    url: &DatabaseUrl,
    set: &MigrationSet,
    pending: &PendingSchema,
    lock_timeout: Duration,
    cluster: Cluster,
) -> Result<Attempt, String> {
    let db = |e: tokio_postgres::Error| describe_error(&e);
    let mut client = pool
        .get()
        .await
        .map_err(|e| pool_error(url, e).to_string())?;
    let tx = client.transaction().await.map_err(db)?;
    // search_path is the tenant schema only: if the schema were missing, a `create`
    // would fail instead of landing in `public`.
    tx.query(
        "select set_config('lock_timeout', $1, true), set_config('search_path', $2, true)",
        &[
            &format!("{}ms", lock_timeout.as_millis().max(1)),
            &pending.schema.quoted(),
        ],
    )
    .await
    .map_err(db)?;
    // Lock the registry row for the whole transaction: a concurrent delete, or a signup
    // claiming this spare, waits for us or skips it.
    let registry_row = match pending.tenant_id {
        Some(id) => tx
            .query_opt(
                "select status, role_name from public.tenants where id = $1 for update",
                &[&id],
            )
            .await
            .map_err(db)?
            .filter(|row| row.get::<_, &str>(0) != "deleting"),
        None => tx
            .query_opt(
                "select 'spare', role_name from public.spare_schemas where schema_name = $1 \
                 for update skip locked",
                &[&pending.schema.as_str()],
            )
            .await
            .map_err(db)?,
    };
    let Some(registry_row) = registry_row else {
        return Ok(Attempt::Gone(match pending.kind {
            SchemaKind::Tenant => "the tenant was deleted meanwhile",
            SchemaKind::Spare => "the spare was claimed meanwhile",
        }));
    };
    let role = registry_row
        .get::<_, Option<&str>>(1)
        .and_then(RoleName::from_stored);
    let schema_exists = tx
        .query_opt(
            "select 1 from pg_namespace where nspname = $1",
            &[&pending.schema.as_str()],
        )
        .await
        .map_err(db)?
        .is_some();
    if !schema_exists {
        return Err(format!(
            "schema {} is missing although the registry lists it",
            pending.schema
        ));
    }
    let applied = set
        .apply_in_transaction(&tx, &pending.schema, cluster)
        .await
        .map_err(|e| describe_error(&e))?;
    // What the migrations added is the tenant role's as the rest of its schema is.
    if let (Some(role), false) = (&role, applied.is_empty()) {
        roles::grant(&*tx, cluster, role, &pending.schema)
            .await
            .map_err(db)?;
    }
    let version = set.latest_version();
    match pending.tenant_id {
        Some(id) => {
            tx.execute(
                "update public.tenants set schema_version = $2, updated_at = now() where id = $1",
                &[&id, &version],
            )
            .await
        }
        None => {
            tx.execute(
                "update public.spare_schemas set schema_version = $2 where schema_name = $1",
                &[&pending.schema.as_str(), &version],
            )
            .await
        }
    }
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Attempt::Applied(applied))
}
