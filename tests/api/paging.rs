//! Lists paged by key read only their page, in any plan PostgreSQL settles on for a
//! cached statement. After five runs a cached statement may be given a generic plan,
//! planned without the parameters' values; in that plan a bound written as
//! `$4 is null or (created_at, id) > ($4, $5)` is a filter over every row before the
//! cursor, so reading a whole list page by page cost the square of its length (3,000
//! comments read 100 at a time: 46,529 rows read instead of 3,029). Here every
//! statement is forced to its generic plan, the whole list is read page by page
//! through the list's own service, and the rows PostgreSQL read are counted from its
//! statistics; and lists with several optional filters, which only the plans
//! PostgreSQL chooses for itself serve well, are read the same way in those plans.

use pactum::contracts;
use pactum::contracts::model::CONTRACT_TARGET;
use pactum::kernel::page::Page;
use pactum::kernel::page::PageRequest;
use pactum::kernel::target::Target;
use pactum::kernel::{DomainError, Origin, Principal};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::scoped::TenantDb;
use serde_json::json;
use uuid::Uuid;

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

const ROWS: i64 = 3_000;
const PAGE: i64 = 100;

/// The tenant's database through one connection (so statistics and cached statements
/// are that one backend's), opened with `options`.
async fn one_connection(db: &TestDb, options: &str) -> TenantDb {
    let url = DatabaseUrl::parse(&format!("{} {options}", db.url), "pactum-tests").unwrap();
    let pool = RequestPool::new(&url, 1, Pooler::None).unwrap();
    crate::app::tenant_db(db, "acme", pool).await
}

/// The same, with every cached statement running its generic plan.
async fn generic_plans_only(db: &TestDb) -> TenantDb {
    one_connection(db, "options='-c plan_cache_mode=force_generic_plan'").await
}

