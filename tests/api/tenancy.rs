//! The tenancy core against a real PostgreSQL: provisioning, spares, fleet migration.

use std::time::Duration;

use crate::support::{history, schema_fingerprint, schemas, TestDb};
use pactum::tenancy::fleet::{self, FleetOptions, FleetReport, OutcomeStatus, SchemaKind, Scope};
use pactum::tenancy::provision::{self, NewTenant, ProvisionPath, MIGRATION_LOCK_KEY};
use pactum::tenancy::{
    registry, spares, Host, MigrationSet, TenancyError, TenantSlug, TenantStatus,
};
use tokio_postgres::Client;

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.localhost")).unwrap(),
    )
    .unwrap()
}

/// The embedded tenant set plus one more migration: "the next release".
fn next_release(sql: &str) -> MigrationSet {
    let base = MigrationSet::tenant();
    let next = base.latest_version() + 1;
    base.with_extra(&[(&format!("V{next}__next_release"), sql)])
        .unwrap()
}

async fn create(db: &TestDb, set: &MigrationSet, slug: &str) -> provision::Provisioned {
    let mut client = db.client().await;
    provision::create_tenant(&mut client, set, &new_tenant(slug))
        .await
        .unwrap_or_else(|e| panic!("creating {slug}: {e}"))
}

async fn migrate(db: &TestDb, set: &MigrationSet, options: FleetOptions) -> FleetReport {
    fleet::migrate_fleet(
        &db.database_url(),
        &MigrationSet::public(),
        set,
        &options,
        |_| {},
    )
    .await
    .expect("fleet migration runs")
}

async fn registry_version(client: &Client, slug: &str) -> i32 {
    client
        .query_one(
            "select schema_version from public.tenants where slug = $1",
            &[&slug],
        )
        .await
        .unwrap()
        .get(0)
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn provisioning_creates_the_schema_its_tables_history_and_registry_rows() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let created = create(&db, &set, "acme").await;
    assert_eq!(created.path, ProvisionPath::Cold);
    assert_eq!(created.tenant.status, TenantStatus::Active);
    assert_eq!(created.tenant.schema_version, set.latest_version());

    let client = db.client().await;
    assert_eq!(schemas(&client).await, vec!["t_acme".to_string()]);
    let tables: Vec<String> = client
        .query(
            "select table_name::text from information_schema.tables where table_schema = 't_acme' order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        vec![
            "approvals",
            "attachments",
            "audit_logs",
            "business_calendar",
            "clauses",
            "comments",
            "contacts",
            "contract_clauses",
            "contract_types",
            "contract_versions",
            "contracts",
            "counterparties",
            "idempotency_keys",
            "notification_defaults",
            "notification_deliveries",
            "notification_settings",
            "notification_stream_tickets",
            "notifications",
            "out_of_office",
            "refinery_schema_history",
            "refresh_tokens",
            "role_grants",
            "team_members",
            "teams",
            "templates",
            "users",
            "webhook_deliveries",
            "webhook_endpoints",
            "webhook_messages",
            "workflow_definition_versions",
            "workflow_definitions",
            "workflow_runs",
            "workflow_settings",
            "workflow_stages"
        ]
    );
    let applied: Vec<i32> = history(&client, "t_acme")
        .await
        .iter()
        .map(|h| h.0)
        .collect();
    let expected: Vec<i32> = set.names().iter().map(|m| m.version).collect();
    assert_eq!(applied, expected);
    let tenant = registry::find_by_host(&client, &Host::parse("acme.localhost").unwrap())
        .await
        .unwrap()
        .expect("the domain routes to the tenant");
    assert_eq!(tenant.slug.as_str(), "acme");
    let domains = registry::domains_of(&client, tenant.id).await.unwrap();
    assert_eq!(domains.len(), 1);
    assert!(domains[0].is_primary);
    // Nothing of the tenant leaked into public.
    assert_eq!(
        count(&client, "select count(*) from information_schema.tables where table_schema = 'public' and table_name = 'users'").await,
        0
    );
}

