//! Which plans the request pool's cached statements run, against a real PostgreSQL: in
//! direct mode the plan made once for each (planning again with every request's values
//! was a third or more of what PostgreSQL spent on the contracts page;
//! docs/benchmarks.md, "Thousands of tenants"); PostgreSQL's own choice when that is
//! turned off, behind a transaction pooler, or when the URL chooses a plan cache mode
//! itself.

use crate::support::TestDb;
use pactum::tenancy::connection::{PoolStrategy, Pooler, RequestPool, Scope};
use pactum::tenancy::pool::DatabaseUrl;

/// A statement whose plan depends on its value: PostgreSQL's default plans it again for
/// each of its first five executions at least.
const LOOKUP: &str = "select count(*) from pg_class where relname = $1";

fn pool(url: &DatabaseUrl, pooler: Pooler, generic_plans: bool) -> RequestPool {
    let strategy = PoolStrategy {
        generic_plans,
        ..PoolStrategy::default()
    };
    RequestPool::with_strategy(url, 1, pooler, strategy).unwrap()
}

/// The test database's URL with `options` for PostgreSQL.
fn with_options(db: &TestDb, options: &str) -> DatabaseUrl {
    DatabaseUrl::parse(&format!("{} options='{options}'", db.url), "pactum-tests").unwrap()
}

async fn setting(pool: &RequestPool, name: &str) -> String {
    let connection = pool.get(None).await.unwrap();
    let row = connection
        .client()
        .query_one(&format!("show {name}"), &[])
        .await;
    row.unwrap().get(0)
}

/// Runs `LOOKUP` as a cached statement `times` times, then says how often its backend
/// ran a generic plan and how often one planned with the values (PostgreSQL 14 and
/// later count them; `None` before).
async fn plans_run(pool: &RequestPool, times: usize) -> Option<(i64, i64)> {
    let connection = pool.get(None).await.unwrap();
    for i in 0..times {
        let name = format!("pg_class_{i}");
        connection
            .query(Scope::standalone(), LOOKUP, &[&name])
            .await
            .unwrap();
    }
    let client = connection.client();
    let version: i32 = client
        .query_one("select current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    if version < 140_000 {
        return None;
    }
    let row = client
        .query_one(
            "select generic_plans, custom_plans from pg_prepared_statements where statement = $1",
            &[&LOOKUP],
        )
        .await
        .unwrap();
    Some((row.get(0), row.get(1)))
}

#[tokio::test]
async fn cached_statements_run_the_plan_made_once_for_them_in_direct_mode() {
    let db = TestDb::empty().await;
    let generic = pool(&db.database_url(), Pooler::None, true);
    assert_eq!(
        setting(&generic, "plan_cache_mode").await,
        "force_generic_plan"
    );
    if let Some((generic_plans, custom_plans)) = plans_run(&generic, 8).await {
        assert_eq!((generic_plans, custom_plans), (8, 0));
    }

    let planned_each_time = pool(&db.database_url(), Pooler::None, false);
    assert_eq!(setting(&planned_each_time, "plan_cache_mode").await, "auto");
    if let Some((_, custom_plans)) = plans_run(&planned_each_time, 8).await {
        assert!(
            custom_plans >= 5,
            "PostgreSQL's default plans the first five with their values: {custom_plans}"
        );
    }
}

/// Behind a transaction pooler statements are unnamed and planned once each anyway,
/// better with their values; and the URL's own choice, and its other options, stand.
#[tokio::test]
async fn a_transaction_pooler_and_the_urls_own_options_keep_postgresqls_choice() {
    let db = TestDb::empty().await;
    let pooled = pool(&db.database_url(), Pooler::Transaction, true);
    assert_eq!(setting(&pooled, "plan_cache_mode").await, "auto");

    for chosen in [
        "-c plan_cache_mode=force_custom_plan",
        // PostgreSQL reads the long form with dashes as the same setting.
        "--plan-cache-mode=force_custom_plan",
    ] {
        let chosen = pool(&with_options(&db, chosen), Pooler::None, true);
        assert_eq!(
            setting(&chosen, "plan_cache_mode").await,
            "force_custom_plan"
        );
    }

    let other = pool(
        &with_options(&db, "-c statement_timeout=4321"),
        Pooler::None,
        true,
    );
    assert_eq!(setting(&other, "statement_timeout").await, "4321ms");
    assert_eq!(
        setting(&other, "plan_cache_mode").await,
        "force_generic_plan"
    );
}
