//! Where the words matched: a search by words shows each contract's passages holding
//! them, in its body or on the page of a file, and a reader an original is kept from
//! sees the passages of the copy shown in its place.

use super::*;

const DISPUTES: &str = "Any dispute goes to arbitration in Geneva under the Swiss Rules.";

/// Attaches a plain-text file to `contract`; form feeds split its pages.
async fn attach(app: &TestApp, t: &Tenant, contract: &str, name: &str, text: &str) -> String {
    let part = reqwest::multipart::Part::bytes(text.as_bytes().to_vec())
        .file_name(name.to_owned())
        .mime_str("text/plain")
        .unwrap();
    let response = app
        .request(
            Method::POST,
            &t.host,
            &format!("/api/v1/contracts/{contract}/attachments"),
        )
        .bearer_auth(&t.admin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// The passages shown for contract `id` in `found`.
fn passages_of(found: &Value, id: &str) -> Vec<Value> {
    found["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["contract"]["id"] == id)
        .unwrap_or_else(|| panic!("{id} not found: {found}"))["passages"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_search_by_words_shows_the_passages_and_the_file_page_holding_them() {
    let db = TestDb::migrated().await;
    let dir = model_dir();
    let app = spawn_app(&db, &[("PACTUM_MODEL_DIR", dir.as_str())]).await;
    let acme = tenant(&db, &app, "acme").await;

    let in_body = create(
        &app,
        &acme,
        "Services agreement",
        &format!("{RENT}\n\n{NOTICE}\n\n{DISPUTES}"),
    )
    .await;
    let with_file = create(&app, &acme, "Supply agreement", INDEMNITY).await;
    let annex_pages = [
        "Annex A. Deliveries arrive on weekdays at the loading dock. ".repeat(16),
        "Annex B. Disputes are settled by arbitration in Geneva.".to_owned(),
        "Annex C. Notices are sent by registered letter to the address above. ".repeat(14),
    ];
    let annex = attach(
        &app,
        &acme,
        &with_file,
        "annex.txt",
        &annex_pages.join("\u{c}"),
    )
    .await;
    let unrelated = create(&app, &acme, "Office lease", RENT).await;
    embedded(&db, "t_acme").await;
    db.until_none(
        "select count(*) from t_acme.attachments a where not exists \
         (select 1 from t_acme.contract_passages p where p.attachment_id = a.id)",
        Duration::from_secs(120),
        "the annex was never read into passages",
    )
    .await;

    let unparsed: i64 = db
        .client()
        .await
        .query_one(
            "select count(*) from t_acme.contract_passages where words is null or words_language is null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unparsed, 0, "every passage's words are stored with it");

    let found = search(&app, &acme, &acme.admin, "q=arbitration%20Geneva&mode=text").await;
    let order = ids(&found);
    assert!(
        order.contains(&in_body) && order.contains(&with_file) && !order.contains(&unrelated),
        "{found}"
    );
    let body = &passages_of(&found, &in_body)[0];
    assert_eq!(body["matched_by"], "words", "{body}");
    assert_eq!(body["attachment_id"], Value::Null);
    assert_eq!(
        (&body["page"], &body["last_page"]),
        (&Value::Null, &Value::Null)
    );
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("arbitration in Geneva"));
    assert!(body["score"].as_f64().unwrap() > 0.0, "{body}");
    // The file's passage says which pages of the file it runs over: the second, where
    // the words are, among them, and each page where its offsets fall in the file's
    // text (its pages joined by a blank line).
    let file = &passages_of(&found, &with_file)[0];
    assert_eq!(file["attachment_id"], annex.as_str(), "{file}");
    assert!(file["text"]
        .as_str()
        .unwrap()
        .contains("arbitration in Geneva"));
    let page_of = |offset: i64| {
        let mut first = 0;
        let mut page = 0;
        for (number, text) in (1..).zip(&annex_pages) {
            if first > offset {
                break;
            }
            page = number;
            first += text.chars().count() as i64 + 2;
        }
        page
    };
    let (start, end) = (
        file["start"].as_i64().unwrap(),
        file["end"].as_i64().unwrap(),
    );
    assert_eq!(file["page"], page_of(start), "{file}");
    assert_eq!(file["last_page"], page_of(end - 1), "{file}");
    assert!(
        file["page"].as_i64() <= Some(2) && file["last_page"].as_i64() >= Some(2),
        "{file}"
    );

    // Hybrid: every result shows why, by meaning or by its words; a contract found by
    // its words alone shows the passage holding them.
    let hybrid = search(
        &app,
        &acme,
        &acme.admin,
        "q=arbitration%20Geneva&mode=hybrid",
    )
    .await;
    for item in hybrid["items"].as_array().unwrap() {
        let shown = item["passages"].as_array().unwrap();
        assert!(!shown.is_empty(), "no passage shown: {item}");
        for passage in shown {
            assert!(
                passage["matched_by"] == "meaning" || passage["matched_by"] == "words",
                "{passage}"
            );
            if passage["matched_by"] == "words" {
                assert!(passage["text"].as_str().unwrap().contains("Geneva"));
            }
        }
    }

    // Each passage's words are read in its text's language: "Vertrag" holds in the
    // German "Verträge", which English stemming leaves apart. Set to English first,
    // the passage's words are stored as English; once a person sets German, they are
    // read in German.
    let (status, german) = json(
        &app,
        &acme,
        &acme.admin,
        Method::POST,
        "/api/v1/contracts",
        Some(json!({
            "title": "Rahmenvereinbarung",
            "contract_type": "msa",
            "text_language": "en",
            "body": "Die Verträge über Lieferungen gelten zwei Jahre und verlängern sich danach um ein Jahr.",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{german}");
    let german = german["id"].as_str().unwrap().to_owned();
    embedded(&db, "t_acme").await;
    let found = search(&app, &acme, &acme.admin, "q=Vertrag&mode=text").await;
    assert!(ids(&found).is_empty(), "stemmed as English: {found}");
    let (status, set) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/contracts/{german}"),
        Some(json!({"version": 1, "text_language": "de"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let found = search(&app, &acme, &acme.admin, "q=Vertrag&mode=text").await;
    assert_eq!(ids(&found), [german.as_str()], "{found}");
    let shown = &passages_of(&found, &german)[0];
    assert!(
        shown["text"].as_str().unwrap().contains("Verträge"),
        "{shown}"
    );

    // A redacted original: its readers see its passage, the others the copy's.
    let warranty = create(
        &app,
        &acme,
        "Parts warranty",
        &format!("{DISPUTES} Send claims to claims.desk@vendor.example."),
    )
    .await;
    embedded(&db, "t_acme").await;
    redact_email(&app, &acme, &db, &warranty).await;
    let viewer = viewer(&app, &acme).await;
    for (token, original) in [(&acme.admin, true), (&viewer, false)] {
        let found = search(&app, &acme, token, "q=arbitration%20Geneva&mode=text").await;
        let shown = passages_of(&found, &warranty);
        let text = shown[0]["text"].as_str().unwrap();
        assert!(text.contains("arbitration in Geneva"), "{text}");
        assert_eq!(
            text.contains("claims.desk@vendor.example"),
            original,
            "the original's passage only for its readers: {text}"
        );
        if !original {
            assert!(
                !found.to_string().contains("claims.desk"),
                "nothing of the original reaches the viewer: {found}"
            );
        }
    }
}
