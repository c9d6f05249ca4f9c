//! Readings that jobs store (obligation tasks, term suggestions, risk findings) follow
//! the rules of the release that made them. The first instance to start with rules of
//! a newer edition reads every contract of each tenant behind it again, once: two
//! instances starting together walk a tenant once, a later start not at all, and a
//! tenant already at the edition not at all.

use super::*;

/// How many walks `slug`'s contracts have had.
async fn walks(db: &TestDb, slug: &str) -> i64 {
    db.client()
        .await
        .query_one(
            "select count(*) from public.jobs j join public.tenants t on t.id = j.tenant_id \
             where t.slug = $1 and j.kind = 'intelligence.reread'",
            &[&slug],
        )
        .await
        .unwrap()
        .get(0)
}

/// Records `edition` as the rules `slug`'s contracts were last read by.
async fn read_by(db: &TestDb, slug: &str, edition: i32) {
    db.client()
        .await
        .execute(
            "insert into public.reader_editions (tenant_id, reader, edition) \
             select id, 'intelligence.rules', $2 from public.tenants where slug = $1 \
             on conflict (tenant_id, reader) do update set edition = excluded.edition",
            &[&slug, &edition],
        )
        .await
        .unwrap();
}

/// `contract`'s open obligation tasks once there are `n`.
async fn open_tasks(app: &TestApp, t: &Tenant, contract: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/contracts/{contract}/obligation-tasks?status=open");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, page) = json(app, t, &t.admin, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() == n {
            return items;
        }
        assert!(Instant::now() < deadline, "{n} open tasks; got {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn contracts_read_by_older_rules_are_read_again_once_by_the_next_start() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let globex = tenant(&db, &app, "globex").await;
    let body = "§ 1 Der Mieter leistet bis zum 1. Juli 2027 eine Kaution.";
    let lease = create(&app, &acme, "Mietvertrag", body).await;
    let kept = create(&app, &globex, "Mietvertrag", body).await;
    let task = open_tasks(&app, &acme, &lease, 1).await;
    assert_eq!(task[0]["due_date"], "2027-07-01", "{task:?}");
    open_tasks(&app, &globex, &kept, 1).await;

    // As an older release would have left them: acme's contract read without the
    // task these rules find, and an older edition recorded; globex up to date.
    db.client()
        .await
        .execute("delete from t_acme.obligation_tasks", &[])
        .await
        .unwrap();
    read_by(&db, "acme", 0).await;
    read_by(&db, "globex", pactum::intelligence::reading::EDITION).await;
    open_tasks(&app, &acme, &lease, 0).await;

    let (second, _third) = tokio::join!(spawn_app(&db, &[]), spawn_app(&db, &[]));
    let task = open_tasks(&second, &acme, &lease, 1).await;
    assert_eq!(task[0]["due_date"], "2027-07-01", "{task:?}");
    assert_eq!(
        walks(&db, "acme").await,
        1,
        "two instances starting together"
    );
    assert_eq!(walks(&db, "globex").await, 0, "a tenant at the edition");

    let _fourth = spawn_app(&db, &[]).await;
    assert_eq!(walks(&db, "acme").await, 1, "a later start");
    let edition: i32 = db
        .client()
        .await
        .query_one(
            "select e.edition from public.reader_editions e join public.tenants t \
             on t.id = e.tenant_id where t.slug = 'acme' and e.reader = 'intelligence.rules'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(edition, pactum::intelligence::reading::EDITION);
}
