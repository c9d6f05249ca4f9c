//! The clause library by meaning, words and likeness.

use super::*;

#[tokio::test]
async fn library_clauses_are_found_by_meaning_and_by_likeness() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;
    let mut ids = Vec::new();
    for (title, category, body) in [
        ("Liability cap", "liability", "Neither party's total liability shall exceed the fees paid in the twelve months before the claim."),
        ("Net 30", "payment", "Invoices are payable within thirty days of receipt."),
        ("English law", "governing_law", "This agreement is governed by the laws of England."),
        ("Damages ceiling", "liability", "The aggregate amount either side can be made to pay for losses is capped at one year of charges."),
    ] {
        let clause = library_clause(&app, &acme, title, category, body).await;
        ids.push(clause["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let made: i64 = db
            .client()
            .await
            .query_one("select count(*) from t_acme.clause_vectors", &[])
            .await
            .unwrap()
            .get(0);
        if made == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "{made} of 4 clauses embedded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let clause_ids = |found: &Value| -> Vec<String> {
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["clause"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, found) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        "/api/v1/search/clauses?q=how%20late%20can%20we%20settle%20a%20bill&mode=semantic",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(clause_ids(&found)[0], ids[1], "{found}");
    let (_, words) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        "/api/v1/search/clauses?q=governed%20by%20the%20laws&mode=text",
        None,
    )
    .await;
    assert_eq!(clause_ids(&words), [ids[2].as_str()], "{words}");
    let (_, hybrid) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        "/api/v1/search/clauses?q=governed%20by%20the%20laws&mode=hybrid",
        None,
    )
    .await;
    assert_eq!(clause_ids(&hybrid)[0], ids[2], "{hybrid}");
    // The same limit in other words: closest in meaning, not in letters.
    let (status, like) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/clauses/{}/similar-in-meaning", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{like}");
    assert_eq!(clause_ids(&like)[0], ids[3], "{like}");
    assert!(!clause_ids(&like).contains(&ids[0]), "not itself");
    // An edit is read again.
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/clauses/{}", ids[2]),
        Some(json!({"body": "Invoices may be paid up to sixty days after they arrive."})),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, found) = json(&app, &acme, &acme.admin, Method::GET, "/api/v1/search/clauses?q=how%20late%20can%20we%20settle%20a%20bill&mode=semantic&limit=2", None).await;
        let mut top = clause_ids(&found);
        top.sort();
        let mut payment = vec![ids[1].clone(), ids[2].clone()];
        payment.sort();
        if top == payment {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edit was never read: {found}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!(
            "/api/v1/clauses/{}/similar-in-meaning",
            uuid::Uuid::new_v4()
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
