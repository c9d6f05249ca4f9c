//! What a fleet migration reports: each schema's outcome, the summary, and the progress
//! it tells its caller while it runs.

use std::collections::HashMap;

use serde::Serialize;

use crate::migrations::{fleet_cost, MigrationName, MigrationSet};
use crate::names::{SchemaName, TenantSlug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    Tenant,
    Spare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Migrations were applied and committed.
    Migrated,
    /// Nothing was pending.
    UpToDate,
    /// Dry run: these migrations would be applied.
    Pending,
    /// The transaction was rolled back; the schema is at its previous version.
    Failed,
    /// Not attempted (fail-fast stopped the run, or the schema went away meanwhile).
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchemaOutcome {
    pub kind: SchemaKind,
    /// The tenant's slug; `None` for a spare.
    pub tenant: Option<TenantSlug>,
    pub schema: SchemaName,
    pub status: OutcomeStatus,
    pub from_version: i32,
    pub to_version: i32,
    pub applied: Vec<MigrationName>,
    pub error: Option<String>,
    pub duration_ms: f64,
}

impl SchemaOutcome {
    pub fn label(&self) -> String {
        match &self.tenant {
            Some(slug) => slug.to_string(),
            None => self.schema.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub dry_run: bool,
    /// Public migrations applied by this run (or pending, in a dry run).
    pub public_applied: Vec<MigrationName>,
    /// The tenant version this build expects.
    pub target_version: i32,
    pub schemas: Vec<SchemaOutcome>,
    pub summary: Summary,
    pub duration_ms: f64,
    /// Tenant migrations of this run that add columns in a form PostgreSQL checks the
    /// whole catalog for, once in every schema: what makes a fleet migration slow as
    /// the fleet grows.
    pub catalog_wide: Vec<CatalogWideMigration>,
}

/// A tenant migration that adds columns giving existing rows a value (a default, a
/// stored generated column, identity or serial; see [`fleet_cost`]).
#[derive(Debug, Clone, Serialize)]
pub struct CatalogWideMigration {
    pub migration: MigrationName,
    /// Its `add column` clauses of that form, as written.
    pub columns: Vec<String>,
    /// How many schemas it was applied to (or would be, in a dry run).
    pub schemas: usize,
}

/// The migrations that `schemas` applied (or would apply, in a dry run) and that add
/// such columns.
pub(crate) fn catalog_wide(
    set: &MigrationSet,
    schemas: &[SchemaOutcome],
) -> Vec<CatalogWideMigration> {
    // How many schemas each version ran in, counted in one pass.
    let mut ran_in: HashMap<i32, usize> = HashMap::new();
    for outcome in schemas.iter().filter(|outcome| {
        matches!(
            outcome.status,
            OutcomeStatus::Migrated | OutcomeStatus::Pending
        )
    }) {
        for name in &outcome.applied {
            *ran_in.entry(name.version).or_default() += 1;
        }
    }
    set.migrations()
        .iter()
        .filter_map(|migration| {
            let schemas = *ran_in.get(&migration.version())?;
            let columns = fleet_cost::catalog_wide_column_adds(migration.sql()?);
            (!columns.is_empty()).then(|| CatalogWideMigration {
                migration: MigrationName::from(migration),
                columns,
                schemas,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub migrated: usize,
    pub up_to_date: usize,
    pub pending: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl FleetReport {
    pub fn has_failures(&self) -> bool {
        self.summary.failed > 0 || self.summary.skipped > 0
    }
}

/// What the migrator tells its caller while it runs (for progress bars and logs).
#[derive(Debug)]
pub enum Progress<'a> {
    WaitingForLock { holder: &'a str },
    PublicDone { applied: &'a [MigrationName] },
    Planned { schemas: usize },
    SchemaDone(&'a SchemaOutcome),
}
