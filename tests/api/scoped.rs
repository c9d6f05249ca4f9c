//! The tenant-scoped handle on the server's pool (no reset at checkout) against a real
//! PostgreSQL: with a single connection shared by two tenants, nothing one unit of work
//! leaves behind (a dropped transaction, a failed read) reaches the next. Every test
//! runs three ways: straight to PostgreSQL with cached statements; straight to it with
//! the transaction-pooler statement path; and through a real PgBouncer in transaction
//! mode with one server connection, which the pool's connections then share.

use crate::support::{PgBouncer, TestDb};
use pactum::tenancy::connection::{PoolStrategy, Pooler, RequestPool};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::scoped::TenantDb;
use pactum::tenancy::{Host, MigrationSet, SchemaName, TenantId, TenantSlug};
use uuid::Uuid;

const EMAILS: &str = "select email from users order by email";

#[derive(Debug, Clone, Copy)]
enum Path {
    Direct,
    Unnamed,
    PgBouncer,
}

const PATHS: [Path; 3] = [Path::Direct, Path::Unnamed, Path::PgBouncer];

/// Two tenants' handles and what they run on. Fields drop in order: pools first, then
/// PgBouncer, then the database.
struct TwoTenants {
    acme: TenantDb,
    globex: TenantDb,
    _bouncer: Option<PgBouncer>,
    _db: TestDb,
}

async fn two_tenants_on_one_connection(path: Path) -> TwoTenants {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    let mut schemas: Vec<SchemaName> = Vec::new();
    let mut roles = Vec::new();
    for slug in ["acme", "globex"] {
        let tenant = NewTenant::new(
            TenantSlug::parse(slug).unwrap(),
            None,
            Host::parse(&format!("{slug}.localhost")).unwrap(),
        )
        .unwrap();
        let created = provision::create_tenant(&mut client, &MigrationSet::tenant(), &tenant)
            .await
            .unwrap();
        client
            .execute(
                &format!(
                    "insert into {}.users (email, display_name, role) values ($1, 'Someone', 'member')",
                    created.tenant.schema.quoted()
                ),
                &[&format!("only@{slug}.example")],
            )
            .await
            .unwrap();
        schemas.push(created.tenant.schema);
        roles.push(created.tenant.role);
    }
    let (pool, bouncer) = match path {
        Path::Direct => (
            RequestPool::new(&db.database_url(), 1, Pooler::None).unwrap(),
            None,
        ),
        Path::Unnamed => (
            RequestPool::new(&db.database_url(), 1, Pooler::Transaction).unwrap(),
            None,
        ),
        Path::PgBouncer => {
            let bouncer = PgBouncer::start(1);
            let url = DatabaseUrl::parse(&bouncer.url_for(&db), "pactum-tests").unwrap();
            // Four client connections over PgBouncer's one server connection.
            let pool = RequestPool::new(&url, 4, Pooler::Transaction).unwrap();
            (pool, Some(bouncer))
        }
    };
    TwoTenants {
        acme: TenantDb::new(
            pool.clone(),
            TenantId(Uuid::nil()),
            &schemas[0],
            roles[0].as_ref(),
        ),
        globex: TenantDb::new(pool, TenantId(Uuid::nil()), &schemas[1], roles[1].as_ref()),
        _bouncer: bouncer,
        _db: db,
    }
}

