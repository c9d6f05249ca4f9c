//! Fleet migration: every tenant to the new version, failures isolated and resumable,
//! fail-fast, lock timeouts, one migrator at a time, dry runs.

use super::*;

#[tokio::test]
async fn migrate_brings_every_tenant_and_the_registry_to_the_new_version() {
    let db = TestDb::migrated().await;
    for slug in ["acme", "globex", "initech"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    let next = next_release("alter table users add column nickname text");
    let report = migrate(&db, &next, FleetOptions::default()).await;
    assert_eq!(report.summary.migrated, 3);
    assert_eq!(report.summary.up_to_date, 0);
    assert!(!report.has_failures());
    let again = migrate(&db, &next, FleetOptions::default()).await;
    assert_eq!((again.summary.migrated, again.summary.up_to_date), (0, 3));

    let client = db.client().await;
    for slug in ["acme", "globex", "initech"] {
        assert_eq!(registry_version(&client, slug).await, next.latest_version());
        let last = history(&client, &format!("t_{slug}")).await.pop().unwrap();
        assert_eq!(last.0, next.latest_version());
        client
            .query(&format!("select nickname from t_{slug}.users"), &[])
            .await
            .expect("the new column exists");
    }
}

#[tokio::test]
async fn migrate_with_nothing_pending_touches_no_tenant_schema() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    create(&db, &set, "acme").await;
    create(&db, &set, "globex").await;
    let client = db.client().await;
    // Were any tenant schema opened, the missing one would fail the run.
    client
        .batch_execute("drop schema t_globex cascade")
        .await
        .unwrap();
    let report = migrate(&db, &set, FleetOptions::default()).await;
    assert!(report.schemas.is_empty(), "{:?}", report.schemas);
    assert!(!report.has_failures());
    // ...and yet the summary counts both as up to date, from the registry alone.
    assert_eq!(report.summary.up_to_date, 2);
    assert_eq!(report.summary.migrated, 0);
}

