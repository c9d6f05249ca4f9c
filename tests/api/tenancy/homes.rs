//! Which connection of the request pool serves a tenant's unit of work, against a real
//! PostgreSQL: its home when idle, else one whose backend already served its schema,
//! else one whose backend has room for guests; and when none is idle, a wait at home
//! or for the first connection back. Each case is what a benchmark showed matters
//! (docs/benchmarks.md, "Thousands of tenants" and "The request path against the build
//! before events and jobs").

use std::future::Future;
use std::time::Duration;

use crate::support::TestDb;
use pactum::tenancy::connection::{
    CheckoutCounts, Connection, PoolStrategy, Pooler, RequestPool, HOME_QUEUE_LIMIT,
};
use pactum::tenancy::SchemaName;

fn schema(name: &str) -> SchemaName {
    SchemaName::from_stored(name).unwrap()
}

/// `n` tenants other than `schema` whose home connection is `schema`'s.
fn sharing_home(pool: &RequestPool, schema: &SchemaName, n: usize) -> Vec<SchemaName> {
    let home = pool.home_slot(schema).expect("a pool with homes");
    (0..)
        .map(|i| SchemaName::from_stored(&format!("t_sharer_{i}")).unwrap())
        .filter(|other| other != schema && pool.home_slot(other) == Some(home))
        .take(n)
        .collect()
}

/// A checkout for `schema`, run on its own task so that the test can see it wait.
fn request(pool: &RequestPool, schema: &SchemaName) -> tokio::task::JoinHandle<Connection> {
    let (pool, schema) = (pool.clone(), schema.clone());
    tokio::spawn(async move { pool.get(Some(&schema)).await.unwrap() })
}

/// Whether `checkout` is served within a second (it is left running if not): long
/// enough for a new backend to start on a loaded machine, short next to a wait that
/// lasts until the test lets a connection go.
async fn served_soon(
    checkout: &mut (impl Future<Output = Result<Connection, tokio::task::JoinError>> + Unpin),
) -> Option<Connection> {
    match tokio::time::timeout(Duration::from_secs(1), checkout).await {
        Ok(served) => Some(served.unwrap()),
        Err(_) => None,
    }
}

async fn backend(connection: &Connection) -> i32 {
    let row = connection
        .client()
        .query_one("select pg_backend_pid()", &[])
        .await;
    row.unwrap().get(0)
}

async fn served(
    checkout: impl Future<Output = Result<Connection, tokio::task::JoinError>>,
) -> Connection {
    tokio::time::timeout(Duration::from_secs(5), checkout)
        .await
        .expect("served")
        .unwrap()
}

/// A tenant whose home connection is busy takes an idle one at once while that
/// backend has room for guests, and from then on prefers it: the second time the
/// connection is warm for the tenant's schema.
#[tokio::test]
async fn a_busy_home_sends_a_tenant_to_an_idle_backend_with_room_then_to_the_warm_one() {
    let db = TestDb::empty().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let busy = schema("t_busy");
    let home = pool.get(Some(&busy)).await.unwrap();
    let guest = served_soon(&mut request(&pool, &busy))
        .await
        .expect("an idle backend with room takes it at once");
    let guest_backend = backend(&guest).await;
    drop(guest);
    let again = served_soon(&mut request(&pool, &busy))
        .await
        .expect("the backend that served it is idle");
    assert_eq!(
        backend(&again).await,
        guest_backend,
        "the warm backend, not the third one"
    );
    drop((home, again));
    assert_eq!(
        pool.checkouts(),
        CheckoutCounts {
            home: 1,
            elsewhere: 1,
            warm_elsewhere: 1,
            ..CheckoutCounts::default()
        }
    );
}

/// With thousands of tenants every backend holds more schemas than it takes guests
/// for: a tenant whose home is busy then waits at home rather than build its schema in
/// an idle backend that never served it; the backend it did visit still takes it.
#[tokio::test]
async fn a_full_backend_takes_only_the_tenants_it_has_served() {
    let db = TestDb::empty().await;
    let strategy = PoolStrategy {
        guest_room: 2,
        ..PoolStrategy::default()
    };
    // Two connections: the busy tenant's home, and one other.
    let pool = RequestPool::with_strategy(&db.database_url(), 2, Pooler::None, strategy).unwrap();
    let busy = schema("t_busy");
    let home = pool.get(Some(&busy)).await.unwrap();
    // The other backend serves the busy tenant once (it has room), then fills up with
    // tenants of its own or guests.
    drop(served_soon(&mut request(&pool, &busy)).await.expect("room"));
    drop(
        served_soon(&mut request(&pool, &schema("t_filler")))
            .await
            .expect("idle"),
    );
    // The busy tenant is warm there: taken at once, though the backend is full.
    drop(served_soon(&mut request(&pool, &busy)).await.expect("warm"));
    // A tenant of the busy one's home that the full backend never served waits at
    // home, though that backend stands idle.
    let sharer = sharing_home(&pool, &busy, 1).remove(0);
    let mut waiting = request(&pool, &sharer);
    assert!(served_soon(&mut waiting).await.is_none(), "waits at home");
    assert_eq!(
        pool.status().idle,
        1,
        "the other connection stood idle meanwhile"
    );
    let home_backend = backend(&home).await;
    drop(home);
    let at_home = served(waiting).await;
    assert_eq!(backend(&at_home).await, home_backend, "served at home");
    assert_eq!(pool.checkouts().warm_elsewhere, 1);
}

