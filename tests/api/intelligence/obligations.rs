//! A contract's obligations through the server, without a model: each sentence that
//! binds a party, with its due time; a redacted original's are refused to the viewer it
//! is kept from; an unknown contract is a 404.

use super::*;

#[tokio::test]
async fn the_sentences_that_bind_a_party_are_listed_with_their_due_times() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let id = create(
        &app,
        &acme,
        "Hosting",
        "Customer shall pay each invoice within thirty (30) days of receipt of the invoice.\n\
         The Supplier must deliver a service report monthly.\n\
         This Agreement shall continue for one year.",
    )
    .await;
    let path = format!("/api/v1/contracts/{id}/obligations");
    let viewer = viewer(&app, &acme).await;
    let (status, found) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let list = found["obligations"].as_array().unwrap();
    let parties: Vec<&str> = list.iter().map(|o| o["party"].as_str().unwrap()).collect();
    assert_eq!(parties, ["Customer", "The Supplier"], "{found}");
    assert_eq!(
        list[0]["due"],
        json!({"within_days": 30, "after": "receipt of the invoice"})
    );
    assert_eq!(list[1]["due"], json!({"recurs": "monthly"}));
    assert_eq!(list[0]["attachment_id"], Value::Null);

    restrict_original(&app, &acme, &id).await;
    assert_eq!(
        json(&app, &acme, &viewer, Method::GET, &path, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::GET, &path, None)
            .await
            .0,
        StatusCode::OK
    );
    let unknown = format!("/api/v1/contracts/{}/obligations", uuid::Uuid::new_v4());
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::GET, &unknown, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
