//! The squashed baseline: the schema the first tenant migrations build, as one script
//! of `create table` statements (`migrations/baseline/tenant.sql`).
//!
//! A brand-new schema built from it costs what creating its tables costs. Replaying
//! the migrations costs more with every tenant in the database, because the `alter
//! table` statements that add a `not null` column with a default, or a stored generated
//! column, scan catalogs that grow with the number of schemas. The file names the
//! migrations it stands for and their digest; a set whose files differ in any byte does
//! not use it, so a stale or hand-edited baseline can never build a wrong schema, only
//! a slower one. `scripts/squash-tenant-migrations.sh` writes it; the tests check that
//! it builds what the replay builds.

use refinery::Migration;
use sha2::{Digest, Sha256};

const TENANT_BASELINE: &str = include_str!("../../../../migrations/baseline/tenant.sql");

/// How many migrations may follow the baseline before the tests ask for a new one.
pub const MAX_MIGRATIONS_AFTER_BASELINE: usize = 10;

/// A baseline that matches the start of a migration set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Baseline {
    /// The last migration it stands for.
    pub version: i32,
    /// The DDL and seed rows, unqualified, for a `search_path` on the new schema.
    pub sql: &'static str,
}

/// The tenant baseline, if it stands for the first migrations of `migrations` (sorted
/// by version) exactly.
pub fn tenant_baseline_for(migrations: &[Migration]) -> Option<Baseline> {
    let header = Header::parse(TENANT_BASELINE)?;
    let squashed: Vec<&Migration> = migrations
        .iter()
        .take_while(|migration| migration.version() <= header.version)
        .collect();
    let complete = squashed.len() == usize::try_from(header.version).ok()?
        && squashed
            .iter()
            .zip(1..)
            .all(|(migration, version)| migration.version() == version);
    (complete && digest(&squashed) == header.digest).then_some(Baseline {
        version: header.version,
        sql: TENANT_BASELINE,
    })
}

/// The digest `scripts/squash-tenant-migrations.sh` writes: SHA-256 over each file's
/// name without `.sql`, a newline, its text and a newline, in version order.
fn digest(migrations: &[&Migration]) -> String {
    let mut hasher = Sha256::new();
    for migration in migrations {
        hasher.update(format!("V{}__{}\n", migration.version(), migration.name()));
        hasher.update(migration.sql().unwrap_or_default());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
struct Header {
    version: i32,
    digest: String,
}

impl Header {
    fn parse(script: &str) -> Option<Self> {
        let field = |name: &str| {
            script
                .lines()
                .take_while(|line| line.starts_with("--"))
                .find_map(|line| line.strip_prefix("-- ")?.strip_prefix(name))
                .map(str::trim)
        };
        Some(Self {
            version: field("squashes:")?.parse().ok()?,
            digest: field("digest:")?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::MigrationSet;

    #[test]
    fn the_baseline_stands_for_the_tenant_migrations_compiled_in() {
        let set = MigrationSet::tenant();
        let baseline = tenant_baseline_for(set.migrations()).expect(
            "migrations/baseline/tenant.sql no longer matches migrations/tenant: a shipped \
             migration was edited, or the baseline was; run scripts/squash-tenant-migrations.sh",
        );
        assert!(baseline.version <= set.latest_version());
    }

    #[test]
    fn the_baseline_is_renewed_before_the_replay_after_it_grows_long() {
        let set = MigrationSet::tenant();
        let baseline = tenant_baseline_for(set.migrations()).expect("a matching baseline");
        let after = set.after(baseline.version).len();
        assert!(
            after <= MAX_MIGRATIONS_AFTER_BASELINE,
            "{after} tenant migrations come after the squashed baseline, which every cold \
             build replays; run scripts/squash-tenant-migrations.sh"
        );
    }

    #[test]
    fn a_set_that_differs_in_any_squashed_file_does_not_use_the_baseline() {
        let tenant = MigrationSet::tenant();
        let version = Header::parse(TENANT_BASELINE).unwrap().version;
        // The same files, one of them with a byte more.
        let mut changed: Vec<Migration> = tenant.migrations().to_vec();
        let last = changed
            .iter()
            .position(|m| m.version() == version)
            .expect("the baseline's last migration is in the set");
        let file = format!("V{version}__{}", changed[last].name());
        let sql = format!("{} ", changed[last].sql().unwrap());
        changed[last] = Migration::unapplied(&file, &sql).unwrap();
        assert_eq!(tenant_baseline_for(&changed), None);
        // Missing its first file.
        assert_eq!(tenant_baseline_for(&tenant.migrations()[1..]), None);
        // Another set altogether.
        assert_eq!(
            tenant_baseline_for(MigrationSet::public().migrations()),
            None
        );
        // The files as they are.
        assert!(tenant_baseline_for(tenant.migrations()).is_some());
    }

    #[test]
    fn the_header_names_the_version_and_digest() {
        assert_eq!(
            Header::parse("-- text\n-- squashes: 7\n-- digest: ab12\n\ncreate table t ();"),
            Some(Header {
                version: 7,
                digest: "ab12".into()
            })
        );
        assert_eq!(Header::parse("-- squashes: 7\ncreate table t ();"), None);
        assert_eq!(
            Header::parse("create table t ();\n-- squashes: 7\n-- digest: ab"),
            None
        );
    }

    /// Citus refuses identity added to an existing column of a distributed table, which
    /// is how pg_dump writes identity columns; the squash script writes it into `create
    /// table`. It also drops `only` (no tenant table has children) and pg_dump's
    /// session settings, so the baseline keeps to the forms the migrations use.
    #[test]
    fn the_baseline_keeps_to_what_citus_accepts() {
        // SQL keywords are ASCII.
        let lower = TENANT_BASELINE.to_ascii_lowercase();
        for refused in [
            "add generated",
            "alter table only",
            "set search_path",
            "set_config",
            "\\restrict",
            "pactum_squash",
        ] {
            assert!(!lower.contains(refused), "the baseline says `{refused}`");
        }
    }
}