/// A tenant warm on half the connections or more (a busy one, or one of few) does not
/// queue for its home: it takes whichever connection comes back first.
#[tokio::test]
async fn a_tenant_spread_over_the_pool_waits_for_any_connection_not_its_home() {
    let db = TestDb::empty().await;
    let pool = RequestPool::new(&db.database_url(), 3, Pooler::None).unwrap();
    let busy = schema("t_busy");
    // Every connection serves the busy tenant: home first, then the two with room.
    let home = pool.get(Some(&busy)).await.unwrap();
    let first = served_soon(&mut request(&pool, &busy)).await.expect("room");
    let second = served_soon(&mut request(&pool, &busy)).await.expect("room");
    let mut next = request(&pool, &busy);
    assert!(
        served_soon(&mut next).await.is_none(),
        "every connection is busy"
    );
    drop(first);
    let taken = served_soon(&mut next)
        .await
        .expect("the first connection back serves it while its home stays busy");
    drop((home, second, taken));
    let counts = pool.checkouts();
    assert_eq!(
        (counts.home, counts.elsewhere, counts.warm_elsewhere),
        (1, 2, 1)
    );
}

/// Past the four requests queued for a tenant's home connection, a request takes
/// whichever other connection comes back first, never waits for one particular
/// connection while another stands idle.
#[tokio::test]
async fn requests_past_a_busy_tenants_home_queue_take_the_first_connection_back() {
    let db = TestDb::empty().await;
    let strategy = PoolStrategy {
        home_queue_limit: 4,
        ..PoolStrategy::default()
    };
    let pool = RequestPool::with_strategy(&db.database_url(), 3, Pooler::None, strategy).unwrap();
    let busy = schema("t_busy");
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
    // Four other tenants of the same home queue there.
    let home_queue: Vec<_> = sharing_home(&pool, &busy, 4)
        .iter()
        .map(|quiet| request(&pool, quiet))
        .collect();
    waiting_for(4).await;
    let first = request(&pool, &busy);
    waiting_for(5).await;
    let second = request(&pool, &busy);
    waiting_for(6).await;
    // One connection comes back: the older of the two past the home queue gets it.
    drop(other);
    let oldest = served(first).await;
    assert!(!second.is_finished());
    // It comes back again while `last` is still held: the next one gets it, rather than
    // being left waiting for another.
    drop(oldest);
    drop(served(second).await);
    drop(last);
    drop(home);
    for waiting in home_queue {
        drop(served(waiting).await);
    }
    // Counted by the connection that served them: the first past the home queue built
    // the tenant's schema in that backend, the second found it there.
    assert_eq!(
        pool.checkouts(),
        CheckoutCounts {
            home: 5,
            elsewhere: 1,
            warm_elsewhere: 1,
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
    let tenant = schema("t_any");
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

/// `PACTUM_DB_HOME_QUEUE`: where no other backend has room for guests, a request whose
/// home connection is busy and has one other tenant's request waiting takes an idle
/// connection at once with a home queue of one; with the default it waits for its home,
/// where the tenant's schema is cached.
#[tokio::test]
async fn the_home_queue_limit_decides_when_a_busy_tenants_requests_go_elsewhere() {
    let db = TestDb::empty().await;
    let busy = schema("t_busy");
    for (limit, goes_elsewhere) in [(1, true), (HOME_QUEUE_LIMIT, false)] {
        let strategy = PoolStrategy {
            home_queue_limit: limit,
            guest_room: 0,
            ..PoolStrategy::default()
        };
        let pool =
            RequestPool::with_strategy(&db.database_url(), 3, Pooler::None, strategy).unwrap();
        let home = pool.get(Some(&busy)).await.unwrap();
        let first = request(&pool, &sharing_home(&pool, &busy, 1)[0]);
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
        let mut second = request(&pool, &busy);
        let answered = served_soon(&mut second).await;
        assert_eq!(answered.is_some(), goes_elsewhere, "limit {limit}");
        drop(home);
        drop(served(first).await);
        match answered {
            Some(elsewhere) => drop(elsewhere),
            None => drop(served(second).await),
        }
        let counts = pool.checkouts();
        assert_eq!(
            (counts.home, counts.elsewhere),
            if goes_elsewhere { (2, 1) } else { (3, 0) },
            "limit {limit}"
        );
    }
}