#[tokio::test]
async fn provisioning_that_fails_half_way_leaves_nothing_behind() {
    let db = TestDb::migrated().await;
    let broken = next_release("create table half_done (id int); select no_such_function();");
    let mut client = db.client().await;
    let error = provision::create_tenant(&mut client, &broken, &new_tenant("acme"))
        .await
        .expect_err("the broken migration fails the provisioning");
    assert!(
        error.to_string().contains("no_such_function"),
        "the cause is reported: {error}"
    );
    assert!(schemas(&client).await.is_empty(), "no orphan schema");
    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        0
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        0
    );
    assert_eq!(
        count(
            &client,
            "select count(*) from pg_class where relname = 'half_done'"
        )
        .await,
        0
    );
    // And the slug and host are free for a good attempt.
    create(&db, &MigrationSet::tenant(), "acme").await;
}

#[tokio::test]
async fn taken_slug_host_or_schema_is_refused_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    create(&db, &set, "acme").await;
    let mut client = db.client().await;

    let same_slug = NewTenant::new(
        TenantSlug::parse("acme").unwrap(),
        None,
        Host::parse("other.localhost").unwrap(),
    )
    .unwrap();
    let error = provision::create_tenant(&mut client, &set, &same_slug)
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::SlugTaken(_)), "{error:?}");

    let same_host = NewTenant::new(
        TenantSlug::parse("globex").unwrap(),
        None,
        Host::parse("ACME.localhost").unwrap(),
    )
    .unwrap();
    let error = provision::create_tenant(&mut client, &set, &same_host)
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::HostTaken(_)), "{error:?}");

    client
        .batch_execute("create schema t_initech")
        .await
        .unwrap();
    let error = provision::create_tenant(&mut client, &set, &new_tenant("initech"))
        .await
        .unwrap_err();
    assert!(matches!(error, TenancyError::SchemaExists(_)), "{error:?}");

    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        1
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        1
    );
    assert_eq!(schemas(&client).await, vec!["t_acme", "t_initech"]);
}

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

#[tokio::test]
async fn a_claimed_spare_is_indistinguishable_from_a_cold_built_tenant() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let mut client = db.client().await;
    spares::fill(&mut client, &set, 1, || {}).await.unwrap();
    let warm = create(&db, &set, "warm").await;
    let cold = create(&db, &set, "cold").await;
    assert_eq!(warm.path, ProvisionPath::Spare);
    assert_eq!(cold.path, ProvisionPath::Cold);

    let warm_shape = schema_fingerprint(&client, "t_warm").await;
    assert!(!warm_shape.is_empty());
    assert_eq!(warm_shape, schema_fingerprint(&client, "t_cold").await);
    assert!(
        warm_shape.iter().all(|line| !line.contains("spare")),
        "{warm_shape:?}"
    );
    assert_eq!(
        history(&client, "t_warm").await,
        history(&client, "t_cold").await
    );
    // The history was written "now", as a cold build writes it, not when the spare was.
    let stale: i64 = client
        .query_one(
            "select count(*) from t_warm.refinery_schema_history h, public.tenants t \
             where t.slug = 'warm' and h.applied_on::timestamptz < t.created_at - interval '1 second'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0);
    assert_eq!(
        count(&client, "select count(*) from public.spare_schemas").await,
        0
    );
    assert_eq!(schemas(&client).await, vec!["t_cold", "t_warm"]);
}

