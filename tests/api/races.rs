//! The same change sent many times at once, as a client retrying on a slow network or a
//! double click sends it: every copy gets a clean answer (the change, or a 4xx that
//! says why not), never a 5xx, and the change is made once.
//!
//! - Every setting the API writes with `PUT` at a path without parameters: its current
//!   value read and written back by eight requests at once (found from the OpenAPI
//!   document, so a new setting is stormed without being listed here).
//! - Creates of records with a unique name: one made, the others refused (409).
//! - Creates of records the tenant numbers (invoices, cases): every copy made, each
//!   with a number of its own.
//! - Edits and transitions of one contract based on the same version: one made, the
//!   others `version_conflict`; a submission without a version starting one round.
//! - A record deleted while others are made naming it; deletes of one record: one
//!   done, the others `not_found`.
//! - Actions on one record: a lead converted, a deal won drafting its contract, an
//!   invoice sent, paid in full and voided, each once.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;

const HOST: &str = "acme.localhost";
const COPIES: usize = 8;

/// One status and body a storm was answered with.
type Answer = (StatusCode, Value);

/// A tenant with its admin on a real server, and the 5xx its storms were answered with.
struct Storms {
    _db: TestDb,
    app: TestApp,
    token: String,
    faults: Vec<String>,
}

impl Storms {
    async fn new() -> Self {
        let db = TestDb::migrated().await;
        tenant_with_admin(&db, "acme", PASSWORD).await;
        let app = spawn_app(&db, &[("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "10000")]).await;
        let token = app.access_token(HOST, "admin@example.com", PASSWORD).await;
        Self {
            _db: db,
            app,
            token,
            faults: Vec::new(),
        }
    }

    /// One request: its status and body.
    async fn one(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let response = self.app.call(method, HOST, path, &self.token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A record made by one request.
    async fn made(&self, path: &str, body: Value) -> Value {
        let (status, made) = self.one(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {made}");
        made
    }

    /// Where a record made by one request in `collection` lives.
    async fn made_at(&self, collection: &str, body: Value) -> String {
        let made = self.made(collection, body).await;
        format!("{collection}/{}", made["id"].as_str().unwrap())
    }

    /// A member made by the admin.
    async fn member(&self, email: &str) -> Value {
        let body = json!({"email": email, "password": PASSWORD,
                          "display_name": "Member", "role": "member"});
        self.made("/api/v1/users", body).await
    }

    /// `COPIES` copies of one request at once; any 5xx among the answers is kept.
    async fn storm(&mut self, method: Method, path: &str, body: Option<Value>) -> Vec<Answer> {
        let copies = (0..COPIES).map(|_| self.one(method.clone(), path, body.clone()));
        let answers = join_all(copies).await;
        self.faults.extend(
            answers
                .iter()
                .filter(|(status, _)| status.is_server_error())
                .map(|(status, body)| format!("{method} {path}: {status} {body}")),
        );
        answers
    }

    /// A storm of which exactly one copy is done and every other refused with
    /// `refused` (and the error `code`, when given).
    async fn done_once(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        refused: StatusCode,
        code: Option<&str>,
    ) {
        let answers = self.storm(method.clone(), path, body).await;
        let done = answers.iter().filter(|(s, _)| s.is_success()).count();
        assert_eq!(done, 1, "{method} {path}: done once: {answers:?}");
        for (status, body) in answers.iter().filter(|(s, _)| !s.is_success()) {
            assert_eq!(*status, refused, "{method} {path}: {body}");
            if let Some(code) = code {
                assert_eq!(body["error"], code, "{method} {path}: {body}");
            }
        }
    }

    fn assert_clean(&self) {
        assert!(
            self.faults.is_empty(),
            "answers that were not clean:\n{}",
            self.faults.join("\n")
        );
    }
}

/// A definition with one stage the approver decides, for NDAs.
fn legal_review(approver: &Value) -> Value {
    json!({"name": "Legal review", "trigger_conditions": {"contract_type": "nda"},
           "priority": 1, "stages": [{"stage_name": "Legal", "sequence": 1,
           "approvers": [approver["email"]], "approval_type": "all"}]})
}

/// The paths of the settings written whole with `PUT` and read with `GET`.
async fn settings_paths(app: &TestApp) -> BTreeSet<String> {
    let document: Value = app
        .get("localhost", "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, item)| {
            !path.contains('{') && item.get("put").is_some() && item.get("get").is_some()
        })
        .map(|(path, _)| path.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setting_written_by_eight_at_once_answers_each_alike() {
    let mut storms = Storms::new().await;
    let settings = settings_paths(&storms.app).await;
    assert!(
        settings.len() >= 8,
        "the document names the settings: {settings:?}"
    );
    // Settings that read as 404 until first set, with a value to set them to.
    let delegate = storms.member("delegate@example.com").await;
    let unset = [(
        "/api/v1/out-of-office",
        json!({"delegate_id": delegate["id"], "starts_at": "2030-01-01T00:00:00Z",
               "ends_at": "2030-01-15T00:00:00Z", "note": "away"}),
    )];
    for path in &settings {
        let (status, current) = storms.one(Method::GET, path, None).await;
        let current = if status == StatusCode::OK {
            current
        } else {
            let value = unset.iter().find(|(unset, _)| unset == path);
            value
                .unwrap_or_else(|| panic!("GET {path}: {status}"))
                .1
                .clone()
        };
        let answers = storms.storm(Method::PUT, path, Some(current)).await;
        // What was read is not always what may be written (a read-only field, say);
        // then every copy is refused alike.
        let statuses: BTreeSet<u16> = answers.iter().map(|(s, _)| s.as_u16()).collect();
        assert_eq!(
            statuses.len(),
            1,
            "PUT {path}: every copy alike: {answers:?}"
        );
    }
    storms.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_made_by_eight_at_once_is_made_once_or_numbered_apart() {
    let mut storms = Storms::new().await;
    let approver = storms.member("approver@example.com").await;
    let unique = [
        ("/api/v1/teams", json!({"name": "legal"})),
        ("/api/v1/counterparties", json!({"name": "Globex"})),
        (
            "/api/v1/templates",
            json!({"name": "Mutual NDA", "contract_type": "nda", "body": "Between {{a}} and {{b}}."}),
        ),
        (
            "/api/v1/redaction-patterns",
            json!({"name": "Matter", "pattern": "MAT-[0-9]{4}"}),
        ),
        ("/api/v1/workflows", legal_review(&approver)),
        (
            "/api/v1/contract-types",
            json!({"key": "lease_plus", "label": "Lease plus"}),
        ),
        (
            "/api/v1/users",
            json!({"email": "twice@example.com", "password": PASSWORD,
                   "display_name": "Twice", "role": "member"}),
        ),
    ];
    for (path, body) in unique {
        storms
            .done_once(Method::POST, path, Some(body), StatusCode::CONFLICT, None)
            .await;
    }

    let account = storms
        .made("/api/v1/counterparties", json!({"name": "Initech"}))
        .await;
    let numbered = [
        (
            "/api/v1/invoices",
            json!({"account_id": account["id"], "currency": "EUR", "issue_date": "2030-01-10",
                   "lines": [{"description": "Licences", "quantity": "3", "unit_price": "19.99"}]}),
        ),
        (
            "/api/v1/cases",
            json!({"subject": "Invoices do not load", "account_id": account["id"]}),
        ),
    ];
    for (path, body) in numbered {
        let answers = storms.storm(Method::POST, path, Some(body)).await;
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::CREATED, "POST {path}: {body}");
        }
        let numbers: BTreeSet<String> = answers
            .iter()
            .map(|(_, b)| b["number"].to_string())
            .collect();
        assert_eq!(
            numbers.len(),
            COPIES,
            "POST {path}: a number each: {numbers:?}"
        );
    }
    storms.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_changed_by_eight_at_once_changes_once() {
    let mut storms = Storms::new().await;
    let path = storms
        .made_at(
            "/api/v1/contracts",
            json!({"title": "Supply agreement", "contract_type": "msa", "body": "Terms."}),
        )
        .await;
    let edit = json!({"version": 1, "title": "Supply agreement v2"});
    let (conflict, code) = (StatusCode::CONFLICT, Some("version_conflict"));
    storms
        .done_once(Method::PATCH, &path, Some(edit), conflict, code)
        .await;
    let transition = format!("{path}/transition");
    let submit = json!({"version": 2, "to": "in_review"});
    storms
        .done_once(Method::POST, &transition, Some(submit), conflict, code)
        .await;

    // Submitted without a version by eight at once: moved once, a round started once.
    let approver = storms.member("approver@example.com").await;
    storms
        .made("/api/v1/workflows", legal_review(&approver))
        .await;
    let nda_path = storms
        .made_at(
            "/api/v1/contracts",
            json!({"title": "Mutual NDA", "contract_type": "nda", "body": "Confidential."}),
        )
        .await;
    let answers = storms
        .storm(
            Method::POST,
            &format!("{nda_path}/transition"),
            Some(json!({"to": "in_review"})),
        )
        .await;
    let moved = answers.iter().filter(|(s, _)| s.is_success()).count();
    assert_eq!(moved, 1, "moved once: {answers:?}");
    let (_, workflow) = storms
        .one(Method::GET, &format!("{nda_path}/workflow"), None)
        .await;
    assert_eq!(workflow["current"]["state"], "running", "{workflow}");
    assert_eq!(workflow["earlier"], json!([]), "one round: {workflow}");
    storms.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_deleted_by_eight_at_once_or_while_named_answers_each_cleanly() {
    let mut storms = Storms::new().await;
    let team_path = storms
        .made_at("/api/v1/teams", json!({"name": "gone"}))
        .await;
    storms
        .done_once(
            Method::DELETE,
            &team_path,
            None,
            StatusCode::NOT_FOUND,
            None,
        )
        .await;

    // An account deleted while contracts naming it are made: if it went, none of them
    // was made; if one was made first, it stays (409 `in_use`).
    let hooli = storms
        .made("/api/v1/counterparties", json!({"name": "Hooli"}))
        .await;
    let hooli_path = format!("/api/v1/counterparties/{}", hooli["id"].as_str().unwrap());
    let naming = json!({"title": "Hooli order", "contract_type": "msa", "body": "Order.",
                        "counterparty_id": hooli["id"]});
    let (deleted, made) = {
        let delete = storms.one(Method::DELETE, &hooli_path, None);
        let made = join_all(
            (0..COPIES)
                .map(|_| storms.one(Method::POST, "/api/v1/contracts", Some(naming.clone()))),
        );
        tokio::join!(delete, made)
    };
    for (status, body) in made.iter().chain([&deleted]) {
        assert!(!status.is_server_error(), "{status} {body}");
    }
    let made_any = made.iter().any(|(s, _)| s.is_success());
    match deleted.0 {
        status if status.is_success() => assert!(!made_any, "a contract names a deleted account"),
        StatusCode::CONFLICT => assert_eq!(deleted.1["error"], "in_use", "{}", deleted.1),
        status => panic!("DELETE {hooli_path}: {status} {}", deleted.1),
    }
    storms.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_taken_by_eight_at_once_is_taken_once() {
    let mut storms = Storms::new().await;
    let conflict = StatusCode::CONFLICT;

    // A lead converted once, its opportunity won once drafting its contract.
    let lead_path = storms
        .made_at(
            "/api/v1/leads",
            json!({"name": "Hank Scorpio", "company": "Globex", "email": "hank@globex.example"}),
        )
        .await;
    let convert = json!({"opportunity": {"amount": "48000.00", "currency": "EUR"}});
    let answers = storms
        .storm(Method::POST, &format!("{lead_path}/convert"), Some(convert))
        .await;
    let converted: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| s.is_success())
        .map(|(_, body)| body)
        .collect();
    assert_eq!(converted.len(), 1, "converted once: {answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| !s.is_success()) {
        assert_eq!(*status, conflict, "{body}");
    }
    let deal = converted[0]["opportunity"]["id"].as_str().unwrap();
    let template = storms
        .made(
            "/api/v1/templates",
            json!({"name": "Order", "contract_type": "msa", "body": "Order for {{amount}}."}),
        )
        .await;
    let win = format!("/api/v1/opportunities/{deal}/win");
    let drafting = json!({"contract": {"template_id": template["id"]}});
    storms
        .done_once(
            Method::POST,
            &win,
            Some(drafting),
            conflict,
            Some("already_won"),
        )
        .await;

    // An invoice sent once, paid in full once, and another voided once.
    let account = storms
        .made("/api/v1/counterparties", json!({"name": "Initech"}))
        .await;
    let invoice = json!({"account_id": account["id"], "currency": "EUR", "issue_date": "2030-01-10",
                         "lines": [{"description": "Licences", "quantity": "1", "unit_price": "100.00"}]});
    for action in ["pay", "void"] {
        let made = storms.made("/api/v1/invoices", invoice.clone()).await;
        let path = format!("/api/v1/invoices/{}", made["id"].as_str().unwrap());
        storms
            .done_once(Method::POST, &format!("{path}/send"), None, conflict, None)
            .await;
        let (path, body) = match action {
            "pay" => (
                format!("{path}/payments"),
                Some(json!({"amount": made["total"], "paid_on": "2030-01-11"})),
            ),
            _ => (
                format!("{path}/void"),
                Some(json!({"reason": "issued twice"})),
            ),
        };
        storms
            .done_once(Method::POST, &path, body, conflict, None)
            .await;
    }
    storms.assert_clean();
}