async fn emails(db: &TenantDb) -> Vec<String> {
    db.read(&[(EMAILS, &[])]).await.unwrap()[0]
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn alternating_tenants_on_one_connection_each_see_only_their_own_rows() {
    for path in PATHS {
        alternating_tenants(path).await;
    }
}

async fn alternating_tenants(path: Path) {
    let TwoTenants { acme, globex, .. } = &two_tenants_on_one_connection(path).await;
    for _ in 0..10 {
        assert_eq!(emails(acme).await, ["only@acme.example"]);
        assert_eq!(emails(globex).await, ["only@globex.example"]);
        let tx = acme.begin().await.unwrap();
        let rows = tx.query(EMAILS, &[]).await.unwrap();
        assert_eq!(rows[0].get::<_, String>(0), "only@acme.example");
        tx.commit().await.unwrap();
        // Naming the other's schema is refused by PostgreSQL on every path, PgBouncer's
        // transaction mode included: the role came with the transaction.
        let tx = globex.begin().await.unwrap();
        let refused = tx
            .query("select email from t_acme.users", &[])
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_dropped_transaction_is_rolled_back_before_the_next_user_runs() {
    for path in PATHS {
        dropped_transaction(path).await;
    }
}

async fn dropped_transaction(path: Path) {
    let TwoTenants { acme, globex, .. } = &two_tenants_on_one_connection(path).await;
    {
        let tx = acme.begin().await.unwrap();
        tx.execute(
            "insert into users (email, display_name, role) values ('ghost@acme.example', 'Ghost', 'member')",
            &[],
        )
        .await
        .unwrap();
        // Dropped here: an error path or a cancelled request.
    }
    let tx = globex.begin().await.unwrap();
    let path: String = tx
        .query_one("select current_setting('search_path')", &[])
        .await
        .unwrap()
        .get(0);
    // PostgreSQL drops the quotes where the name needs none.
    assert_eq!(path.replace('"', ""), "t_globex, public");
    tx.commit().await.unwrap();
    assert_eq!(
        emails(acme).await,
        ["only@acme.example"],
        "the dropped insert never committed"
    );
}

#[tokio::test]
async fn a_failed_read_leaves_the_connection_clean_and_writes_are_refused_in_reads() {
    for path in PATHS {
        failed_read(path).await;
    }
}

async fn failed_read(path: Path) {
    let TwoTenants { acme, globex, .. } = &two_tenants_on_one_connection(path).await;
    acme.read(&[("select 1 / (select count(*) - count(*) from users)", &[])])
        .await
        .expect_err("division by zero");
    assert_eq!(emails(globex).await, ["only@globex.example"]);

    let write = "insert into users (email, display_name, role) values ('w@acme.example', 'W', 'member') returning email";
    acme.read(&[(write, &[])])
        .await
        .expect_err("a read-only transaction refuses writes");
    assert_eq!(emails(acme).await, ["only@acme.example"]);
    let tx = acme.begin().await.unwrap();
    let in_transaction: Option<i64> = tx
        .query_one("select txid_current_if_assigned()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        in_transaction, None,
        "a fresh transaction, not a leftover one"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_read_cancelled_mid_query_leaves_the_connection_clean() {
    for path in PATHS {
        cancelled_read(path).await;
    }
}

async fn cancelled_read(path: Path) {
    let TwoTenants { acme, globex, .. } = &two_tenants_on_one_connection(path).await;
    for _ in 0..2 {
        // Twice: once with the statement still to be prepared, once cached.
        let slow = acme.read(&[("select pg_sleep(0.3), count(*) from users", &[])]);
        tokio::time::timeout(std::time::Duration::from_millis(50), slow)
            .await
            .expect_err("the read is cancelled while PostgreSQL sleeps");
        assert_eq!(emails(globex).await, ["only@globex.example"]);
    }
    let tx = globex.begin().await.unwrap();
    let (path, in_transaction): (String, Option<i64>) = {
        let row = tx
            .query_one(
                "select current_setting('search_path'), txid_current_if_assigned()",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(path.replace('"', ""), "t_globex, public");
    assert_eq!(in_transaction, None);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn behind_pgbouncer_concurrent_tenants_share_one_backend_and_see_only_their_own() {
    let tenants = two_tenants_on_one_connection(Path::PgBouncer).await;
    let work = (0..40).map(|i| {
        let (db, own) = if i % 2 == 0 {
            (&tenants.acme, "only@acme.example")
        } else {
            (&tenants.globex, "only@globex.example")
        };
        async move {
            let rows = &db
                .read(&[(EMAILS, &[]), ("select pg_backend_pid()", &[])])
                .await
                .unwrap();
            let emails: Vec<String> = rows[0].iter().map(|r| r.get(0)).collect();
            assert_eq!(emails, [own]);
            let tx = db.begin().await.unwrap();
            let row = tx
                .query_one("select count(*) from users where email = $1", &[&own])
                .await
                .unwrap();
            assert_eq!(row.get::<_, i64>(0), 1);
            tx.execute(
                "update users set display_name = display_name where email = $1",
                &[&own],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            rows[1][0].get::<_, i32>(0)
        }
    });
    let backends: std::collections::HashSet<i32> =
        futures::future::join_all(work).await.into_iter().collect();
    assert_eq!(
        backends.len(),
        1,
        "PgBouncer ran every transaction on its one server connection"
    );
}

/// How many statements the backend behind `db`'s next unit of work holds for `sql`.
async fn prepared_on_backend(db: &TenantDb, sql: &str) -> (i32, i64) {
    let tx = db.begin().await.unwrap();
    let row = tx
        .query_one(
            "select pg_backend_pid(), count(*) from pg_prepared_statements where statement like $1",
            &[&format!("{sql}%")],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (row.get(0), row.get(1))
}

async fn two_tenants_with(strategy: PoolStrategy) -> (TestDb, TenantDb, TenantDb) {
    let TwoTenants { _db: db, .. } = two_tenants_on_one_connection(Path::Direct).await;
    let pool = RequestPool::with_strategy(&db.database_url(), 1, Pooler::None, strategy).unwrap();
    let acme = crate::app::tenant_db(&db, "acme", pool.clone()).await;
    let globex = crate::app::tenant_db(&db, "globex", pool).await;
    (db, acme, globex)
}

#[tokio::test]
async fn statements_are_cached_per_schema_so_a_rotating_tenant_never_reuses_anothers_plan() {
    for (per_schema, expected) in [(true, 2), (false, 1)] {
        let strategy = PoolStrategy {
            statements_per_schema: per_schema,
            ..PoolStrategy::default()
        };
        let (_db, acme, globex) = two_tenants_with(strategy).await;
        for _ in 0..3 {
            assert_eq!(emails(&acme).await, ["only@acme.example"]);
            assert_eq!(emails(&globex).await, ["only@globex.example"]);
        }
        let (_, prepared) = prepared_on_backend(&acme, EMAILS).await;
        assert_eq!(prepared, expected, "statements per schema: {per_schema}");
    }
}

#[tokio::test]
async fn a_connection_that_served_too_many_schemas_is_replaced() {
    let strategy = PoolStrategy {
        max_schemas_per_connection: 1,
        ..PoolStrategy::default()
    };
    let (_db, acme, globex) = two_tenants_with(strategy).await;
    let (first, _) = prepared_on_backend(&acme, EMAILS).await;
    let (still, _) = prepared_on_backend(&acme, EMAILS).await;
    assert_eq!(first, still, "one schema: the same backend");
    // Serving a second schema puts the connection over its bound; it is retired at
    // the next checkout.
    emails(&globex).await;
    let (next, _) = prepared_on_backend(&acme, EMAILS).await;
    assert_ne!(first, next, "a new backend after two schemas");
}
