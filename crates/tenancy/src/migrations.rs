//! The two embedded migration sets and how one schema is brought up to date.
//!
//! refinery owns the migration files, their checksums and the history-table format. We
//! do not let it open its own transactions: `InTransaction` runs refinery inside a
//! transaction we opened, so a schema's DDL, its history rows and its registry version
//! commit together or not at all.

use refinery::{Migration, Runner, Target};
use refinery_core::traits::r#async::{AsyncMigrate, AsyncQuery, AsyncTransaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio_postgres::Transaction;

use super::citus::Cluster;
use super::names::SchemaName;
use super::TenancyError;

pub mod baseline;
pub mod fleet_cost;

use baseline::Baseline;

mod public_set {
    refinery::embed_migrations!("../../migrations/public");
}

mod tenant_set {
    refinery::embed_migrations!("../../migrations/tenant");
}

/// The history table's unqualified name inside every schema that has migrations.
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// An ordered list of migrations for one kind of schema.
#[derive(Clone)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
    /// The squashed start of the set a new schema is built from, when one matches.
    baseline: Option<Baseline>,
}

/// One migration as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationName {
    pub version: i32,
    pub name: String,
}

impl std::fmt::Display for MigrationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "V{}__{}", self.version, self.name)
    }
}

impl From<&Migration> for MigrationName {
    fn from(migration: &Migration) -> Self {
        Self {
            version: migration.version(),
            name: migration.name().to_owned(),
        }
    }
}

impl MigrationSet {
    /// The set compiled into this binary for the shared `public` schema.
    pub fn public() -> Self {
        Self::from_runner(public_set::migrations::runner())
    }

    /// The set compiled into this binary for every tenant schema, with the squashed
    /// baseline new schemas are built from. Read, sorted and checked against the
    /// baseline's digest once per process: the files cannot change under it.
    pub fn tenant() -> Self {
        static TENANT: std::sync::OnceLock<MigrationSet> = std::sync::OnceLock::new();
        TENANT
            .get_or_init(|| {
                let mut set = Self::from_runner(tenant_set::migrations::runner());
                set.baseline = baseline::tenant_baseline_for(&set.migrations);
                set
            })
            .clone()
    }

    fn from_runner(runner: Runner) -> Self {
        let mut migrations = runner.get_migrations().clone();
        migrations.sort();
        Self {
            migrations,
            baseline: None,
        }
    }

    /// The same set building new schemas by replaying every migration: what the
    /// baseline is checked against, and measured against.
    pub fn without_baseline(mut self) -> Self {
        self.baseline = None;
        self
    }

    /// The last migration a new schema gets from the squashed baseline rather than
    /// from replaying it, if the set has a baseline.
    pub fn baseline_version(&self) -> Option<i32> {
        self.baseline.map(|baseline| baseline.version)
    }

    /// The embedded set plus extra migrations (tests and benchmarks use this to ship a
    /// "next release" without touching the files).
    pub fn with_extra(mut self, extra: &[(&str, &str)]) -> Result<Self, TenancyError> {
        for (file_name, sql) in extra {
            let migration = Migration::unapplied(file_name, sql).map_err(|error| {
                TenancyError::Other(anyhow::anyhow!("bad migration {file_name}: {error}"))
            })?;
            self.migrations.push(migration);
        }
        self.migrations.sort();
        if self.baseline.is_some() {
            self.baseline = baseline::tenant_baseline_for(&self.migrations);
        }
        Ok(self)
    }

    /// The version a schema has once every migration of this set is applied.
    pub fn latest_version(&self) -> i32 {
        self.migrations.last().map_or(0, Migration::version)
    }

    /// The migrations themselves, for running them some other way (benchmarks).
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    pub fn names(&self) -> Vec<MigrationName> {
        self.migrations.iter().map(MigrationName::from).collect()
    }

    /// The migrations after `version`, for reports and dry runs.
    pub fn after(&self, version: i32) -> Vec<MigrationName> {
        self.migrations
            .iter()
            .filter(|m| m.version() > version)
            .map(MigrationName::from)
            .collect()
    }

    fn runner(&self, schema: &str) -> Runner {
        let mut runner = Runner::new(&self.migrations)
            .set_grouped(true)
            .set_abort_divergent(true)
            .set_abort_missing(true);
        runner.set_migration_table_name(format!("\"{schema}\".{HISTORY_TABLE}"));
        runner
    }

    /// Applies whatever `schema` lacks, inside the caller's transaction, which must
    /// already have `search_path` set to that schema. Returns what was applied.
    ///
    /// The caller commits; nothing here does, so a failure leaves the schema exactly
    /// at its previous version once the caller rolls back.
    pub async fn apply_in_transaction(
        &self,
        transaction: &Transaction<'_>,
        schema: &SchemaName,
        cluster: Cluster,
    ) -> Result<Vec<MigrationName>, refinery::Error> {
        self.apply_to(transaction, schema.as_str(), cluster).await
    }

    /// Same as [`Self::apply_in_transaction`], for `public`.
    pub async fn apply_public_in_transaction(
        &self,
        transaction: &Transaction<'_>,
        cluster: Cluster,
    ) -> Result<Vec<MigrationName>, refinery::Error> {
        self.apply_to(transaction, "public", cluster).await
    }

    async fn apply_to(
        &self,
        transaction: &Transaction<'_>,
        schema: &str,
        cluster: Cluster,
    ) -> Result<Vec<MigrationName>, refinery::Error> {
        let report = self
            .runner(schema)
            .run_async(&mut InTransaction(transaction, cluster))
            .await?;
        Ok(report
            .applied_migrations()
            .iter()
            .map(MigrationName::from)
            .collect())
    }

