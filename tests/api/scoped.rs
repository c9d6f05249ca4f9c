//! The tenant-scoped handle on the server's pool (no reset at checkout) against a real
//! PostgreSQL: with a single connection shared by two tenants, nothing one unit of work
//! leaves behind (a dropped transaction, a failed read) reaches the next.

use crate::support::TestDb;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::scoped::TenantDb;
use pactum::tenancy::{Host, MigrationSet, SchemaName, TenantSlug};

const EMAILS: &str = "select email from users order by email";

async fn two_tenants_on_one_connection() -> (TestDb, TenantDb, TenantDb) {
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
    let url = db.database_url();
    let pool = url.request_pool(1).unwrap();
    let acme = TenantDb::new(pool.clone(), url.clone(), &schemas[0]);
    let globex = TenantDb::new(pool, url, &schemas[1]);
    (db, acme, globex)
}

async fn emails(db: &TenantDb) -> Vec<String> {
    db.read(&[(EMAILS, &[])]).await.unwrap()[0]
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn alternating_tenants_on_one_connection_each_see_only_their_own_rows() {
    let (_db, acme, globex) = two_tenants_on_one_connection().await;
    for _ in 0..10 {
        assert_eq!(emails(&acme).await, ["only@acme.example"]);
        assert_eq!(emails(&globex).await, ["only@globex.example"]);
        let tx = acme.begin().await.unwrap();
        let rows = tx.query(EMAILS, &[]).await.unwrap();
        assert_eq!(rows[0].get::<_, String>(0), "only@acme.example");
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_dropped_transaction_is_rolled_back_before_the_next_user_runs() {
    let (_db, acme, globex) = two_tenants_on_one_connection().await;
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
        emails(&acme).await,
        ["only@acme.example"],
        "the dropped insert never committed"
    );
}

#[tokio::test]
async fn a_failed_read_leaves_the_connection_clean_and_writes_are_refused_in_reads() {
    let (_db, acme, globex) = two_tenants_on_one_connection().await;
    acme.read(&[("select 1 / (select count(*) - count(*) from users)", &[])])
        .await
        .expect_err("division by zero");
    assert_eq!(emails(&globex).await, ["only@globex.example"]);

    let write = "insert into users (email, display_name, role) values ('w@acme.example', 'W', 'member') returning email";
    acme.read(&[(write, &[])])
        .await
        .expect_err("a read-only transaction refuses writes");
    assert_eq!(emails(&acme).await, ["only@acme.example"]);
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
    let (_db, acme, globex) = two_tenants_on_one_connection().await;
    for _ in 0..2 {
        // Twice: once with the statement still to be prepared, once cached.
        let slow = acme.read(&[("select pg_sleep(0.3), count(*) from users", &[])]);
        tokio::time::timeout(std::time::Duration::from_millis(50), slow)
            .await
            .expect_err("the read is cancelled while PostgreSQL sleeps");
        assert_eq!(emails(&globex).await, ["only@globex.example"]);
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