#[tokio::test]
async fn a_failing_tenant_is_reported_the_others_migrate_and_a_rerun_completes_it() {
    let db = TestDb::migrated().await;
    for slug in ["acme", "globex", "initech"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    let client = db.client().await;
    // Only globex already has the table the next release creates.
    client
        .batch_execute("create table t_globex.contracts_probe (id int)")
        .await
        .unwrap();
    let next =
        next_release("create table contracts_probe (id int); create index on contracts_probe (id)");
    let report = migrate(&db, &next, FleetOptions::default()).await;
    assert!(report.has_failures());
    assert_eq!(report.summary.migrated, 2);
    assert_eq!(report.summary.failed, 1);
    let failed = report
        .schemas
        .iter()
        .find(|o| o.status == OutcomeStatus::Failed)
        .unwrap();
    assert_eq!(failed.tenant.as_ref().unwrap().as_str(), "globex");
    assert!(
        failed.error.as_deref().unwrap().contains("already exists"),
        "{failed:?}"
    );

    // The failed tenant is exactly at its previous version: registry, history, DDL.
    let before = MigrationSet::tenant().latest_version();
    assert_eq!(registry_version(&client, "globex").await, before);
    assert_eq!(history(&client, "t_globex").await.last().unwrap().0, before);
    assert_eq!(
        count(&client, "select count(*) from pg_indexes where schemaname = 't_globex' and tablename = 'contracts_probe'").await,
        0
    );

    client
        .batch_execute("drop table t_globex.contracts_probe")
        .await
        .unwrap();
    let rerun = migrate(&db, &next, FleetOptions::default()).await;
    assert!(!rerun.has_failures());
    assert_eq!(rerun.schemas.len(), 1, "only the failed tenant is retried");
    assert_eq!(rerun.schemas[0].tenant.as_ref().unwrap().as_str(), "globex");
    assert_eq!(
        registry_version(&client, "globex").await,
        next.latest_version()
    );
}

#[tokio::test]
async fn fail_fast_stops_after_the_first_failure_and_reports_the_rest_as_skipped() {
    let db = TestDb::migrated().await;
    for slug in ["a1", "a2", "a3", "a4"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    let client = db.client().await;
    client
        .batch_execute("drop schema t_a1 cascade")
        .await
        .unwrap();
    let next = next_release("select 1");
    let options = FleetOptions {
        parallel: 1,
        fail_fast: true,
        ..FleetOptions::default()
    };
    let report = migrate(&db, &next, options).await;
    assert_eq!(report.summary.failed, 1);
    assert_eq!(report.summary.skipped, 3);
    assert_eq!(report.summary.migrated, 0);
    assert!(report.schemas[0]
        .error
        .as_deref()
        .unwrap()
        .contains("missing"));
}

#[tokio::test]
async fn a_tenant_blocked_by_a_long_transaction_fails_fast_instead_of_stalling_the_fleet() {
    let db = TestDb::migrated().await;
    for slug in ["acme", "globex"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    let blocker = db.client().await;
    blocker
        .batch_execute("begin; lock table t_globex.users in access share mode")
        .await
        .unwrap();
    let next = next_release("alter table users add column nickname text");
    let options = FleetOptions {
        lock_timeout: Duration::from_millis(200),
        ..FleetOptions::default()
    };
    let report = migrate(&db, &next, options).await;
    assert_eq!(report.summary.migrated, 1);
    let failed = report
        .schemas
        .iter()
        .find(|o| o.status == OutcomeStatus::Failed)
        .expect("globex fails");
    assert_eq!(failed.tenant.as_ref().unwrap().as_str(), "globex");
    assert!(
        failed.error.as_deref().unwrap().contains("lock timeout"),
        "{failed:?}"
    );
    blocker.batch_execute("commit").await.unwrap();
    let rerun = migrate(&db, &next, FleetOptions::default()).await;
    assert_eq!(rerun.summary.migrated, 1);
}

#[tokio::test]
async fn a_second_migrator_is_refused_or_waits_while_the_lock_is_held() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let holder = db.client().await;
    holder
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);

    let no_wait = FleetOptions {
        wait_for_lock: false,
        ..FleetOptions::default()
    };
    let error = fleet::migrate_fleet(
        &db.database_url(),
        &MigrationSet::public(),
        &MigrationSet::tenant(),
        &no_wait,
        |_| {},
    )
    .await
    .unwrap_err();
    match error {
        TenancyError::MigrationLocked { holder } => {
            assert!(holder.contains(&holder_pid.to_string()), "{holder}");
        }
        other => panic!("expected MigrationLocked, got {other:?}"),
    }

    let next = next_release("alter table users add column nickname text");
    let url = db.database_url();
    let waiting = tokio::spawn(async move {
        fleet::migrate_fleet(
            &url,
            &MigrationSet::public(),
            &next,
            &FleetOptions::default(),
            |_| {},
        )
        .await
    });
    // Until the holder lets go, the waiting migrator cannot have changed anything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = db.client().await;
    assert_eq!(
        registry_version(&client, "acme").await,
        MigrationSet::tenant().latest_version()
    );
    holder
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .unwrap();
    let report = waiting.await.unwrap().expect("runs once the lock is free");
    assert_eq!(report.summary.migrated, 1);
}

#[tokio::test]
async fn two_concurrent_migrate_runs_apply_each_migration_once() {
    let db = TestDb::migrated().await;
    for slug in ["acme", "globex", "initech", "hooli"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    // Slow enough that the two runs overlap in time.
    let next = next_release("select pg_sleep(0.05); alter table users add column nickname text");
    let (first, second) = tokio::join!(
        migrate(&db, &next, FleetOptions::default()),
        migrate(&db, &next, FleetOptions::default())
    );
    assert!(!first.has_failures() && !second.has_failures());
    assert_eq!(first.summary.migrated + second.summary.migrated, 4);
    let client = db.client().await;
    for slug in ["acme", "globex", "initech", "hooli"] {
        let versions: Vec<i32> = history(&client, &format!("t_{slug}"))
            .await
            .iter()
            .map(|h| h.0)
            .collect();
        let mut deduped = versions.clone();
        deduped.dedup();
        assert_eq!(versions, deduped);
        assert_eq!(*versions.last().unwrap(), next.latest_version());
    }
}

#[tokio::test]
async fn dry_run_lists_pending_migrations_per_tenant_and_applies_nothing() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let next = next_release("alter table users add column nickname text");
    let options = FleetOptions {
        dry_run: true,
        ..FleetOptions::default()
    };
    let report = migrate(&db, &next, options).await;
    assert_eq!(report.summary.pending, 1);
    assert_eq!(
        report.schemas[0].applied,
        next.after(MigrationSet::tenant().latest_version())
    );
    let client = db.client().await;
    assert_eq!(
        registry_version(&client, "acme").await,
        MigrationSet::tenant().latest_version()
    );
}

#[tokio::test]
async fn dry_run_on_a_database_never_migrated_lists_public_migrations() {
    let db = TestDb::empty().await;
    let options = FleetOptions {
        dry_run: true,
        ..FleetOptions::default()
    };
    let report = migrate(&db, &MigrationSet::tenant(), options).await;
    assert_eq!(report.public_applied, MigrationSet::public().names());
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            "select count(*) from pg_tables where schemaname = 'public'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn migrating_one_tenant_leaves_the_others_alone() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    create(&db, &MigrationSet::tenant(), "globex").await;
    let next = next_release("select 1");
    let options = FleetOptions {
        scope: Scope::Tenant(TenantSlug::parse("globex").unwrap()),
        ..FleetOptions::default()
    };
    let report = migrate(&db, &next, options).await;
    assert_eq!(report.summary.migrated, 1);
    let client = db.client().await;
    assert_eq!(
        registry_version(&client, "globex").await,
        next.latest_version()
    );
    assert_eq!(
        registry_version(&client, "acme").await,
        MigrationSet::tenant().latest_version()
    );
}

/// A migration that adds a column in a form PostgreSQL checks the whole catalog for is
/// named in the report, with the schemas it runs in, before (dry run) and after; one
/// that adds a bare column is not, and neither is one already applied.
#[tokio::test]
async fn the_report_names_migrations_that_check_the_whole_catalog_in_every_schema() {
    let db = TestDb::migrated().await;
    for slug in ["acme", "globex"] {
        create(&db, &MigrationSet::tenant(), slug).await;
    }
    let dry_run = || FleetOptions {
        dry_run: true,
        ..FleetOptions::default()
    };
    let bare = next_release("alter table users add column nickname text");
    assert!(migrate(&db, &bare, dry_run()).await.catalog_wide.is_empty());

    let costly = next_release(
        "alter table users add column nickname text not null default 'x', \
         add column score int;\n\
         alter table users alter column score set default 0;",
    );
    let planned = migrate(&db, &costly, dry_run()).await;
    assert_eq!(planned.summary.pending, 2);
    assert_eq!(planned.catalog_wide.len(), 1, "{:?}", planned.catalog_wide);
    let named = &planned.catalog_wide[0];
    assert_eq!(named.migration.version, costly.latest_version());
    assert_eq!(
        named.columns,
        vec!["add column nickname text not null default 'x'"]
    );
    assert_eq!(named.schemas, 2);

    let report = migrate(&db, &costly, FleetOptions::default()).await;
    assert_eq!(report.summary.migrated, 2);
    assert_eq!(report.catalog_wide.len(), 1);
    assert_eq!(report.catalog_wide[0].schemas, 2);
    let again = migrate(&db, &costly, FleetOptions::default()).await;
    assert!(again.catalog_wide.is_empty());
}
