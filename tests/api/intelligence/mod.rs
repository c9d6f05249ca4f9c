//! Contract intelligence through the real server with the real model (installed by
//! `scripts/model.sh`): a contract's text is cut into passages and embedded by a job;
//! a search by meaning finds a clause no keyword matches, hybrid search fuses it with
//! full-text search, "similar" finds the contract saying the same in other words. Two
//! tenants holding identical texts, searched at once while one re-indexes, never see
//! each other's passages; a redacted original's passages are kept from the readers it
//! is kept from; bad input is a 400 and a server without a model says so.
//!
//! Here: the helpers every module shares and the server without a model; `contracts`
//! searches contracts, `clauses` the library, `models` proves a change of model is
//! caught up, `budget` evicts under a tight memory budget, `classification` places
//! passages by category, `obligations` lists what binds a party, `summary` gives it at a glance,
//! `generative` has the tenant's own endpoint write one, `words` shows where a search by
//! words matched, `suggestions` reads a
//! contract's terms and `risk` weighs it against the tenant's policy (no model needed).

mod budget;
mod classification;
mod clauses;
mod contracts;
mod deviation;
mod eval_set;
mod generative;
mod models;
mod obligations;
mod rereading;
mod risk;
mod suggestions;
mod summary;
mod words;

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

/// A viewer of `t`, signed in.
async fn viewer(app: &TestApp, t: &Tenant) -> String {
    let (status, _) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "viewer@example.com", "display_name": "Viewer", "role": "viewer", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.access_token(&t.host, "viewer@example.com", PASSWORD)
        .await
}

/// Makes a redacted copy of contract `id` (at version 1) that stands in for its
/// original for readers below the tenant's original role.
async fn restrict_original(app: &TestApp, t: &Tenant, id: &str) {
    let (status, copy) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        &format!("/api/v1/contracts/{id}/redactions"),
        Some(json!({"version": 1, "accepted": [], "rejected": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
}

/// Makes a redacted copy of contract `id` (at version 1) without its one email
/// address, shown in place of its original to readers below the tenant's original
/// role, and waits until the copy's passages are made.
async fn redact_email(app: &TestApp, t: &Tenant, db: &TestDb, id: &str) {
    let (_, preview) = json(
        app,
        t,
        &t.admin,
        Method::GET,
        &format!("/api/v1/contracts/{id}/redaction-preview"),
        None,
    )
    .await;
    let email: Vec<&str> = preview["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "email")
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(email.len(), 1, "{preview}");
    let (status, copy) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        &format!("/api/v1/contracts/{id}/redactions"),
        Some(json!({"version": 1, "accepted": email, "rejected": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    let schema = format!("t_{}", t.host.trim_end_matches(".localhost"));
    db.until_none(
        &format!(
            "select count(*) from {schema}.contracts c where c.shown_redaction is not null and not exists \
             (select 1 from {schema}.contract_passages p where p.redaction_id = c.shown_redaction)"
        ),
        Duration::from_secs(120),
        "the copies' passages were never made",
    )
    .await;
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

/// Keeps a clause in `t`'s library, as its admin; the clause as created.
async fn library_clause(
    app: &TestApp,
    t: &Tenant,
    title: &str,
    category: &str,
    body: &str,
) -> Value {
    let (status, clause) = json(
        app,
        t,
        &t.admin,
        Method::POST,
        "/api/v1/clauses",
        Some(json!({"title": title, "category": category, "body": body})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clause}");
    clause
}

/// Sets the tenant's risk policy as its admin.
async fn put_policy(app: &TestApp, t: &Tenant, policy: Value) -> (StatusCode, Value) {
    json(
        app,
        t,
        &t.admin,
        Method::PUT,
        "/api/v1/risk-policy",
        Some(policy),
    )
    .await
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
    db.until_none(
        &format!(
            "select count(*) from {schema}.contracts c where c.body <> '' and not exists \
             (select 1 from {schema}.contract_passages p where p.contract_id = c.id)"
        ),
        Duration::from_secs(120),
        &format!("contracts of {schema} never embedded"),
    )
    .await;
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
