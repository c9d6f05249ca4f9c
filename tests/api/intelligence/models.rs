//! What another model made, or none did, made again by the current one.

use super::*;

#[tokio::test]
async fn what_another_model_made_and_what_none_did_is_made_again_by_the_current_one() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    // Contracts written while the server had no model are never read...
    let plain = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &plain, "acme").await;
    let old = create(&plain, &acme, "Supply agreement", INDEMNITY).await;
    drop(plain);
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = Tenant {
        admin: app
            .access_token(&acme.host, "admin@example.com", PASSWORD)
            .await,
        ..acme
    };
    let new = create(&app, &acme, "Office lease", RENT).await;
    embedded_contract(&db, &new).await;
    // ...and passages another model made are stale: one is relabelled so.
    let client = db.client().await;
    client
        .execute(
            "update t_acme.contract_passages set model = 'an-older-model@0000' where contract_id = $1",
            &[&new.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    client
        .execute(
            "update t_acme.vector_state set model = 'an-older-model@0000'",
            &[],
        )
        .await
        .unwrap();
    // The first search by meaning sees it and sweeps both in the background.
    search(
        &app,
        &acme,
        &acme.admin,
        "q=defective%20goods&mode=semantic",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = client
            .query_one(
                "select count(*) filter (where model <> 'an-older-model@0000'), \
                        count(*) filter (where model = 'an-older-model@0000'), \
                        count(distinct contract_id) from t_acme.contract_passages",
                &[],
            )
            .await
            .unwrap();
        let (current, stale, contracts): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if stale == 0 && contracts == 2 && current > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stale} stale passages, {contracts} contracts read"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let found = search(
        &app,
        &acme,
        &acme.admin,
        "q=defective%20goods&mode=semantic",
    )
    .await;
    assert_eq!(ids(&found)[0], old, "{found}");
}

/// Waits until `contract` has passages.
async fn embedded_contract(db: &TestDb, contract: &str) {
    let id: uuid::Uuid = contract.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = db
            .client()
            .await
            .query_one(
                "select count(*) from t_acme.contract_passages where contract_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{contract} never embedded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
