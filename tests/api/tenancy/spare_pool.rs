//! Spare schemas: claimed like a cold build, dropped from the pool when they cannot be
//! adopted, migrated with the fleet, never claimed twice.

use super::*;

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