    /// The whole script that builds a brand-new, empty `schema`: history table, every
    /// migration and its history row. Sending it as one batch makes a cold build cost
    /// what the raw DDL costs, instead of several round trips and a separate `CREATE
    /// TABLE IF NOT EXISTS` that PostgreSQL pays for on its own.
    ///
    /// With a baseline, refinery writes the history of the migrations it stands for
    /// without running them (its "fake" target), the baseline builds what they would
    /// have, and refinery then adds the migrations after it, as to a schema at the
    /// baseline's version. The history is the same either way.
    pub async fn script_for_new_schema(
        &self,
        schema: &SchemaName,
    ) -> Result<String, refinery::Error> {
        let Some(baseline) = self.baseline else {
            let mut recorder = Recorder::default();
            self.runner(schema.as_str())
                .run_async(&mut recorder)
                .await?;
            return Ok(recorder.script);
        };
        let mut squashed = Recorder::default();
        self.runner(schema.as_str())
            .set_target(Target::FakeVersion(baseline.version))
            .run_async(&mut squashed)
            .await?;
        let mut after = Recorder {
            applied: self
                .migrations
                .iter()
                .filter(|migration| migration.version() <= baseline.version)
                .map(|migration| {
                    Migration::applied(
                        migration.version(),
                        migration.name().to_owned(),
                        OffsetDateTime::now_utc(),
                        migration.checksum(),
                    )
                })
                .collect(),
            ..Recorder::default()
        };
        self.runner(schema.as_str()).run_async(&mut after).await?;
        Ok(format!(
            "{}{}\n{}",
            squashed.script, baseline.sql, after.script
        ))
    }

    /// All the SQL of this set as one script: the raw-DDL floor in benchmarks.
    pub fn concatenated_sql(&self) -> String {
        self.migrations
            .iter()
            .filter_map(Migration::sql)
            .collect::<Vec<_>>()
            .join(";\n")
    }
}

/// The RFC 3339 timestamp format refinery stores in `applied_on`.
pub fn history_timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .expect("an OffsetDateTime always formats as RFC 3339")
}

/// refinery's driver for an already-open tokio-postgres transaction: statements run in
/// it, nothing is committed. refinery's own driver for `Client` would open and commit
/// a transaction per call.
struct InTransaction<'a, 'b>(&'a Transaction<'b>, Cluster);

impl AsyncTransaction for InTransaction<'_, '_> {
    type Error = tokio_postgres::Error;

    async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
        &mut self,
        queries: T,
    ) -> Result<usize, Self::Error> {
        // One simple-protocol message for the whole batch, one round trip however many
        // migrations are pending; on Citus one message per statement.
        let mut count = 0;
        let mut script = String::new();
        for query in queries {
            script.push_str(query);
            script.push_str(";\n");
            count += 1;
        }
        self.1.execute_script(self.0, &script).await?;
        Ok(count)
    }
}

impl AsyncQuery<Vec<Migration>> for InTransaction<'_, '_> {
    async fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        let rows = self.0.query(query, &[]).await?;
        let mut applied = Vec::with_capacity(rows.len());
        for row in rows {
            let version: i32 = row.get(0);
            let name: String = row.get(1);
            let applied_on: String = row.get(2);
            let checksum: String = row.get(3);
            // A history table edited by hand must not panic the migrator; an unparsable
            // row shows up as a divergent migration instead.
            let applied_on =
                OffsetDateTime::parse(&applied_on, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let checksum = checksum.parse::<u64>().unwrap_or(0);
            applied.push(Migration::applied(version, name, applied_on, checksum));
        }
        Ok(applied)
    }
}

impl AsyncMigrate for InTransaction<'_, '_> {}

/// A refinery driver that records instead of running, for a new schema: one with no
/// history, or (`applied`) one that will hold the baseline's migrations when the
/// recorded script runs.
#[derive(Default)]
struct Recorder {
    script: String,
    applied: Vec<Migration>,
}

impl AsyncTransaction for Recorder {
    type Error = std::convert::Infallible;

    async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
        &mut self,
        queries: T,
    ) -> Result<usize, Self::Error> {
        let mut count = 0;
        for query in queries {
            // After a baseline, the history table is already in the script.
            if !self.applied.is_empty() && query.starts_with("CREATE TABLE IF NOT EXISTS") {
                continue;
            }
            self.script.push_str(query);
            self.script.push_str(";\n");
            count += 1;
        }
        Ok(count)
    }
}

impl AsyncQuery<Vec<Migration>> for Recorder {
    async fn query(&mut self, _query: &str) -> Result<Vec<Migration>, Self::Error> {
        Ok(self.applied.clone())
    }
}

impl AsyncMigrate for Recorder {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sets_are_ordered_and_start_at_one() {
        for set in [MigrationSet::public(), MigrationSet::tenant()] {
            let versions: Vec<i32> = set.names().iter().map(|m| m.version).collect();
            assert_eq!(versions.first(), Some(&1));
            assert!(
                versions.windows(2).all(|w| w[1] == w[0] + 1),
                "{versions:?}"
            );
            assert_eq!(set.latest_version(), *versions.last().unwrap());
        }
    }

    #[test]
    fn extra_migrations_raise_the_latest_version() {
        let base = MigrationSet::tenant();
        let next = base.latest_version() + 1;
        let extended = base
            .clone()
            .with_extra(&[(&format!("V{next}__extra"), "select 1")])
            .unwrap();
        assert_eq!(extended.latest_version(), next);
        assert_eq!(
            extended.after(base.latest_version()),
            vec![MigrationName {
                version: next,
                name: "extra".into()
            }]
        );
    }

    #[test]
    fn badly_named_extra_migration_is_an_error() {
        assert!(MigrationSet::tenant()
            .with_extra(&[("not_a_migration", "select 1")])
            .is_err());
    }
}
