//! Vector sets evicted and reloaded under a tight budget, never crossing tenants, each
//! searched through its approximate (HNSW) index (sets over 100 vectors get one here;
//! the other intelligence tests search exactly).

use super::*;

/// A gauge's value in `/metrics`.
async fn gauge(app: &TestApp, name: &str) -> f64 {
    let text = app.get("localhost", "/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn searches_in_rotation_under_a_tight_budget_evict_and_reload_but_never_cross_tenants() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    // 1 MiB holds one or two tenants' 600 passages with their index (about 0.4 MiB
    // each: 404 bytes a vector in bytes and its key, about 300 of graph), never three.
    let app = spawn_app(
        &db,
        &[
            ("PACTUM_MODEL_DIR", dir.as_str()),
            ("PACTUM_VECTOR_MEMORY_MB", "1"),
            ("PACTUM_VECTOR_EXACT_MAX", "100"),
        ],
    )
    .await;
    let body: String = (0..600)
        .map(|i| format!("Clause {i}: the supplier shall deliver shipment number {i} to the warehouse on time.\n"))
        .collect();
    let mut tenants = Vec::new();
    for slug in ["acme", "globex", "initech"] {
        let t = tenant(&db, &app, slug).await;
        // The same text in every tenant.
        let id = create(&app, &t, "Delivery schedule", &body).await;
        tenants.push((t, id, format!("t_{slug}")));
    }
    for (_, _, schema) in &tenants {
        embedded(&db, schema).await;
    }
    let mut storm = Vec::new();
    for round in 0..18 {
        let (t, own, _) = &tenants[round % 3];
        let app = &app;
        storm.push(async move {
            let path = format!(
                "/api/v1/search/contracts?q=shipment%20{round}%20arrives%20late&mode=semantic"
            );
            let response = app.call(Method::GET, &t.host, &path, &t.admin, None).await;
            assert_eq!(response.status(), StatusCode::OK);
            let found: Value = response.json().await.unwrap();
            assert_eq!(
                ids(&found),
                [own.as_str()],
                "only its own contract: {found}"
            );
        });
        if round % 6 == 5 {
            // A wave of six at once, then the next: every set is loaded, dropped, reloaded.
            futures::future::join_all(std::mem::take(&mut storm)).await;
        }
    }
    assert!(
        gauge(&app, "pactum_vector_evictions").await > 0.0,
        "sets were dropped to fit"
    );
    let used = gauge(&app, "pactum_vector_memory_bytes").await;
    assert!(
        used > 0.0 && used <= 1024.0 * 1024.0,
        "{used} bytes, within 1 MiB"
    );
}

/// A search's query is embedded between the batches of a contract being indexed, not
/// after all of them.
#[tokio::test]
async fn a_query_is_embedded_between_an_indexing_jobs_batches() {
    use pactum::intelligence::engine::Engine;
    let engine = Engine::new(Some(model_dir().into()), 64 << 20, 10_000);
    engine.model().await.expect("the model loads");
    // Eight batches of the model's, seconds of work on this machine.
    let passages: Vec<String> = (0..8 * pactum_embedding::BATCH)
        .map(|i| format!("Clause {i}: the supplier shall deliver shipment {i} to the warehouse, insured, on time, or pay the agreed penalty."))
        .collect();
    let indexer = tokio::spawn({
        let engine = engine.clone();
        async move { engine.embed(passages).await.unwrap() }
    });
    // Let the indexing take its first turn.
    while engine.idle() {
        tokio::task::yield_now().await;
    }
    let (query, _) = engine
        .embed(vec!["late delivery penalty".into()])
        .await
        .unwrap();
    assert_eq!(query.len(), 1);
    assert!(
        !indexer.is_finished(),
        "the query waited for the whole indexing instead of one batch"
    );
    let (indexed, _) = indexer.await.unwrap();
    assert_eq!(indexed.len(), 8 * pactum_embedding::BATCH);
}
