//! The CLM core through the real server, one module per part of `src/`: accounts
//! and contacts (`accounts`); leads, opportunities and the pipeline (`pipeline`);
//! invoices (`invoices`);
//! contracts
//! and their lifecycle, optimistic concurrency and roles (`lifecycle`); versions,
//! lists, search and facets (`reads`); the clause library and templates (`library`);
//! comments, files and the calendar (`discussion`); the text read from attached files
//! (`reading`) and from scans by OCR (`scanning`); the PDF (`documents`); redacted
//! copies (`redaction`); files kept in an S3-compatible bucket (`storage`); the audit
//! log (`audit`); the order names sort in (`names`).
//! Here: the harness they share, a tenant with its admin and a member.

mod accounts;
mod audit;
mod crm_roles;
mod dashboards;
mod discussion;
mod documents;
mod import_lookups;
mod imports;
mod invoices;
mod languages;
mod library;
mod lifecycle;
mod masking;
mod names;
mod pipeline;
mod reading;
mod reads;
mod redaction;
mod scanning;
mod storage;

use crate::app::{code, spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const HOST: &str = "acme.localhost";

/// A tenant with one user per role (two members), all logged in.
struct Clm {
    db: TestDb,
    app: TestApp,
    admin: String,
    manager: String,
    member: String,
    other_member: String,
    viewer: String,
}

impl Clm {
    async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// The same, with the server started with `env` set.
    async fn with_env(env: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        tenant_with_admin(&db, "acme", PASSWORD).await;
        let app = spawn_app(&db, env).await;
        let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
        let mut tokens = Vec::new();
        for (email, role) in [
            ("manager@example.com", "manager"),
            ("member@example.com", "member"),
            ("member2@example.com", "member"),
            ("viewer@example.com", "viewer"),
        ] {
            let created = app
                .call(
                    Method::POST,
                    HOST,
                    "/api/v1/users",
                    &admin,
                    Some(json!({"email": email, "display_name": email, "role": role, "password": PASSWORD})),
                )
                .await;
            assert_eq!(created.status(), StatusCode::CREATED, "{email}");
            tokens.push(app.access_token(HOST, email, PASSWORD).await);
        }
        let viewer = tokens.pop().unwrap();
        let other_member = tokens.pop().unwrap();
        let member = tokens.pop().unwrap();
        let manager = tokens.pop().unwrap();
        Self {
            db,
            app,
            admin,
            manager,
            member,
            other_member,
            viewer,
        }
    }

    /// The tenant's id in the registry.
    async fn tenant_id(&self) -> uuid::Uuid {
        self.db
            .client()
            .await
            .query_one("select id from public.tenants where slug = 'acme'", &[])
            .await
            .unwrap()
            .get(0)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        self.app.call(method, HOST, path, token, body).await
    }

    /// Sends and returns the status alone: for checks of who may do what.
    async fn status(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> StatusCode {
        self.send(method, path, token, body).await.status()
    }

    /// Sends and returns status and JSON body.
    async fn json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, token, body).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, token: &str, body: Value) -> Value {
        let (status, created) = self
            .json(Method::POST, "/api/v1/contracts", token, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body} -> {created}");
        created
    }

    async fn transition(&self, token: &str, id: &str, to: &str) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            &format!("/api/v1/contracts/{id}/transition"),
            token,
            Some(json!({"to": to})),
        )
        .await
    }

    async fn count(&self, sql: &str) -> i64 {
        self.db
            .client()
            .await
            .query_one(sql, &[])
            .await
            .unwrap()
            .get(0)
    }

    /// A fingerprint of every CLM table, to prove a refused request changed nothing.
    async fn snapshot(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "contracts",
            "contract_versions",
            "counterparties",
            "contacts",
            "account_contacts",
            "leads",
            "opportunities",
            "opportunity_contacts",
            "pipeline_stages",
            "invoices",
            "invoice_lines",
            "invoice_payments",
            "invoice_counters",
            "invoice_emails",
            "clauses",
            "contract_clauses",
            "templates",
            "comments",
            "tasks",
            "activities",
            "cases",
        ] {
            counts.push(
                self.count(&format!("select count(*) from t_acme.{table}"))
                    .await,
            );
        }
        // The risk job records a change of level by itself, whenever it runs: not a
        // write of the request under test.
        counts.push(
            self.count("select count(*) from t_acme.audit_logs where action <> 'risk_assessed'")
                .await,
        );
        counts.push(
            self.count("select coalesce(sum(version), 0)::bigint from t_acme.contracts")
                .await,
        );
        counts
    }
}

/// The titles on the first page of `GET /api/v1/contracts?<query>`.
async fn titles(clm: &Clm, query: &str) -> Vec<String> {
    listed(clm, query, "title").await
}

/// `field` of each contract on the first page of `GET /api/v1/contracts?<query>`.
async fn listed(clm: &Clm, query: &str, field: &str) -> Vec<String> {
    let (status, page) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts?{query}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[field].as_str().unwrap().to_owned())
        .collect()
}

fn nda(title: &str) -> Value {
    json!({"title": title, "contract_type": "nda", "body": "The parties keep secrets."})
}

/// Puts a new contract in `status` by the lifecycle's own path.
async fn contract_in(clm: &Clm, status: &str) -> String {
    let id = clm.create(&clm.member, nda(&format!("In {status}"))).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path: &[&str] = match status {
        "draft" => &[],
        "in_review" => &["in_review"],
        "approved" => &["in_review", "approved"],
        "rejected" => &["in_review", "rejected"],
        "executed" => &["in_review", "approved", "executed"],
        "expired" => &["in_review", "approved", "executed", "expired"],
        "terminated" => &["in_review", "approved", "executed", "terminated"],
        other => panic!("{other}"),
    };
    for to in path {
        assert_eq!(
            clm.transition(&clm.manager, &id, to).await.0,
            StatusCode::OK
        );
    }
    id
}

/// Follows `next_cursor` from page one of `path` with pages of `limit`, returning every
/// item's `key` in order.
async fn walk(clm: &Clm, path: &str, limit: usize, key: &str) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{separator}limit={limit}");
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (status, page) = clm.json(Method::GET, &url, &clm.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let items = page["items"].as_array().expect("the list envelope");
        assert!(items.len() <= limit, "{url}");
        seen.extend(items.iter().map(|item| item[key].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}{separator}limit={limit}&cursor={cursor}"),
            None => return seen,
        }
    }
    panic!("{path} never ended");
}

async fn upload(
    clm: &Clm,
    host: &str,
    token: &str,
    contract: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    clm.app
        .request(
            Method::POST,
            host,
            &format!("/api/v1/contracts/{contract}/attachments"),
        )
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}
