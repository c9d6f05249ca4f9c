//! The tenant-scoped handle on the server's pool (no reset at checkout) against a real
//! PostgreSQL: with a single connection shared by two tenants, nothing one unit of work
//! leaves behind (a dropped transaction, a failed read) reaches the next. Every test
//! runs three ways: straight to PostgreSQL with cached statements; straight to it with
//! the transaction-pooler statement path; and through a real PgBouncer in transaction
//! mode with one server connection, which the pool's connections then share.

use crate::support::{PgBouncer, TestDb};
use pactum::tenancy::connection::{Connection, PoolStrategy, Pooler, RequestPool};
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
        acme: TenantDb::new(pool.clone(), TenantId(Uuid::nil()), &schemas[0]),
        globex: TenantDb::new(pool, TenantId(Uuid::nil()), &schemas[1]),
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
    let acme = TenantDb::new(
        pool.clone(),
        TenantId(Uuid::nil()),
        &SchemaName::from_stored("t_acme").unwrap(),
    );
    let globex = TenantDb::new(
        pool,
        TenantId(Uuid::nil()),
        &SchemaName::from_stored("t_globex").unwrap(),
    );
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

/// Waits (up to 5 s) until `ready` holds of the pool's waiting count.
async fn until_waiting(pool: &RequestPool, ready: impl Fn(usize) -> bool) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let waiting = pool.status().waiting;
        if ready(waiting) || std::time::Instant::now() > deadline {
            return waiting;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// One busy tenant: one of its requests queues for its home connection, the rest wait
/// in one queue shared by the pool, so a connection that comes back goes to one of
/// them. With a queue per connection, a request queued behind a slow one waited while
/// another connection stood idle, which tripled a busy tenant's p99.
#[tokio::test]
async fn a_busy_tenant_never_waits_while_a_connection_stands_idle() {
    let db = TestDb::migrated().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let busy = SchemaName::from_stored("t_busy").unwrap();
    let home = pool.home_slot(&busy);
    let mut held = hold_every_connection(&pool, 3).await;
    // One request queues for the home ...
    let home_waiter = ask(&pool, &busy);
    assert_eq!(until_waiting(&pool, |n| n == 1).await, 1);
    // ... so the next two of the same tenant wait for any connection.
    let (first, second) = (ask(&pool, &busy), ask(&pool, &busy));
    assert_eq!(until_waiting(&pool, |n| n == 3).await, 3);

    // A connection other than the home comes back: one of the two takes it, and gives
    // it back in turn.
    let other = (home + 1) % 3;
    drop(held[other].take());
    assert_eq!(until_waiting(&pool, |n| n == 2).await, 2);
    let (served, still_waiting) = if first.is_finished() {
        (first, second)
    } else {
        (second, first)
    };
    let connection = served.await.unwrap();
    assert_eq!(connection.slot(), other);
    drop(connection);
    // That connection is idle again and a request waits: it must get it, though the
    // third connection is still held.
    let connection = tokio::time::timeout(std::time::Duration::from_secs(5), still_waiting)
        .await
        .expect("a request waited while a connection stood idle")
        .unwrap();
    assert_eq!(connection.slot(), other);
    assert_eq!(pool.status().waiting, 1, "only the home queue still waits");

    drop(connection);
    drop(held[home].take());
    let connection = tokio::time::timeout(std::time::Duration::from_secs(5), home_waiter)
        .await
        .expect("the home queue is served")
        .unwrap();
    assert_eq!(connection.slot(), home);
    assert_eq!(pool.status().waiting, 0);
}

/// A connection given back goes straight to the request that has waited longest: a
/// request that arrives at that moment cannot take it first (with requests woken to
/// look for it, newcomers took it and the woken ones queued again, at the back).
#[tokio::test]
async fn a_connection_given_back_goes_to_the_longest_waiting_request_not_a_newcomer() {
    let db = TestDb::migrated().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let mut held = hold_every_connection(&pool, 3).await;
    // Requests for no tenant go round the slots: this one looks at the first, then
    // all, and waits.
    let waiting = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.get(None).await.unwrap() })
    };
    assert_eq!(until_waiting(&pool, |n| n == 1).await, 1);
    // The second connection comes back, and a newcomer (whose turn round the slots is
    // that very connection) asks in the same instant.
    drop(held[1].take());
    let newcomer = pool.get(None);
    tokio::pin!(newcomer);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), &mut newcomer)
            .await
            .is_err(),
        "the newcomer took the connection from the request that waited"
    );
    let connection = waiting.await.unwrap();
    assert_eq!(connection.slot(), 1);
    // Given back again, it goes to the newcomer, now the one waiting.
    drop(connection);
    let connection = tokio::time::timeout(std::time::Duration::from_secs(5), newcomer)
        .await
        .expect("the newcomer is served next")
        .unwrap();
    assert_eq!(connection.slot(), 1);
}

/// Many tenants: requests of different tenants that share a home connection queue for
/// it (up to four), and do not take another idle connection, which would soon have
/// every connection serve every tenant and build catalog entries for all of them.
#[tokio::test]
async fn tenants_queue_for_their_home_connection_to_keep_its_caches_warm() {
    let db = TestDb::migrated().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let tenants: Vec<SchemaName> = (0..)
        .map(|n| SchemaName::from_stored(&format!("t_tenant{n}")).unwrap())
        .filter(|schema| pool.home_slot(schema) == 0)
        .take(5)
        .collect();
    let mut held = hold_every_connection(&pool, 3).await;
    let home_queue: Vec<_> = tenants[..4].iter().map(|t| ask(&pool, t)).collect();
    assert_eq!(until_waiting(&pool, |n| n == 4).await, 4);
    // Another connection comes back: the home queue leaves it be.
    drop(held[1].take());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        pool.status().waiting,
        4,
        "queued for their home, not for any"
    );
    // A fifth tenant of that home finds its queue full and takes the idle one.
    let fifth = tokio::time::timeout(std::time::Duration::from_secs(5), ask(&pool, &tenants[4]))
        .await
        .expect("a full home queue sends the request elsewhere")
        .unwrap();
    assert_eq!(fifth.slot(), 1);
    // The home connection serves its queue one request after another.
    drop(held[0].take());
    for waiter in home_queue {
        let connection = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the home queue is served")
            .unwrap();
        assert_eq!(connection.slot(), 0);
    }
}

/// One checkout per connection (requests for no tenant go round the slots), so every
/// connection is busy; each is given back by taking it out of its `Option`.
async fn hold_every_connection(pool: &RequestPool, size: usize) -> Vec<Option<Connection>> {
    let mut held = Vec::new();
    for slot in 0..size {
        let connection = pool.get(None).await.unwrap();
        assert_eq!(connection.slot(), slot);
        held.push(Some(connection));
    }
    held
}

/// A request for a connection to `schema`, running on its own.
fn ask(pool: &RequestPool, schema: &SchemaName) -> tokio::task::JoinHandle<Connection> {
    let (pool, schema) = (pool.clone(), schema.clone());
    tokio::spawn(async move { pool.get(Some(&schema)).await.unwrap() })
}