/// Rows of `table` read so far (by index and by scan), once the one backend has
/// flushed what it counted.
async fn rows_read(tenant: &TenantDb, table: &str) -> i64 {
    let tx = tenant.begin().await.unwrap();
    tx.query("select pg_stat_force_next_flush()", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tx = tenant.begin().await.unwrap();
    let read: i64 = tx
        .query_one(
            "select (select coalesce(sum(idx_tup_read), 0) from pg_stat_user_indexes \
                     where schemaname = 't_acme' and relname = $1)::int8 \
                  + (select coalesce(seq_tup_read, 0) from pg_stat_user_tables \
                     where schemaname = 't_acme' and relname = $1)",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    tx.commit().await.unwrap();
    read
}

/// Reads a whole list page by page, checking it hands out as many rows as it holds,
/// and answers how many rows of `table` PostgreSQL read for it.
async fn read_whole<T, F>(tenant: &TenantDb, table: &str, list: F) -> i64
where
    F: AsyncFn(PageRequest) -> Result<Page<T>, DomainError>,
{
    let before = rows_read(tenant, table).await;
    let (mut cursor, mut seen, mut pages) = (None::<String>, 0, 0);
    loop {
        let request = PageRequest::parse(Some(PAGE), cursor.as_deref(), PAGE).unwrap();
        let page = list(request).await.unwrap();
        seen += page.items.len() as i64;
        pages += 1;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ROWS, "{table}: rows handed out");
    assert_eq!(pages, ROWS / PAGE, "{table}: pages");
    rows_read(tenant, table).await - before
}

#[tokio::test]
async fn reading_a_whole_list_by_pages_reads_each_row_about_once_in_generic_plans() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let tenant = generic_plans_only(&db).await;
    let client = db.client().await;
    let owner: Uuid = client
        .query_one("select id from t_acme.users", &[])
        .await
        .unwrap()
        .get(0);
    let system = Principal::System("test");
    let tx = tenant.begin().await.unwrap();
    let contract = contracts::insert_contract(
        &tx,
        &system,
        &Origin::job(1, "test"),
        serde_json::from_value(json!({
            "title": "Long thread", "contract_type": "nda", "body": "x", "owner_id": owner
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    client
        .batch_execute(&format!(
            "insert into t_acme.comments (target_kind, target_id, body, created_at) \
                 select 'contract', '{id}', 'comment ' || i, now() + i * interval '1 ms' \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.contract_versions (contract_id, version, title, body, created_by) \
                 select contract_id, v, title, body, created_by \
                 from t_acme.contract_versions, generate_series(2, {ROWS}) v \
                 where contract_id = '{id}';
             insert into t_acme.audit_logs (action, entity, actor_kind) \
                 select 'update', 'contract', 'system' from generate_series(1, {ROWS}) \
                 offset (select count(*) from t_acme.audit_logs);
             analyze t_acme.comments; analyze t_acme.contract_versions; \
             analyze t_acme.audit_logs;",
            id = contract.id
        ))
        .await
        .unwrap();

    let target = Target::new(&CONTRACT_TARGET, contract.id);
    let comments = read_whole(&tenant, "comments", async |page| {
        pactum::comments::service::list(&tenant, &system, target, &page).await
    })
    .await;
    let versions = read_whole(&tenant, "contract_versions", async |page| {
        contracts::versions::list(&tenant, &system, contract.id, &page).await
    })
    .await;
    let audit_query = serde_json::from_value(json!({})).unwrap();
    let audit = read_whole(&tenant, "audit_logs", async |page| {
        pactum::audit::log::list(&tenant, &system, &audit_query, &page).await
    })
    .await;
    // Each page reads its rows and the one after; a bound read as a filter would read
    // every row before the cursor: about ROWS * ROWS / (2 * PAGE), 45,000 here.
    for (table, read) in [
        ("comments", comments),
        ("contract_versions", versions),
        ("audit_logs", audit),
    ] {
        assert!(
            read <= 2 * ROWS,
            "{table}: {read} rows read to page through {ROWS}"
        );
    }
}

/// Lists whose optional filters a generic plan cannot fold away (a known gap) read only
/// their pages in the plans PostgreSQL chooses for itself, unfiltered: each page from
/// the index of its order, which the leads list lacked (every page sorted all of the
/// tenant's leads: 90,000 rows read for 3,000) and the clause library had only in part
/// (by category: each page read its category's every clause to sort them by title).
#[tokio::test]
async fn lists_with_optional_filters_read_only_their_pages_in_the_plans_postgresql_chooses() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let tenant = one_connection(&db, "").await;
    db.client()
        .await
        .batch_execute(&format!(
            "insert into t_acme.leads (name, created_at) \
                 select 'Lead ' || i, now() - i * interval '1 minute' \
                 from generate_series(1, {ROWS}) i;
             insert into t_acme.counterparties (name) \
                 select 'Account ' || i from generate_series(1, {ROWS}) i;
             insert into t_acme.clauses (title, category, body) \
                 select 'Clause ' || i, (array['payment', 'liability', 'termination'])[1 + i % 3], \
                        'Text ' || i \
                 from generate_series(1, {ROWS}) i;
             analyze t_acme.leads; analyze t_acme.counterparties; analyze t_acme.clauses;"
        ))
        .await
        .unwrap();
    let system = Principal::System("test");
    let leads = read_whole(&tenant, "leads", async |page| {
        let unfiltered = Default::default();
        pactum::leads::service::list(&tenant, &system, &unfiltered, &page).await
    })
    .await;
    let accounts = read_whole(&tenant, "counterparties", async |page| {
        let unfiltered = Default::default();
        pactum::counterparties::service::list(&tenant, &system, &unfiltered, &page).await
    })
    .await;
    let clauses = read_whole(&tenant, "clauses", async |page| {
        pactum::clauses::service::list(&tenant, &system, None, &page).await
    })
    .await;
    for (table, read) in [
        ("leads", leads),
        ("counterparties", accounts),
        ("clauses", clauses),
    ] {
        assert!(
            read <= 2 * ROWS,
            "{table}: {read} rows read to page through {ROWS}"
        );
    }
}
