//! The language each text is stemmed in: told by its words, or set by a person.

use super::*;

#[tokio::test]
async fn search_stems_each_contract_and_file_in_its_own_language() {
    use super::reading::{attach, found, read_text};
    let clm = Clm::new().await;
    let mut ids = Vec::new();
    for (title, body) in [
        ("Rahmenvertrag", "Die Verträge werden von der Kundin und dem Lieferanten nicht gekündigt, und die Zahlungen sind mit den Rechnungen fällig."),
        ("Contrat cadre", "Les résiliations des contrats sont notifiées par le prestataire et les paiements sont dus à la réception des factures."),
        ("Contrato marco", "Los contratos se renuevan y las obligaciones del proveedor son las que se indican en los pedidos."),
        ("Master agreement", "The payments are due and the supplier shall deliver the goods to the customer."),
    ] {
        let created = clm
            .create(&clm.member, json!({"title": title, "contract_type": "nda", "body": body}))
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let [german, french, spanish, english] = [&ids[0], &ids[1], &ids[2], &ids[3]];
    let client = clm.db.client().await;
    let languages = async || -> Vec<String> {
        let sql = "select text_language from t_acme.contracts order by created_at";
        let rows = client.query(sql, &[]).await.unwrap();
        rows.iter().map(|row| row.get(0)).collect()
    };
    assert_eq!(
        languages().await,
        ["german", "french", "spanish", "english"]
    );
    // Texts written before the language was kept get the same one at the upgrade.
    let migration = include_str!("../../../migrations/tenant/V53__text_language.sql");
    let backfill = migration
        .split(";\n")
        .find(|statement| statement.trim_start().starts_with("update contracts"))
        .expect("the upgrade gives contracts their language");
    client
        .batch_execute(&format!(
            "begin; set local search_path = t_acme; \
             update contracts set text_language = 'english'; {backfill}; commit"
        ))
        .await
        .unwrap();
    assert_eq!(
        languages().await,
        ["german", "french", "spanish", "english"]
    );

    // Another form of a word finds the text its language stems it in.
    assert_eq!(found(&clm, "Vertrag").await, [german.as_str()]);
    assert_eq!(found(&clm, "Rechnung").await, [german.as_str()]);
    assert_eq!(found(&clm, "résiliation").await, [french.as_str()]);
    assert_eq!(
        found(&clm, "contrato%20obligaci%C3%B3n").await,
        [spanish.as_str()]
    );
    assert_eq!(found(&clm, "payment").await, [english.as_str()]);
    // Exclusion is exact in each language.
    assert!(found(&clm, "Vertrag%20-Zahlung").await.is_empty());
    assert_eq!(found(&clm, "paiement").await, [french.as_str()]);
    assert!(found(&clm, "paiement%20-contrat").await.is_empty());

    // A file's pages are stemmed in their own language too.
    let file = attach(
        &clm,
        english,
        "anlage.txt",
        "text/plain",
        "Die Haftungen der Parteien sind auf die Entgelte eines Jahres begrenzt und die Lieferungen sind versichert."
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(read_text(&clm, &file).await["state"], "extracted");
    assert_eq!(found(&clm, "Haftung").await, [english.as_str()]);
}

#[tokio::test]
async fn a_person_sets_the_language_a_text_is_stemmed_in_and_it_holds_through_edits() {
    use super::reading::found;
    let clm = Clm::new().await;
    // Too short for its common words to tell: stemmed as English, so "Vertrag" misses.
    let created = clm
        .create(
            &clm.member,
            json!({"title": "Liefervertrag", "contract_type": "nda", "body": "Verträge über Lieferungen."}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/contracts/{id}");
    let language = |view: &Value| {
        (
            view["text_language"].as_str().unwrap().to_owned(),
            view["text_language_source"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(language(&created), ("en".into(), "detected".into()));
    assert!(found(&clm, "Vertrag").await.is_empty());
    let patch = async |body: Value| {
        clm.json(Method::PATCH, &path, &clm.member, Some(body))
            .await
    };

    let (status, set) = patch(json!({"version": 1, "text_language": "de"})).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(language(&set), ("de".into(), "set".into()));
    assert_eq!(found(&clm, "Vertrag").await, [id.as_str()]);

    // An edit whose words are English keeps what the person set.
    let english = "The Verträge are kept by the supplier and the customer, and this is the text.";
    let (status, edited) = patch(json!({"version": 2, "body": english})).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(language(&edited), ("de".into(), "set".into()));

    // A language it does not know, or not a string, is refused and changes nothing.
    for hostile in [
        json!("klingon"),
        json!("german"),
        json!(7),
        json!({"de": true}),
    ] {
        let (status, refused) = patch(json!({"version": 3, "text_language": hostile})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hostile}: {refused}");
        assert!(refused["error"].is_string(), "{refused}");
    }
    let (_, unchanged) = clm.json(Method::GET, &path, &clm.member, None).await;
    assert_eq!(
        (unchanged["version"].as_i64(), language(&unchanged)),
        (Some(3), ("de".into(), "set".into()))
    );

    // Null hands it back to the words.
    let (status, cleared) = patch(json!({"version": 3, "text_language": null})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(language(&cleared), ("en".into(), "detected".into()));
    assert!(found(&clm, "Vertrag").await.is_empty());

    // Set at creation, and changed on a contract whose terms are locked.
    let french = clm
        .create(
            &clm.member,
            json!({"title": "Cadre", "contract_type": "nda", "body": "Résiliations.", "text_language": "fr"}),
        )
        .await;
    assert_eq!(language(&french), ("fr".into(), "set".into()));
    let executed = contract_in(&clm, "executed").await;
    let path = format!("/api/v1/contracts/{executed}");
    let (_, view) = clm.json(Method::GET, &path, &clm.member, None).await;
    let (status, locked) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": view["version"], "text_language": "es"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    assert_eq!(language(&locked), ("es".into(), "set".into()));
}

#[tokio::test]
async fn a_person_sets_the_language_of_a_files_pages_now_and_for_pages_read_later() {
    use super::reading::{attach, first_pages, found, read_text};
    use pactum::kernel::jobs::admin::{self, PauseScope};
    let clm = Clm::new().await;
    let contract = clm
        .create(
            &clm.member,
            json!({"title": "Supply", "contract_type": "nda", "body": "The supplier shall deliver the goods."}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Too short for its common words to tell: stemmed as English, so "Vertrag" misses.
    let short = "Verträge über Lieferungen.".as_bytes().to_vec();
    let file = attach(&clm, &contract, "anlage.txt", "text/plain", short.clone()).await;
    assert_eq!(read_text(&clm, &file).await["state"], "extracted");
    let page_languages = async |file: &str| -> Vec<String> {
        let pages = first_pages(&clm, file).await;
        let languages = pages
            .iter()
            .map(|p| p["text_language"].as_str().unwrap().to_owned());
        languages.collect()
    };
    assert_eq!(page_languages(&file).await, ["en"]);
    assert!(found(&clm, "Vertrag").await.is_empty());
    let path = format!("/api/v1/attachments/{file}");
    let patch =
        async |user: &str, body: Value| clm.json(Method::PATCH, &path, user, Some(body)).await;

    // Only someone who may edit the contract changes its files.
    for user in [&clm.viewer, &clm.other_member] {
        let (status, refused) = patch(user, json!({"text_language": "de"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    }
    let (status, set) = patch(&clm.member, json!({"text_language": "de"})).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["text_language"], "de");
    assert_eq!(page_languages(&file).await, ["de"]);
    assert_eq!(found(&clm, "Vertrag").await, [contract.as_str()]);

    // Hostile values and shapes are refused and change nothing.
    for hostile in [
        json!({"text_language": "klingon"}),
        json!({"text_language": "german"}),
        json!({"text_language": 7}),
        json!({"text_language": {"de": true}}),
        json!({"language": "en"}),
        json!(["en"]),
    ] {
        let (status, refused) = patch(&clm.member, hostile.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hostile}: {refused}");
        assert!(refused["error"].is_string(), "{refused}");
    }
    assert_eq!(page_languages(&file).await, ["de"]);
    let (status, missing) = clm
        .json(
            Method::PATCH,
            &format!("/api/v1/attachments/{}", uuid::Uuid::new_v4()),
            &clm.member,
            Some(json!({"text_language": "de"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    // Null hands each page back to its own words.
    let (status, cleared) = patch(&clm.manager, json!({"text_language": null})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(cleared["text_language"].is_null(), "{cleared}");
    assert_eq!(page_languages(&file).await, ["en"]);
    assert!(found(&clm, "Vertrag").await.is_empty());

    // Set before its text is read, the pages read later are stemmed in it.
    let client = clm.db.client().await;
    let paused = PauseScope::Tenant("acme".into());
    admin::pause(&client, &paused, chrono::Utc::now())
        .await
        .unwrap();
    let later = attach(&clm, &contract, "anhang.txt", "text/plain", short).await;
    let path = format!("/api/v1/attachments/{later}");
    let (status, set) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"text_language": "de"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    admin::resume(&client, &paused).await.unwrap();
    assert_eq!(read_text(&clm, &later).await["state"], "extracted");
    assert_eq!(page_languages(&later).await, ["de"]);
}

#[tokio::test]
async fn a_redacted_copy_is_stemmed_in_the_language_set_on_its_contract() {
    use super::reading::found;
    use super::redaction::redact_first_finding;
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({"title": "Annex", "contract_type": "nda", "body": "Verträge über Lieferungen an kontakt@example.com."}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["text_language"], "en");
    // The viewer, below the tenant's original role, searches the copy that stands in.
    let copy = redact_first_finding(&clm, &id, 1, true).await;
    assert!(
        !copy["body"].as_str().unwrap().contains("kontakt@"),
        "{copy}"
    );
    assert!(found(&clm, "Vertrag").await.is_empty());
    let path = format!("/api/v1/contracts/{id}");
    let (status, set) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 1, "text_language": "de"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(found(&clm, "Vertrag").await, [id.as_str()]);
    // A copy made while the language is set takes it at once.
    let newer = redact_first_finding(&clm, &id, 2, true).await;
    assert_ne!(newer["id"], copy["id"]);
    assert_eq!(found(&clm, "Vertrag").await, [id.as_str()]);
    let (status, cleared) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 2, "text_language": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(found(&clm, "Vertrag").await.is_empty());
}
