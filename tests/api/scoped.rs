//! The tenant-scoped handle on the server's pool (no reset at checkout) against a real
//! PostgreSQL: with a single connection shared by two tenants, nothing one unit of work
//! leaves behind (a dropped transaction, a failed read) reaches the next. Every test
//! runs three ways: straight to PostgreSQL with cached statements; straight to it with
//! the transaction-pooler statement path; and through a real PgBouncer in transaction
//! mode with one server connection, which the pool's connections then share.

use crate::support::{PgBouncer, TestDb};
use pactum::tenancy::connection::{
    CheckoutCounts, PoolStrategy, Pooler, RequestPool, HOME_QUEUE_LIMIT,
};
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

/// One busy tenant: past the four requests queued for its home connection, a request
/// takes whichever other connection comes back first, never waits for one particular
/// connection while another stands idle.
#[tokio::test]
async fn requests_past_a_busy_tenants_home_queue_take_the_first_connection_back() {
    use std::time::Duration;
    let db = TestDb::empty().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let busy = SchemaName::from_stored("t_busy").unwrap();
    // Every connection in use: the tenant's home, and the two others.
    let home = pool.get(Some(&busy)).await.unwrap();
    let other = pool.get(None).await.unwrap();
    let last = pool.get(None).await.unwrap();
    let waiting_for = |n: usize| {
        let pool = pool.clone();
        async move {
            for _ in 0..500 {
                if pool.status().waiting >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            panic!("{n} requests never queued: {:?}", pool.status());
        }
    };
    let request = || {
        let (pool, busy) = (pool.clone(), busy.clone());
        tokio::spawn(async move { pool.get(Some(&busy)).await.unwrap() })
    };
    let home_queue: Vec<_> = (0..4).map(|_| request()).collect();
    waiting_for(4).await;
    let first = request();
    waiting_for(5).await;
    let second = request();
    waiting_for(6).await;
    // One connection comes back: the older of the two past the home queue gets it.
    drop(other);
    let served = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the oldest request past the home queue is served")
        .unwrap();
    assert!(!second.is_finished());
    // It comes back again while `last` is still held: the next one gets it.
    drop(served);
    let _served = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the next request is served by the same connection, not left waiting for another")
        .unwrap();
    drop(last);
    drop(home);
    for waiting in home_queue {
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the home queue is served")
            .unwrap();
    }
    // Counted by the connection that served them: the two past the home queue were
    // served where the tenant's schema may be cold.
    assert_eq!(
        pool.checkouts(),
        CheckoutCounts {
            home: 5,
            elsewhere: 2,
            no_tenant: 2,
            shared: 0,
        }
    );
}

/// Without tenant affinity nobody has a home: every checkout, a tenant's or not, is
/// counted as from the shared pool, never as a tenant away from home.
#[tokio::test]
async fn checkouts_without_tenant_affinity_are_counted_as_shared() {
    let db = TestDb::empty().await;
    let strategy = PoolStrategy {
        tenant_affinity: false,
        ..PoolStrategy::default()
    };
    let shared = RequestPool::with_strategy(&db.database_url(), 3, Pooler::None, strategy).unwrap();
    let tenant = SchemaName::from_stored("t_any").unwrap();
    drop(shared.get(Some(&tenant)).await.unwrap());
    drop(shared.get(None).await.unwrap());
    assert_eq!(
        shared.checkouts(),
        CheckoutCounts {
            shared: 2,
            ..CheckoutCounts::default()
        }
    );
}

/// `PACTUM_DB_HOME_QUEUE`: with a home queue of one, the second request of a tenant
/// whose home connection is busy takes an idle connection at once; with the default of
/// four it waits for its home, where the tenant's schema is cached.
#[tokio::test]
async fn the_home_queue_limit_decides_when_a_busy_tenants_requests_go_elsewhere() {
    use std::time::Duration;
    let db = TestDb::empty().await;
    let busy = SchemaName::from_stored("t_busy").unwrap();
    for (limit, goes_elsewhere) in [(1, true), (HOME_QUEUE_LIMIT, false)] {
        let strategy = PoolStrategy {
            home_queue_limit: limit,
            ..PoolStrategy::default()
        };
        let pool =
            RequestPool::with_strategy(&db.database_url(), 3, Pooler::None, strategy).unwrap();
        let home = pool.get(Some(&busy)).await.unwrap();
        let request = || {
            let (pool, busy) = (pool.clone(), busy.clone());
            tokio::spawn(async move { pool.get(Some(&busy)).await.unwrap() })
        };
        let first = request();
        for _ in 0..500 {
            if pool.status().waiting >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(
            pool.status().waiting,
            1,
            "limit {limit}: the first waits at home"
        );
        let mut second = request();
        let answered = tokio::time::timeout(Duration::from_millis(300), &mut second).await;
        assert_eq!(answered.is_ok(), goes_elsewhere, "limit {limit}");
        drop(home);
        let first = tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .expect("the home queue is served")
            .unwrap();
        drop(first);
        let second = match answered {
            Ok(served) => served.unwrap(),
            Err(_) => tokio::time::timeout(Duration::from_secs(5), second)
                .await
                .expect("served once its home is back")
                .unwrap(),
        };
        drop(second);
        let counts = pool.checkouts();
        assert_eq!(
            (counts.home, counts.elsewhere),
            if goes_elsewhere { (2, 1) } else { (3, 0) },
            "limit {limit}"
        );
    }
}
