//! Contracts by meaning, words and likeness, across two tenants, with a redacted original.

use super::*;

#[tokio::test]
async fn contracts_are_found_by_meaning_and_likeness_and_never_across_tenants() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;
    let globex = tenant(&db, &app, "globex").await;

    let supply = create(
        &app,
        &acme,
        "Supply agreement",
        &format!("{INDEMNITY}\n\n{LAW}"),
    )
    .await;
    let lease = create(&app, &acme, "Office lease", RENT).await;
    let consulting = create(&app, &acme, "Consulting agreement", NOTICE).await;
    let reworded = create(
        &app,
        &acme,
        "Parts purchase",
        "The vendor will compensate the buyer for any loss caused by faulty parts it supplied.",
    )
    .await;
    // The same texts in another tenant.
    let twin = create(
        &app,
        &globex,
        "Supply agreement",
        &format!("{INDEMNITY}\n\n{LAW}"),
    )
    .await;
    create(&app, &globex, "Office lease", RENT).await;
    embedded(&db, "t_acme").await;
    embedded(&db, "t_globex").await;

    // Meaning: no word of the query is in the clause it finds.
    let query = "q=who%20pays%20when%20products%20are%20broken&mode=semantic";
    let found = search(&app, &acme, &acme.admin, query).await;
    let order = ids(&found);
    assert!(
        order[..2].contains(&supply) && order[..2].contains(&reworded),
        "the two indemnities first: {found}"
    );
    assert!(order.contains(&lease) && order.contains(&consulting));
    let best = &found["items"][0]["passages"][0];
    assert!(
        best["text"].as_str().unwrap().contains("indemnify")
            || best["text"].as_str().unwrap().contains("compensate"),
        "{best}"
    );
    let text = search(
        &app,
        &acme,
        &acme.admin,
        "q=who%20pays%20when%20products%20are%20broken&mode=text",
    )
    .await;
    assert!(ids(&text).is_empty(), "no keyword matches: {text}");
    // Hybrid: words and meaning together; the words' best stays near the top.
    let hybrid = search(&app, &acme, &acme.admin, "q=governing%20law&mode=hybrid").await;
    assert_eq!(ids(&hybrid)[0], supply, "{hybrid}");
    assert!(hybrid["items"][0]["passages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("England"));

    // Likeness: the same promise in other words.
    let (status, like) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{supply}/similar"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{like}");
    assert_eq!(ids(&like)[0], reworded, "{like}");
    assert!(!ids(&like).contains(&supply), "not itself");

    // Never across tenants: identical texts, searched at once while one re-indexes.
    let globex_ids = ids(&search(
        &app,
        &globex,
        &globex.admin,
        "q=defective%20goods&mode=semantic",
    )
    .await);
    assert_eq!(globex_ids[0], twin);
    let mut storm = Vec::new();
    for round in 0..12 {
        let (t, expect_not) = if round % 2 == 0 {
            (&acme, &twin)
        } else {
            (&globex, &supply)
        };
        let path = format!(
            "/api/v1/search/contracts?q=indemnity%20for%20defective%20goods%20{round}&mode=hybrid"
        );
        let app = &app;
        storm.push(async move {
            let response = app.call(Method::GET, &t.host, &path, &t.admin, None).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            assert!(
                !ids(&body).contains(expect_not),
                "another tenant's contract: {body}"
            );
            body
        });
    }
    let lease_path = format!("/api/v1/contracts/{lease}");
    let edit = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &lease_path,
        Some(json!({"version": 1, "body": format!("{RENT}\nThe landlord repairs the roof.")})),
    );
    let (_, (status, _)) = tokio::join!(futures::future::join_all(storm), edit);
    assert_eq!(status, StatusCode::OK);
    // The new text is read again by its job, and found.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = search(&app, &acme, &acme.admin, "q=roof%20repairs&mode=semantic").await;
        if found["items"][0]["passages"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("roof"))
        {
            assert_eq!(ids(&found)[0], lease);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edit was never embedded: {found}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let acme_passages: i64 = db
        .client()
        .await
        .query_one(
            "select count(*) from t_acme.contract_passages p where not exists \
             (select 1 from t_acme.contracts c where c.id = p.contract_id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        acme_passages, 0,
        "every passage belongs to its own tenant's contract"
    );

    // A redacted original's passages are kept from the readers it is kept from; they
    // find the contract by the passages of the copy shown in its place.
    let viewer = viewer(&app, &acme).await;
    let (_, preview) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{reworded}/redaction-preview"),
        None,
    )
    .await;
    assert_eq!(preview["findings"], json!([]));
    restrict_original(&app, &acme, &reworded).await;
    let warranty = create(
        &app,
        &acme,
        "Parts warranty",
        "The vendor repairs or replaces, free of charge, any part that stops working \
         within two years. Send warranty claims to warranty.desk@vendor.example.",
    )
    .await;
    embedded(&db, "t_acme").await;
    redact_email(&app, &acme, &db, &warranty).await;
    let passage = |found: &Value, id: &str| -> String {
        let item = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["contract"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} not found: {found}"));
        item["passages"][0]["text"].as_str().unwrap().to_owned()
    };
    let broken = "q=a%20part%20breaks%20in%20the%20first%20year&mode=semantic";
    let as_viewer = search(&app, &acme, &viewer, broken).await;
    let as_admin = search(&app, &acme, &acme.admin, broken).await;
    assert!(passage(&as_admin, &warranty).contains("warranty.desk@vendor.example"));
    let shown = passage(&as_viewer, &warranty);
    assert!(
        shown.contains("repairs or replaces") && !shown.contains("warranty.desk"),
        "the viewer reads the copy's passage: {shown}"
    );
    assert!(ids(&search(&app, &acme, &viewer, query).await).contains(&reworded));
    let hybrid = search(
        &app,
        &acme,
        &viewer,
        "q=warranty%20claims%20desk&mode=hybrid",
    )
    .await;
    assert!(
        !hybrid.to_string().contains("warranty.desk"),
        "nothing of the original reaches the viewer: {hybrid}"
    );
    let (status, _) = json(
        &app,
        &acme,
        &viewer,
        Method::GET,
        &format!("/api/v1/contracts/{reworded}/similar"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad input is a 400 naming it; an unknown contract a 404.
    for bad in [
        "q=&mode=semantic".to_owned(),
        "q=x&mode=telepathy".to_owned(),
        "q=x&limit=0".to_owned(),
        "q=x&limit=51".to_owned(),
        format!("q={}", "x".repeat(501)),
        "q=x&extra=1".to_owned(),
        "mode=semantic".to_owned(),
    ] {
        let (status, error) = json(
            &app,
            &acme,
            &acme.admin,
            Method::GET,
            &format!("/api/v1/search/contracts?{bad}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{}/similar", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