#[tokio::test]
async fn a_spare_that_cannot_be_adopted_leaves_the_pool_and_the_tenant_is_built_cold() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let client = db.client().await;
    // Registered in the pool, but its schema is gone (or cannot be renamed, or, on
    // Citus, distributed): claiming it fails.
    client
        .execute(
            "insert into public.spare_schemas (schema_name, schema_version) \
             values ('spare_00000000000000000000000000000000', $1)",
            &[&set.latest_version()],
        )
        .await
        .unwrap();
    let first = create(&db, &set, "first").await;
    assert_eq!(
        first.path,
        ProvisionPath::Cold,
        "built cold instead of failing"
    );
    assert_eq!(
        count(&client, "select count(*) from public.spare_schemas").await,
        0,
        "the broken spare left the pool"
    );
    // Later creates are not stuck behind it.
    let second = create(&db, &set, "second").await;
    assert_eq!(second.path, ProvisionPath::Cold);
    assert_eq!(schemas(&client).await, vec!["t_first", "t_second"]);
}

#[tokio::test]
async fn spares_are_migrated_with_the_fleet_and_then_claimed_at_the_new_version() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    spares::fill(&mut client, &MigrationSet::tenant(), 2, || {})
        .await
        .unwrap();
    let next = next_release("alter table users add column nickname text");

    // A build that expects the next version never claims a spare still behind.
    let before_migrate = create(&db, &next, "early").await;
    assert_eq!(before_migrate.path, ProvisionPath::Cold);

    let report = migrate(&db, &next, FleetOptions::default()).await;
    assert_eq!(
        report
            .schemas
            .iter()
            .filter(|o| o.kind == SchemaKind::Spare && o.status == OutcomeStatus::Migrated)
            .count(),
        2
    );
    let pool = spares::pool_status(&client, &next).await.unwrap();
    assert_eq!((pool.ready, pool.behind), (2, 0));

    let claimed = create(&db, &next, "late").await;
    assert_eq!(claimed.path, ProvisionPath::Spare);
    assert_eq!(claimed.tenant.schema_version, next.latest_version());
    client
        .query("select nickname from t_late.users", &[])
        .await
        .expect("the claimed spare has the new column");
    assert_eq!(
        schema_fingerprint(&client, "t_late").await,
        schema_fingerprint(&client, "t_early").await
    );
}

#[tokio::test]
async fn concurrent_creates_never_claim_the_same_spare() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let mut client = db.client().await;
    spares::fill(&mut client, &set, 3, || {}).await.unwrap();

    let creates = (0..8).map(|i| {
        let set = set.clone();
        let url = db.url.clone();
        tokio::spawn(async move {
            let mut client = crate::support::connect(&url).await;
            provision::create_tenant(&mut client, &set, &new_tenant(&format!("tenant{i}"))).await
        })
    });
    let results = futures::future::join_all(creates).await;
    let provisioned: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap().expect("every create succeeds"))
        .collect();
    let from_spares = provisioned
        .iter()
        .filter(|p| p.path == ProvisionPath::Spare)
        .count();
    assert_eq!(from_spares, 3, "each spare is claimed exactly once");
    let mut schema_names: Vec<String> = schemas(&client).await;
    assert_eq!(schema_names.len(), 8);
    schema_names.retain(|s| s.starts_with("spare_"));
    assert!(schema_names.is_empty(), "no spare left half-claimed");
    assert_eq!(
        count(&client, "select count(*) from public.spare_schemas").await,
        0
    );
}

#[tokio::test]
async fn fill_tops_the_pool_up_to_the_requested_size() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    let mut client = db.client().await;
    assert_eq!(spares::fill(&mut client, &set, 3, || {}).await.unwrap(), 3);
    assert_eq!(spares::fill(&mut client, &set, 2, || {}).await.unwrap(), 0);
    assert_eq!(spares::fill(&mut client, &set, 4, || {}).await.unwrap(), 1);
    assert_eq!(spares::pool_status(&client, &set).await.unwrap().ready, 4);
}

#[tokio::test]
async fn delete_drops_schema_registry_row_and_domains() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    create(&db, &MigrationSet::tenant(), "globex").await;
    let mut client = db.client().await;
    provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(schemas(&client).await, vec!["t_globex"]);
    assert_eq!(
        count(&client, "select count(*) from public.tenants").await,
        1
    );
    assert_eq!(
        count(&client, "select count(*) from public.domains").await,
        1
    );
    let again = provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap()).await;
    assert!(matches!(again, Err(TenancyError::TenantNotFound(_))));
}

