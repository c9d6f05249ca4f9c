//! Contract intelligence through the real server with the real model (installed by
//! `scripts/model.sh`): a contract's text is cut into passages and embedded by a job;
//! a search by meaning finds a clause no keyword matches, hybrid search fuses it with
//! full-text search, "similar" finds the contract saying the same in other words. Two
//! tenants holding identical texts, searched at once while one re-indexes, never see
//! each other's passages; a redacted original's passages are kept from the readers it
//! is kept from; bad input is a 400 and a server without a model says so.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;

/// The model's folder, installing it on first use.
pub(crate) fn model_dir() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/model.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .expect("running scripts/model.sh");
    assert!(
        out.status.success(),
        "scripts/model.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const INDEMNITY: &str = "12. Indemnity\nThe supplier shall indemnify and hold harmless the customer \
    against all claims, losses and damages arising from defective goods delivered under this agreement.";
const LAW: &str = "13. Governing law\nThis agreement is governed by the laws of England and Wales.";
const RENT: &str = "The tenant shall pay the rent monthly in advance, and the landlord keeps the building insured.";
const NOTICE: &str =
    "Either party may terminate this engagement upon thirty days written notice to the other.";

struct Tenant {
    host: String,
    admin: String,
}

async fn tenant(db: &TestDb, app: &TestApp, slug: &str) -> Tenant {
    tenant_with_admin(db, slug, PASSWORD).await;
    let host = format!("{slug}.localhost");
    let admin = app.access_token(&host, "admin@example.com", PASSWORD).await;
    Tenant { host, admin }
}

async fn json(
    app: &TestApp,
    t: &Tenant,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app.call(method, &t.host, path, token, body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, t: &Tenant, title: &str, body: &str) -> String {
    let (status, created) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        "/api/v1/contracts",
        Some(json!({"title": title, "contract_type": "msa", "body": body})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Waits until every contract of `schema` with a body has its passages.
async fn embedded(db: &TestDb, schema: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let waiting: i64 = db
            .client()
            .await
            .query_one(
                &format!(
                    "select count(*) from {schema}.contracts c where c.body <> '' and not exists \
                     (select 1 from {schema}.contract_passages p where p.contract_id = c.id)"
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} contracts of {schema} never embedded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The contract ids a search returns, in order.
fn ids(results: &Value) -> Vec<String> {
    results["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contract"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn search(app: &TestApp, t: &Tenant, token: &str, query: &str) -> Value {
    let (status, found) = json(
        app,
        t,
        token,
        Method::GET,
        &format!("/api/v1/search/contracts?{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{query}: {found}");
    found
}

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

    // A redacted original's passages are kept from the readers it is kept from.
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "viewer@example.com", "display_name": "Viewer", "role": "viewer", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let viewer = app
        .access_token(&acme.host, "viewer@example.com", PASSWORD)
        .await;
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
    let (status, copy) = json(
        &app,
        &acme,
        &acme.admin,
        Method::POST,
        &format!("/api/v1/contracts/{reworded}/redactions"),
        Some(json!({"version": 1, "accepted": [], "rejected": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    let seen = ids(&search(&app, &acme, &viewer, query).await);
    assert!(!seen.contains(&reworded), "{seen:?}");
    assert!(ids(&search(&app, &acme, &acme.admin, query).await).contains(&reworded));
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
        let (status, clause) = json(
            &app,
            &acme,
            &acme.admin,
            Method::POST,
            "/api/v1/clauses",
            Some(json!({"title": title, "category": category, "body": body})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{clause}");
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
    // 1 MiB holds two tenants' 300 passages (about 0.45 MiB each), not three.
    let app = spawn_app(
        &db,
        &[
            ("PACTUM_MODEL_DIR", dir.as_str()),
            ("PACTUM_VECTOR_MEMORY_MB", "1"),
        ],
    )
    .await;
    let body: String = (0..300)
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

#[tokio::test]
async fn a_server_without_a_model_says_so_and_still_searches_words() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let id = create(&app, &acme, "Supply agreement", INDEMNITY).await;
    let (status, error) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        "/api/v1/search/contracts?q=indemnity&mode=semantic",
        None,
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("model_unavailable"))
    );
    let found = search(&app, &acme, &acme.admin, "q=indemnify&mode=text").await;
    assert_eq!(ids(&found), [id.as_str()]);
    let passages: i64 = db
        .client()
        .await
        .query_one("select count(*) from t_acme.contract_passages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(passages, 0, "nothing is read without a model");
}
