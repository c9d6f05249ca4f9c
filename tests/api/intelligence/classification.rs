//! A contract's passages by clause category: with the model, a passage with none of a
//! category's words is placed by its nearest clauses in the tenant's own library; without
//! it, words decide, and so they do for a passage in another language than the model's;
//! a viewer the redacted original is kept from is refused.

use super::*;

/// A cap on damages in words no rule knows: only the library can place it.
const CAP: &str = "The most either side can ever be made to pay the other, whatever happens, is what was charged over the prior year.";
const LAW: &str = "This agreement is governed by the laws of Scotland and its courts decide.";

async fn classification(app: &TestApp, t: &Tenant, token: &str, id: &str) -> (StatusCode, Value) {
    json(
        app,
        t,
        token,
        Method::GET,
        &format!("/api/v1/contracts/{id}/classification"),
        None,
    )
    .await
}

/// `id`'s classification once the model has read both it and the library.
async fn classified_by_the_library(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, found) = classification(app, t, &t.admin, id).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        if found["model"].is_string() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the library was never read: {found}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn category_of<'a>(found: &'a Value, text: &str) -> &'a Value {
    found["passages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["text"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no passage with {text:?} in {found}"))
}

#[tokio::test]
async fn passages_are_placed_by_the_tenants_own_library_and_by_words() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;
    let mut cap = Value::Null;
    for (title, category, body) in [
        ("Damages ceiling", "liability", "The aggregate amount either side can be made to pay for losses is capped at one year of charges."),
        ("Net 30", "payment", "Invoices are payable within thirty days of receipt."),
        ("Secrecy", "confidentiality", "Each party keeps the other's business secrets to itself."),
    ] {
        let clause = library_clause(&app, &acme, title, category, body).await;
        if category == "liability" {
            cap = clause["id"].clone();
        }
    }
    let id = create(&app, &acme, "Hosting", &format!("{CAP}\n\n{LAW}")).await;
    embedded(&db, "t_acme").await;
    let found = classified_by_the_library(&app, &acme, &id).await;
    let placed = category_of(&found, "made to pay");
    assert_eq!(
        (placed["category"].as_str(), placed["method"].as_str()),
        (Some("liability"), Some("library")),
        "{found}"
    );
    assert_eq!(placed["nearest"]["id"], cap);
    assert!(placed["confidence"].as_f64().unwrap() > 0.0);
    assert_eq!(category_of(&found, "Scotland")["category"], "governing_law");

    // Without the model the words decide, and the cap goes unplaced.
    let words_only = spawn_app(&db, &[]).await;
    let admin = words_only
        .access_token(&acme.host, "admin@example.com", PASSWORD)
        .await;
    let (status, found) = classification(&words_only, &acme, &admin, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["model"], Value::Null);
    let passages = found["passages"].as_array().unwrap();
    assert_eq!(passages.len(), 1, "{found}");
    assert_eq!(
        (
            passages[0]["category"].as_str(),
            passages[0]["method"].as_str()
        ),
        (Some("governing_law"), Some("words"))
    );

    // A redacted original's passages are kept from the viewer it is kept from.
    let viewer = viewer(&app, &acme).await;
    assert_eq!(
        classification(&app, &acme, &viewer, &id).await.0,
        StatusCode::OK
    );
    restrict_original(&app, &acme, &id).await;
    assert_eq!(
        classification(&app, &acme, &viewer, &id).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        classification(&app, &acme, &acme.admin, &uuid::Uuid::new_v4().to_string())
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn restrictive_covenants_assignment_and_renewal_are_categories_of_their_own() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    // The library keeps clauses of each, so the tenant can teach them.
    for category in ["non_compete", "assignment", "auto_renewal"] {
        let clause = library_clause(&app, &acme, category, category, "A standard clause.").await;
        assert_eq!(clause["category"], category);
    }
    let body = "Neither party may assign this Agreement without the other's written consent.\n\n\
                For twelve months after it ends, the Supplier shall not solicit the Customer's clients.\n\n\
                This Agreement renews automatically for successive one-year terms.";
    let id = create(&app, &acme, "Supply", body).await;
    let (status, found) = classification(&app, &acme, &acme.admin, &id).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    for (text, category) in [
        ("assign this Agreement", "assignment"),
        ("solicit", "non_compete"),
        ("renews automatically", "auto_renewal"),
    ] {
        assert_eq!(category_of(&found, text)["category"], category, "{found}");
    }
}

#[tokio::test]
async fn passages_in_other_languages_are_placed_by_their_words_beside_an_english_library() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;
    for (category, body) in [
        (
            "liability",
            "Each party's total liability shall not exceed the fees paid.",
        ),
        (
            "governing_law",
            "This Agreement is governed by the laws of England.",
        ),
        (
            "confidentiality",
            "Each party shall keep the other's information secret.",
        ),
        (
            "payment",
            "The Customer shall pay each invoice within thirty days.",
        ),
    ] {
        library_clause(&app, &acme, category, category, body).await;
    }
    let body = "§ 4 Haftung\nDie Haftung des Auftragnehmers ist auf die jährliche Vergütung begrenzt.\n\n\
                Article 5 – Confidentialité\nLes parties s'engagent à garder confidentielles les informations échangées.\n\n\
                Décima. Este contrato se regirá por la legislación española y las partes se someten a los tribunales de Madrid.";
    let id = create(&app, &acme, "Rahmenvertrag", body).await;
    embedded(&db, "t_acme").await;
    let found = classified_by_the_library(&app, &acme, &id).await;
    for (text, category) in [
        ("Haftung des Auftragnehmers", "liability"),
        ("garder confidentielles", "confidentiality"),
        ("legislación española", "governing_law"),
    ] {
        let placed = category_of(&found, text);
        assert_eq!(
            (placed["category"].as_str(), placed["method"].as_str()),
            (Some(category), Some("words")),
            "{found}"
        );
    }
}

#[tokio::test]
async fn a_paragraph_holding_two_clauses_is_placed_in_both() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let body = "This Agreement is governed by the laws of Scotland. Any dispute goes to the courts of Edinburgh.\n\n\
                Dieser Vertrag unterliegt deutschem Recht. Für alle Streitigkeiten ist das Landgericht München zuständig.\n\n\
                Upon termination, the Customer pays the fees accrued.";
    let id = create(&app, &acme, "Supply", body).await;
    let (status, found) = classification(&app, &acme, &acme.admin, &id).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let placements = |text: &str| {
        let placed = category_of(&found, text);
        let mut all = vec![placed["category"].as_str().unwrap().to_owned()];
        for secondary in placed["secondary"].as_array().unwrap() {
            assert!(secondary["confidence"].as_f64().unwrap() > 0.0, "{found}");
            all.push(secondary["category"].as_str().unwrap().to_owned());
        }
        all.sort();
        all
    };
    for text in ["Scotland", "deutschem Recht"] {
        assert_eq!(
            placements(text),
            ["dispute_resolution", "governing_law"],
            "{found}"
        );
    }
    // One sentence naming two categories as often is about neither on its own.
    assert_eq!(placements("Upon termination").len(), 1, "{found}");
}