#[tokio::test]
async fn a_delete_interrupted_after_marking_resumes_on_the_next_run() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    // What a crash between the two steps leaves: marked, schema still there.
    client
        .batch_execute("update public.tenants set status = 'deleting' where slug = 'acme'")
        .await
        .unwrap();
    provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap();
    assert!(schemas(&client).await.is_empty());
}

#[tokio::test]
async fn domains_keep_exactly_one_primary_and_the_last_one_cannot_go() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    let acme = TenantSlug::parse("acme").unwrap();
    let host = |h: &str| Host::parse(h).unwrap();

    let added = registry::add_domain(&mut client, &acme, &host("acme.example.com"), true)
        .await
        .unwrap();
    assert!(added.is_primary);
    let tenant = registry::get_by_slug(&client, &acme).await.unwrap();
    let domains = registry::domains_of(&client, tenant.id).await.unwrap();
    assert_eq!(domains.iter().filter(|d| d.is_primary).count(), 1);
    assert_eq!(domains[0].host.as_str(), "acme.example.com");

    let removed = registry::remove_domain(&mut client, &host("acme.example.com"))
        .await
        .unwrap();
    assert_eq!(removed.new_primary, Some(host("acme.localhost")));
    let last = registry::remove_domain(&mut client, &host("acme.localhost")).await;
    assert!(matches!(last, Err(TenancyError::Conflict(_))), "{last:?}");
    let unknown = registry::remove_domain(&mut client, &host("nobody.localhost")).await;
    assert!(matches!(unknown, Err(TenancyError::DomainNotFound(_))));
    let taken = registry::add_domain(&mut client, &acme, &host("acme.localhost"), false).await;
    assert!(
        matches!(taken, Err(TenancyError::HostTaken(_))),
        "{taken:?}"
    );
}

#[tokio::test]
async fn suspend_and_resume_follow_the_allowed_transitions() {
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let client = db.client().await;
    let acme = TenantSlug::parse("acme").unwrap();
    let suspended = registry::change_status(
        &client,
        &acme,
        &[TenantStatus::Active],
        TenantStatus::Suspended,
    )
    .await
    .unwrap();
    assert_eq!(suspended.status, TenantStatus::Suspended);
    client
        .batch_execute("update public.tenants set status = 'deleting' where slug = 'acme'")
        .await
        .unwrap();
    let refused = registry::change_status(
        &client,
        &acme,
        &[TenantStatus::Suspended],
        TenantStatus::Active,
    )
    .await;
    assert!(
        matches!(refused, Err(TenancyError::Conflict(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn registry_changes_are_announced_on_the_notification_channel() {
    let db = TestDb::migrated().await;
    let (client, mut connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures::StreamExt;
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    client
        .batch_execute("listen pactum_registry")
        .await
        .unwrap();
    let created = create(&db, &MigrationSet::tenant(), "acme").await;
    let payload = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    assert_eq!(payload, created.tenant.id.to_string());
}

#[tokio::test]
async fn a_cold_built_schema_is_what_refineries_own_runner_builds() {
    let db = TestDb::migrated().await;
    let set = MigrationSet::tenant();
    create(&db, &set, "cold").await;
    let mut client = db.client().await;
    client
        .batch_execute("create schema t_reference; set search_path to t_reference")
        .await
        .unwrap();
    let mut runner = refinery::Runner::new(set.migrations());
    runner.set_migration_table_name("t_reference.refinery_schema_history");
    runner.run_async(&mut client).await.unwrap();
    // With t_reference on the path, PostgreSQL would print its names unqualified.
    client.batch_execute("reset search_path").await.unwrap();
    assert_eq!(
        schema_fingerprint(&client, "t_cold").await,
        schema_fingerprint(&client, "t_reference").await
    );
    assert_eq!(
        history(&client, "t_cold").await,
        history(&client, "t_reference").await
    );
}

/// Citus forwards some DDL to workers as prepared statements, which hold one command
/// each. The Citus path splits the tenant script; here every piece runs through the
/// extended protocol, which refuses more than one command just as a worker does, and
/// the schema it builds must match the one-message build exactly. (Citus itself is not
/// in the package registries; this is what can be proven on plain PostgreSQL.)
#[tokio::test]
async fn the_tenant_script_split_for_citus_runs_one_command_per_message_and_builds_the_same_schema()
{
    use pactum::tenancy::citus::{split_statements, Cluster};
    let db = TestDb::migrated().await;
    create(&db, &MigrationSet::tenant(), "acme").await;
    let mut client = db.client().await;
    let set = MigrationSet::tenant();
    for (schema, per_message) in [("t_split", true), ("t_citus_path", false)] {
        let schema = pactum::tenancy::SchemaName::from_stored(schema).unwrap();
        let script = format!(
            "create schema {q}; set local search_path to {q};\n{}",
            set.script_for_new_schema(&schema).await.unwrap(),
            q = schema.quoted()
        );
        let tx = client.transaction().await.unwrap();
        if per_message {
            let whole = tx.execute(script.as_str(), &[]).await.unwrap_err();
            assert!(
                whole.to_string().contains("multiple commands")
                    || format!("{whole:?}").contains("multiple commands"),
                "{whole:?}"
            );
        }
        tx.rollback().await.unwrap();
        let tx = client.transaction().await.unwrap();
        if per_message {
            let statements = split_statements(&script);
            assert!(
                statements.len() > set.names().len() * 2,
                "{}",
                statements.len()
            );
            for statement in statements {
                tx.execute(statement, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
            }
        } else {
            Cluster::Citus.execute_script(&tx, &script).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(
            schema_fingerprint(&client, schema.as_str()).await,
            schema_fingerprint(&client, "t_acme").await,
            "{schema}"
        );
        assert_eq!(
            history(&client, schema.as_str()).await.len(),
            set.names().len()
        );
    }
}

#[tokio::test]
async fn a_unique_violation_without_its_constraint_field_is_still_told_apart() {
    use pactum::kernel::error::OnConstraint;
    use pactum::kernel::DomainError;
    let db = TestDb::migrated().await;
    let client = db.client().await;
    // What Citus's coordinator raises for a worker's violation: the worker's message,
    // no constraint field.
    client
        .batch_execute(
            "create function pg_temp.as_citus_raises(name text) returns void language plpgsql as $$ \
             begin raise exception using errcode = '23505', \
                 message = format('duplicate key value violates unique constraint \"%s\"', name || '_102070'); \
             end $$",
        )
        .await
        .unwrap();
    let raise = |name: &'static str| {
        let client = &client;
        async move {
            client
                .query_one("select pg_temp.as_citus_raises($1)", &[&name])
                .await
        }
    };
    let error = raise("users_email_key").await.unwrap_err();
    let db_error = error.as_db_error().unwrap();
    assert_eq!(
        db_error.constraint(),
        None,
        "the field is missing, as on Citus"
    );
    let mapped = raise("users_email_key")
        .await
        .on_constraint("users_email_key", || {
            DomainError::Conflict("email_taken", "taken".into())
        })
        .unwrap_err();
    assert!(
        matches!(mapped, DomainError::Conflict("email_taken", _)),
        "{mapped:?}"
    );
    let other = raise("teams_name_key")
        .await
        .on_constraint("users_email_key", || {
            DomainError::Conflict("email_taken", "taken".into())
        })
        .unwrap_err();
    assert!(
        matches!(other, DomainError::Conflict("duplicate", _)),
        "{other:?}"
    );
}
