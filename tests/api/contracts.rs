//! The CLM core through the real server: contracts and their lifecycle, optimistic
//! concurrency, lists, search and facets, versions, templates, clauses, comments, the
//! audit log, roles, hostile input and tenant isolation.

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
        let db = TestDb::migrated().await;
        tenant_with_admin(&db, "acme", PASSWORD).await;
        let app = spawn_app(&db, &[]).await;
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

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        self.app.call(method, HOST, path, token, body).await
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
            "clauses",
            "contract_clauses",
            "templates",
            "comments",
            "audit_logs",
        ] {
            counts.push(
                self.count(&format!("select count(*) from t_acme.{table}"))
                    .await,
            );
        }
        counts.push(
            self.count("select coalesce(sum(version), 0)::bigint from t_acme.contracts")
                .await,
        );
        counts
    }
}

/// The titles on the first page of `GET /api/v1/contracts?<query>`.
async fn titles(clm: &Clm, query: &str) -> Vec<String> {
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
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect()
}

fn nda(title: &str) -> Value {
    json!({"title": title, "contract_type": "nda", "body": "The parties keep secrets."})
}

#[tokio::test]
async fn a_contract_goes_through_its_whole_lifecycle_and_every_step_is_audited() {
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({
                "title": "Acme / Globex MSA",
                "contract_type": "msa",
                "value": "1250000.50",
                "currency": "EUR",
                "start_date": "2026-01-01",
                "end_date": "2027-12-31",
                "auto_renew": true,
                "renewal_notice_days": 90,
                "tags": ["Strategic", "renewal"],
                "metadata": {"cost_center": "R&D"},
                "body": "Services are provided.\nFees are paid monthly.\n"
            }),
        )
        .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["value"], "1250000.50",
        "exact decimal string, scale kept"
    );
    assert_eq!(created["tags"], json!(["renewal", "strategic"]));
    let id = created["id"].as_str().unwrap().to_owned();

    let fetched = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{id}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");

    for (token, to, version) in [
        (&clm.member, "in_review", 2),
        (&clm.manager, "approved", 3),
        (&clm.manager, "executed", 4),
        (&clm.manager, "terminated", 5),
    ] {
        let (status, moved) = clm.transition(token, &id, to).await;
        assert_eq!(status, StatusCode::OK, "{to}: {moved}");
        assert_eq!(
            (moved["status"].as_str(), moved["version"].as_i64()),
            (Some(to), Some(version))
        );
    }
    let (status, audit) = clm
        .json(
            Method::GET,
            &format!("/api/v1/audit-logs?entity=contract&entity_id={id}"),
            &clm.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "transition",
            "transition",
            "transition",
            "transition"
        ]
    );
    let last = &audit["items"][0];
    assert_eq!(
        last["changes"],
        json!({"status": {"old": "executed", "new": "terminated"}})
    );
    assert!(last["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"));
    assert!(last["request_id"].as_str().is_some_and(|r| !r.is_empty()));
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

#[tokio::test]
async fn every_invalid_transition_is_a_409_naming_the_allowed_ones_and_changes_nothing() {
    let clm = Clm::new().await;
    let statuses = [
        "draft",
        "in_review",
        "approved",
        "rejected",
        "executed",
        "expired",
        "terminated",
    ];
    let allowed = |from: &str| -> Vec<&str> {
        match from {
            "draft" => vec!["in_review"],
            "in_review" => vec!["approved", "rejected"],
            "approved" => vec!["executed"],
            "rejected" => vec!["draft"],
            "executed" => vec!["expired", "terminated"],
            _ => vec![],
        }
    };
    for from in statuses {
        let id = contract_in(&clm, from).await;
        let before = clm.snapshot().await;
        for to in statuses.iter().filter(|to| !allowed(from).contains(to)) {
            let (status, body) = clm.transition(&clm.manager, &id, to).await;
            assert_eq!(status, StatusCode::CONFLICT, "{from} -> {to}");
            assert_eq!(body["error"], "invalid_transition");
            assert_eq!(body["details"]["allowed"], json!(allowed(from)), "{from}");
        }
        assert_eq!(
            clm.snapshot().await,
            before,
            "refusals from {from} changed nothing"
        );
    }
    // Rejected goes back to draft.
    let id = contract_in(&clm, "rejected").await;
    assert_eq!(
        clm.transition(&clm.member, &id, "draft").await.0,
        StatusCode::OK
    );
    let (status, body) = clm.transition(&clm.manager, &id, "signed").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input"))
    );
}

#[tokio::test]
async fn stale_or_blind_updates_are_refused_and_change_nothing() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, nda("NDA")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/contracts/{id}");
    let (status, updated) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 1, "title": "NDA v2"})),
        )
        .await;
    assert_eq!(
        (status, updated["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );

    let before = clm.snapshot().await;
    let (status, stale) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 1, "title": "lost update"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(stale["error"], "version_conflict");
    assert_eq!(stale["details"]["current_version"], 2);
    let (status, blind) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"title": "blind"})),
        )
        .await;
    assert_eq!(
        (status, blind["error"].as_str()),
        (StatusCode::PRECONDITION_REQUIRED, Some("version_required"))
    );
    let stale_header = clm
        .app
        .request(Method::PATCH, HOST, &path)
        .bearer_auth(&clm.member)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "lost again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(stale_header).await,
        (StatusCode::CONFLICT, "version_conflict".into())
    );
    assert_eq!(clm.snapshot().await, before);

    let fresh_header = clm
        .app
        .request(Method::PATCH, HOST, &path)
        .bearer_auth(&clm.member)
        .header("if-match", "\"2\"")
        .json(&json!({"body": "New text."}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh_header.status(), StatusCode::OK);
    assert_eq!(fresh_header.headers()["etag"], "\"3\"");
}

#[tokio::test]
async fn versions_keep_every_text_and_diff_by_line() {
    let clm = Clm::new().await;
    let created = clm
        .create(
            &clm.member,
            json!({"title": "MSA", "contract_type": "msa", "body": "one\ntwo\nthree\n"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/contracts/{id}");
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 1, "body": "one\n2\nthree\nfour\n"})),
    )
    .await;
    clm.json(
        Method::PATCH,
        &path,
        &clm.member,
        Some(json!({"version": 2, "tags": ["x"]})),
    )
    .await;
    let (_, versions) = clm
        .json(Method::GET, &format!("{path}/versions"), &clm.viewer, None)
        .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "a tags-only change keeps no new text");
    let (_, first) = clm
        .json(
            Method::GET,
            &format!("{path}/versions/1"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(first["body"], "one\ntwo\nthree\n");
    let (status, diff) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=2"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (diff["lines_added"].as_i64(), diff["lines_removed"].as_i64()),
        (Some(2), Some(1))
    );
    let unified = diff["unified"].as_str().unwrap();
    assert!(
        unified.contains("-two\n") && unified.contains("+2\n") && unified.contains("+four\n"),
        "{unified}"
    );
    let (status, _) = clm
        .json(
            Method::GET,
            &format!("{path}/diff?from=1&to=9"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_filter_sort_search_and_facet() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Globex Corporation"})),
        )
        .await;
    let globex = counterparty["id"].as_str().unwrap();
    for (title, kind, value, end, tags, body) in [
        (
            "Cloud hosting MSA",
            "msa",
            "50000",
            "2027-03-31",
            vec!["cloud"],
            "Hosting of servers and uptime credits.",
        ),
        (
            "Mutual NDA",
            "nda",
            "0",
            "2026-12-31",
            vec![],
            "Confidential information stays confidential.",
        ),
        (
            "Office lease",
            "lease",
            "240000.00",
            "2030-06-30",
            vec!["facilities"],
            "The tenant leases the premises.",
        ),
        (
            "Migration SOW",
            "sow",
            "12000.5",
            "2027-01-31",
            vec!["cloud"],
            "Migration of the hosting platform.",
        ),
    ] {
        let mut contract = json!({"title": title, "contract_type": kind, "value": value, "currency": "USD",
            "end_date": end, "tags": tags, "body": body});
        if kind == "msa" || kind == "sow" {
            contract["counterparty_id"] = json!(globex);
        }
        clm.create(&clm.member, contract).await;
    }

    assert_eq!(
        titles(&clm, "sort=title").await,
        [
            "Cloud hosting MSA",
            "Migration SOW",
            "Mutual NDA",
            "Office lease"
        ]
    );
    assert_eq!(titles(&clm, "contract_type=nda").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "tag=cloud&sort=-value").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(
        titles(&clm, "value_min=12000.5&value_max=50000&sort=value").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, "end_from=2027-01-01&end_to=2027-12-31&sort=end_date").await,
        ["Migration SOW", "Cloud hosting MSA"]
    );
    assert_eq!(
        titles(&clm, &format!("counterparty_id={globex}&sort=title")).await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    // Title matches outrank body matches.
    assert_eq!(
        titles(&clm, "q=hosting").await,
        ["Cloud hosting MSA", "Migration SOW"]
    );
    assert_eq!(titles(&clm, "q=confidential").await, ["Mutual NDA"]);
    assert_eq!(
        titles(&clm, "q=%22uptime credits%22").await,
        ["Cloud hosting MSA"]
    );
    assert!(titles(&clm, "q=nothing-matches-this").await.is_empty());
    let (_, page) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=2&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    assert!(page["next_cursor"].is_string(), "more than two contracts");
    assert!(
        page["items"][0].get("body").is_none(),
        "lists leave bodies out"
    );
    // Following the cursors walks every contract once, in the same order.
    let mut walked = Vec::new();
    let mut page = page;
    loop {
        walked.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap().to_owned()),
        );
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        page = clm
            .json(
                Method::GET,
                &format!("/api/v1/contracts?limit=2&sort=title&cursor={cursor}"),
                &clm.viewer,
                None,
            )
            .await
            .1;
    }
    let (_, all) = clm
        .json(
            Method::GET,
            "/api/v1/contracts?limit=100&sort=title",
            &clm.viewer,
            None,
        )
        .await;
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() > 2);
    assert_eq!(walked, every);

    let (status, facets) = clm
        .json(
            Method::GET,
            "/api/v1/contracts/facets?tag=cloud",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(facets["total"], 2);
    assert_eq!(facets["status"]["draft"], 2);
    assert_eq!(facets["status"]["executed"], 0);
    assert_eq!(facets["contract_type"], json!({"msa": 1, "sow": 1}));

    for bad in [
        "status=signed",
        "sort=password",
        "sort=rank",
        "limit=1000",
        "value_min=1e3",
        "currency=usd",
        "end_from=2027-01-01&end_to=2026-01-01",
        "owner_id=not-a-uuid",
        "unknown=1",
    ] {
        let response = clm
            .send(
                Method::GET,
                &format!("/api/v1/contracts?{bad}"),
                &clm.viewer,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn hostile_input_is_a_4xx_and_changes_nothing() {
    let clm = Clm::new().await;
    clm.create(&clm.member, nda("Existing")).await;
    let before = clm.snapshot().await;
    let cases = [
        json!({"title": "x", "contract_type": "nda", "value": "1e309", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "999999999999999999", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": 1250.5, "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "-5", "currency": "EUR"}),
        json!({"title": "x", "contract_type": "nda", "value": "10", "currency": "EURO"}),
        json!({"title": "x", "contract_type": "nda", "value": "10", "currency": "XYZ"}),
        json!({"title": "x", "contract_type": "nda", "value": "10"}),
        json!({"title": "x", "contract_type": "nda", "start_date": "2027-01-01", "end_date": "2026-01-01"}),
        json!({"title": "x", "contract_type": "nda", "start_date": "2026-02-30"}),
        json!({"title": "x", "contract_type": "nda", "end_date": "9999-12-31"}),
        json!({"title": "x", "contract_type": "nda", "renewal_notice_days": -1}),
        json!({"title": "x", "contract_type": "nda", "renewal_notice_days": 99999999999i64}),
        json!({"title": "x'; drop table contracts; --", "contract_type": "nda'; drop table contracts; --"}),
        json!({"title": "x", "contract_type": "nda", "counterparty_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "x", "contract_type": "nda", "owner_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "x".repeat(501), "contract_type": "nda"}),
        json!({"title": "   ", "contract_type": "nda"}),
        json!({"title": "x\u{0}y", "contract_type": "nda"}),
        json!({"title": "x", "contract_type": "nda", "tags": ["<script>alert(1)</script>"]}),
        json!({"title": "x", "contract_type": "nda", "metadata": [1, 2]}),
        json!({"title": "x", "contract_type": "nda", "metadata": {"big": "y".repeat(20_000)}}),
        json!({"title": "x", "contract_type": "nda", "status": "executed"}),
        json!({"title": "x"}),
    ];
    for (i, case) in cases.iter().enumerate() {
        let response = clm
            .send(
                Method::POST,
                "/api/v1/contracts",
                &clm.member,
                Some(case.clone()),
            )
            .await;
        let status = response.status();
        assert!(status.is_client_error(), "case {i}: {status}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "case {i}: {body}");
    }
    let huge_body = clm
        .send(
            Method::POST,
            "/api/v1/contracts",
            &clm.member,
            Some(json!({"title": "x", "contract_type": "nda", "body": "z".repeat(2_000_000)})),
        )
        .await;
    assert_eq!(code(huge_body).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(clm.snapshot().await, before, "nothing was written");
    assert_eq!(
        clm.count("select count(*) from pg_tables where tablename = 'contracts'")
            .await,
        1
    );
}

#[tokio::test]
async fn roles_are_enforced_on_every_kind_of_change() {
    let clm = Clm::new().await;
    let mine = clm.create(&clm.member, nda("Member's")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/contracts/{mine}");
    let before = clm.snapshot().await;
    // Viewers read but never write.
    assert_eq!(
        clm.send(Method::GET, &path, &clm.viewer, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.viewer,
            Some(nda("v"))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    // Another member neither edits, moves nor deletes it.
    assert_eq!(
        clm.send(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"version": 1, "title": "mine now"}))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.transition(&clm.other_member, &mine, "in_review")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(Method::DELETE, &path, &clm.other_member, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Members do not name other owners, approve, or read the audit log.
    let manager_id = clm
        .json(Method::GET, "/api/v1/auth/me", &clm.manager, None)
        .await
        .1["id"]
        .clone();
    let mut theirs = nda("for someone else");
    theirs["owner_id"] = manager_id;
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.member,
            Some(theirs.clone())
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(Method::GET, "/api/v1/audit-logs", &clm.manager, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contract-types",
            &clm.manager,
            Some(json!({"key": "reseller", "label": "Reseller"}))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(clm.snapshot().await, before);
    assert_eq!(
        clm.transition(&clm.member, &mine, "in_review").await.0,
        StatusCode::OK
    );
    assert_eq!(
        clm.transition(&clm.member, &mine, "approved").await.0,
        StatusCode::FORBIDDEN
    );
    // Managers edit anything and name owners; admins manage settings.
    assert_eq!(
        clm.send(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"version": 2, "title": "Edited by manager"}))
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/contracts",
            &clm.manager,
            Some(theirs)
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(clm.send(Method::POST, "/api/v1/contract-types", &clm.admin,
        Some(json!({"key": "reseller", "label": "Reseller", "required_clause_categories": ["payment"]}))).await.status(), StatusCode::CREATED);
    clm.create(
        &clm.member,
        json!({"title": "Reseller deal", "contract_type": "reseller"}),
    )
    .await;
    // Once approved, terms are locked, but tags still change.
    assert_eq!(
        clm.transition(&clm.manager, &mine, "approved").await.0,
        StatusCode::OK
    );
    let (status, locked) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"version": 4, "body": "late change"})),
        )
        .await;
    assert_eq!(
        (status, locked["error"].as_str()),
        (StatusCode::CONFLICT, Some("contract_locked"))
    );
    assert_eq!(
        clm.send(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"version": 4, "tags": ["signed-off"]}))
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        clm.send(Method::DELETE, &path, &clm.manager, None)
            .await
            .status(),
        StatusCode::CONFLICT,
        "only drafts are deleted"
    );
}

#[tokio::test]
async fn templates_generate_contracts_and_list_missing_or_unknown_variables() {
    let clm = Clm::new().await;
    let template = json!({"name": "Standard NDA", "contract_type": "nda",
        "body": "This NDA between {{ discloser }} and {{recipient}} lasts {{term}} years."});
    assert_eq!(
        clm.send(
            Method::POST,
            "/api/v1/templates",
            &clm.member,
            Some(template.clone())
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let (status, created) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(template),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        created["variables"],
        json!(["discloser", "recipient", "term"])
    );
    let generate = format!(
        "/api/v1/templates/{}/generate",
        created["id"].as_str().unwrap()
    );
    let before = clm.snapshot().await;
    let (status, refused) = clm
        .json(
            Method::POST,
            &generate,
            &clm.member,
            Some(json!({
            "variables": {"discloser": "Acme", "term": "2", "colour": "red"},
            "contract": {"title": "NDA with Globex"}})),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("template_variables"))
    );
    assert_eq!(
        refused["details"],
        json!({"missing": ["recipient"], "unknown": ["colour"]})
    );
    assert_eq!(clm.snapshot().await, before);
    let (status, contract) = clm
        .json(
            Method::POST,
            &generate,
            &clm.member,
            Some(json!({
            "variables": {"discloser": "Acme", "recipient": "Globex", "term": "2"},
            "contract": {"title": "NDA with Globex", "tags": ["generated"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contract}");
    assert_eq!(
        contract["body"],
        "This NDA between Acme and Globex lasts 2 years."
    );
    assert_eq!(contract["contract_type"], "nda");
    let (status, _) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(json!({"name": "Broken", "contract_type": "nda", "body": "Hello {{ name"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn clauses_attach_find_their_look_alikes_and_validate_required_categories() {
    let clm = Clm::new().await;
    let mut ids = Vec::new();
    for (title, category, body) in [
        (
            "Net 30",
            "payment",
            "The customer pays every invoice within thirty days of receipt.",
        ),
        (
            "Net 30 (variant)",
            "payment",
            "The customer pays each invoice within thirty days of its receipt.",
        ),
        (
            "Liability cap",
            "liability",
            "Liability of either party is capped at the fees paid in the prior year.",
        ),
        (
            "Governing law",
            "governing_law",
            "This agreement is governed by the laws of Delaware.",
        ),
    ] {
        let (status, clause) = clm
            .json(
                Method::POST,
                "/api/v1/clauses",
                &clm.member,
                Some(json!({"title": title, "category": category, "body": body})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(clause["id"].as_str().unwrap().to_owned());
    }
    let (status, similar) = clm
        .json(
            Method::GET,
            &format!("/api/v1/clauses/{}/similar", ids[0]),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let similar = similar["items"].as_array().unwrap();
    assert_eq!(similar.len(), 1, "{similar:?}");
    assert_eq!(similar[0]["id"], ids[1].as_str());
    assert!(similar[0]["similarity"].as_f64().unwrap() > 0.5);

    let msa = clm
        .create(&clm.member, json!({"title": "MSA", "contract_type": "msa"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for clause in [&ids[0], &ids[3]] {
        let response = clm
            .send(
                Method::POST,
                &format!("/api/v1/contracts/{msa}/clauses"),
                &clm.member,
                Some(json!({"clause_id": clause})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let (_, report) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{msa}/validate-clauses"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(report["missing"], json!(["liability", "termination"]));
    assert_eq!(report["complete"], false);
    let (status, in_use) = clm
        .json(
            Method::DELETE,
            &format!("/api/v1/clauses/{}", ids[0]),
            &clm.manager,
            None,
        )
        .await;
    assert_eq!(
        (status, in_use["error"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
}

#[tokio::test]
async fn comments_record_mentions_and_the_calendar_shows_dates() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, json!({"title": "Lease", "contract_type": "lease",
        "start_date": "2026-03-01", "end_date": "2026-12-31", "auto_renew": true, "renewal_notice_days": 61}))
        .await["id"].as_str().unwrap().to_owned();
    let (status, comment) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{id}/comments"),
            &clm.member,
            Some(json!({"body": "@manager@example.com please review; cc @nobody@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let manager_id = clm
        .json(Method::GET, "/api/v1/auth/me", &clm.manager, None)
        .await
        .1["id"]
        .clone();
    assert_eq!(comment["mentions"], json!([manager_id]));
    let (_, events) = clm
        .json(
            Method::GET,
            "/api/v1/calendar?from=2026-01-01&to=2026-12-31",
            &clm.viewer,
            None,
        )
        .await;
    let events: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("2026-03-01".to_owned(), "start".to_owned()),
            ("2026-10-31".to_owned(), "renewal_notice".to_owned()),
            ("2026-12-31".to_owned(), "end".to_owned()),
        ]
    );
    let (status, _) = clm
        .json(
            Method::GET,
            "/api/v1/calendar?from=2026-01-01&to=2035-01-01",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_audit_log_refuses_tampering_even_from_sql() {
    let clm = Clm::new().await;
    clm.create(&clm.member, nda("Audited")).await;
    let client = clm.db.client().await;
    for sql in [
        "update t_acme.audit_logs set action = 'nothing'",
        "delete from t_acme.audit_logs",
        "truncate t_acme.audit_logs",
    ] {
        let error = client.batch_execute(sql).await.expect_err(sql);
        assert!(
            error.to_string().contains("append-only")
                || format!("{error:?}").contains("append-only"),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.audit_logs where entity = 'contract'")
            .await,
        1
    );
}

#[tokio::test]
async fn another_tenants_contracts_cannot_be_reached() {
    let clm = Clm::new().await;
    tenant_with_admin(&clm.db, "globex", PASSWORD).await;
    let id = clm.create(&clm.member, nda("Acme secret")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex = clm
        .app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/contracts/{id}")),
        (Method::GET, format!("/api/v1/contracts/{id}/versions")),
        (Method::POST, format!("/api/v1/contracts/{id}/transition")),
    ] {
        let body = (method == Method::POST).then(|| json!({"to": "in_review"}));
        let response = clm
            .app
            .call(method, "globex.localhost", &path, &globex, body)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (_, page) = {
        let response = clm
            .app
            .call(
                Method::GET,
                "globex.localhost",
                "/api/v1/contracts?q=secret",
                &globex,
                None,
            )
            .await;
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(page["items"], json!([]));
    // Acme's token is no good on globex's host.
    assert_eq!(
        clm.app
            .call(
                Method::GET,
                "globex.localhost",
                "/api/v1/contracts",
                &clm.admin,
                None
            )
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
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

#[tokio::test]
async fn attachments_upload_download_and_stay_inside_their_tenant() {
    let clm = Clm::new().await;
    let id = clm.create(&clm.member, nda("With files")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = b"%PDF-1.7\n% a tiny file\n".to_vec();
    let response = upload(
        &clm,
        HOST,
        &clm.member,
        &id,
        "../../secret/Vertrag \u{e4}.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(
        stored["filename"], "Vertrag \u{e4}.pdf",
        "path parts are dropped"
    );
    assert_eq!(stored["size_bytes"], pdf.len());
    let attachment = stored["id"].as_str().unwrap().to_owned();

    let download = clm
        .send(
            Method::GET,
            &format!("/api/v1/attachments/{attachment}"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''Vertrag%20%C3%A4.pdf"));
    let etag = download.headers()["etag"].clone();
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);
    // Streamed downloads honour ranges and conditional requests.
    let download_with = |name: &'static str, value: reqwest::header::HeaderValue| {
        clm.app
            .request(
                Method::GET,
                HOST,
                &format!("/api/v1/attachments/{attachment}"),
            )
            .bearer_auth(&clm.viewer)
            .header(name, value)
            .send()
    };
    let part = download_with("range", "bytes=0-7".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().to_vec(), pdf[..8].to_vec());
    let unchanged = download_with("if-none-match", etag).await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let (_, listed) = clm
        .json(
            Method::GET,
            &format!("/api/v1/contracts/{id}/attachments"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // Refusals store nothing: wrong role, a type we do not take, content that lies about
    // its type.
    let before = clm.count("select count(*) from t_acme.attachments").await;
    let refusals = [
        (
            upload(
                &clm,
                HOST,
                &clm.viewer,
                &id,
                "a.pdf",
                "application/pdf",
                pdf.clone(),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.other_member,
                &id,
                "a.pdf",
                "application/pdf",
                pdf.clone(),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "a.exe",
                "application/x-msdownload",
                b"MZ\x90\x00".to_vec(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "a.pdf",
                "application/pdf",
                b"MZ\x90\x00 not a pdf".to_vec(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            upload(
                &clm,
                HOST,
                &clm.member,
                &id,
                "empty.txt",
                "text/plain",
                Vec::new(),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            clm.app
                .request(
                    Method::POST,
                    HOST,
                    &format!("/api/v1/contracts/{id}/attachments"),
                )
                .bearer_auth(&clm.member)
                .json(&json!({"file": "not a form"}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (i, (response, status)) in refusals.into_iter().enumerate() {
        assert_eq!(response.status(), status, "refusal {i}");
    }
    assert_eq!(
        clm.count("select count(*) from t_acme.attachments").await,
        before
    );
    let tenant_folders: Vec<_> = std::fs::read_dir(&clm.app.upload_dir).unwrap().collect();
    assert_eq!(tenant_folders.len(), 1, "one folder, acme's");
    let files: Vec<String> = std::fs::read_dir(tenant_folders[0].as_ref().unwrap().path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        std::slice::from_ref(&attachment),
        "no partial uploads left behind"
    );

    // Another tenant's host never reaches the file, whatever id or path it is given.
    tenant_with_admin(&clm.db, "globex", PASSWORD).await;
    let globex = clm
        .app
        .access_token("globex.localhost", "admin@example.com", PASSWORD)
        .await;
    for path in [
        format!("/api/v1/attachments/{attachment}"),
        format!("/api/v1/attachments/..%2F{attachment}"),
        format!("/api/v1/contracts/{id}/attachments"),
    ] {
        let response = clm
            .app
            .call(Method::GET, "globex.localhost", &path, &globex, None)
            .await;
        assert!(
            matches!(
                response.status(),
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "{path}: {}",
            response.status()
        );
    }
    let foreign = upload(
        &clm,
        "globex.localhost",
        &globex,
        &id,
        "a.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    let deleted = clm
        .send(
            Method::DELETE,
            &format!("/api/v1/attachments/{attachment}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read_dir(tenant_folders[0].as_ref().unwrap().path())
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn uploads_over_the_size_limit_are_413_and_leave_nothing() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[("PACTUM_MAX_UPLOAD_BYTES", "1024")]).await;
    let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let created: Value = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/contracts",
            &admin,
            Some(nda("Small files only")),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(300_000, b'x');
    let part = reqwest::multipart::Part::bytes(big)
        .file_name("big.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let response = app
        .request(
            Method::POST,
            HOST,
            &format!("/api/v1/contracts/{id}/attachments"),
        )
        .bearer_auth(&admin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    let client = db.client().await;
    let rows: i64 = client
        .query_one("select count(*) from t_acme.attachments", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let leftovers: usize = std::fs::read_dir(&app.upload_dir)
        .map(|folders| {
            folders
                .map(|f| std::fs::read_dir(f.unwrap().path()).unwrap().count())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "the partial file is removed");
}

#[tokio::test]
async fn contracts_export_as_readable_pdf() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Globex Łódź Sp. z o.o."})),
        )
        .await;
    let id = clm
        .create(
            &clm.member,
            json!({"title": "Supply agreement – Škoda", "contract_type": "purchase_order",
        "counterparty_id": counterparty["id"], "value": "9800.00", "currency": "EUR",
        "body": "The supplier delivers widgets every month."}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{id}/pdf"),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        String::from_utf8_lossy(&bytes).contains("/FontFile2"),
        "its font is embedded"
    );
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("the PDF reads back");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Supply agreement – Škoda",
        "Counterparty: Globex Łódź Sp. z o.o.",
        "Value: 9800.00 EUR",
        "The supplier delivers widgets every month.",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let missing = clm
        .send(
            Method::GET,
            &format!("/api/v1/contracts/{}/pdf", uuid::Uuid::new_v4()),
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_kind_of_mutation_writes_its_audit_row() {
    let clm = Clm::new().await;
    let (_, counterparty) = clm
        .json(
            Method::POST,
            "/api/v1/counterparties",
            &clm.member,
            Some(json!({"name": "Initech", "email": "legal@initech.example"})),
        )
        .await;
    let cp = counterparty["id"].as_str().unwrap().to_owned();
    let (status, updated) = clm
        .json(
            Method::PATCH,
            &format!("/api/v1/counterparties/{cp}"),
            &clm.member,
            Some(json!({"website": "https://initech.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, contact) = clm
        .json(
            Method::POST,
            &format!("/api/v1/counterparties/{cp}/contacts"),
            &clm.member,
            Some(json!({"name": "Bill Lumbergh", "title": "VP"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
        &clm.member,
        None,
    )
    .await;
    // Counterparties are searchable by part of name or email, case-insensitively.
    let (_, found) = clm
        .json(
            Method::GET,
            "/api/v1/counterparties?q=INITECH.EX",
            &clm.viewer,
            None,
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, none) = clm
        .json(
            Method::GET,
            "/api/v1/counterparties?q=%25",
            &clm.viewer,
            None,
        )
        .await;
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "LIKE wildcards match themselves"
    );

    let contract = clm.create(&clm.member, nda("Audited everywhere")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, clause) = clm.json(Method::POST, "/api/v1/clauses", &clm.member,
        Some(json!({"title": "Secrecy", "category": "confidentiality", "body": "Keep it secret."}))).await;
    let clause = clause["id"].as_str().unwrap().to_owned();
    clm.send(
        Method::POST,
        &format!("/api/v1/contracts/{contract}/clauses"),
        &clm.member,
        Some(json!({"clause_id": clause})),
    )
    .await;
    let (status, detached) = clm
        .json(
            Method::DELETE,
            &format!("/api/v1/contracts/{contract}/clauses/{clause}"),
            &clm.member,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{detached}");
    let (_, comment) = clm
        .json(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/comments"),
            &clm.member,
            Some(json!({"body": "Looks fine"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
        &clm.member,
        None,
    )
    .await;
    let (_, template) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(json!({"name": "T", "contract_type": "nda", "body": "Hello {{name}}"})),
        )
        .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/templates/{}", template["id"].as_str().unwrap()),
        &clm.manager,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/clauses/{clause}"),
        &clm.manager,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/contracts/{contract}"),
        &clm.member,
        None,
    )
    .await;
    clm.send(
        Method::DELETE,
        &format!("/api/v1/counterparties/{cp}"),
        &clm.manager,
        None,
    )
    .await;

    let client = clm.db.client().await;
    let rows: Vec<(String, String)> = client
        .query(
            "select entity, action from t_acme.audit_logs order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected = [
        // The four users `Clm::new` creates (manager, two members, viewer).
        ("user", "create"),
        ("user", "create"),
        ("user", "create"),
        ("user", "create"),
        ("counterparty", "create"),
        ("counterparty", "update"),
        ("contact", "create"),
        ("contact", "delete"),
        ("contract", "create"),
        ("clause", "create"),
        ("contract", "attach_clause"),
        ("contract", "detach_clause"),
        ("comment", "create"),
        ("comment", "delete"),
        ("template", "create"),
        ("template", "delete"),
        ("clause", "delete"),
        ("contract", "delete"),
        ("counterparty", "delete"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(e, a)| (e.to_string(), a.to_string()))
        .collect();
    assert_eq!(rows, expected);
    let update: Value = client
        .query_one("select changes from t_acme.audit_logs where entity = 'counterparty' and action = 'update'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        update,
        json!({"website": {"old": null, "new": "https://initech.example"}})
    );
}

#[tokio::test]
async fn hostile_input_to_the_other_clm_routes_is_a_4xx_and_changes_nothing() {
    let clm = Clm::new().await;
    let contract = clm.create(&clm.member, nda("Target")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = clm.snapshot().await;
    let contract_path = format!("/api/v1/contracts/{contract}");
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": ""}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "x".repeat(301)}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "Evil", "email": "not an email"}),
        ),
        (
            Method::POST,
            "/api/v1/counterparties".into(),
            json!({"name": "Evil", "kind": "robot"}),
        ),
        (
            Method::POST,
            "/api/v1/clauses".into(),
            json!({"title": "x", "category": "'; drop table clauses; --", "body": "y"}),
        ),
        (
            Method::POST,
            "/api/v1/clauses".into(),
            json!({"title": "x", "category": "payment", "body": ""}),
        ),
        (
            Method::POST,
            format!("{contract_path}/comments"),
            json!({"body": "   "}),
        ),
        (
            Method::POST,
            format!("{contract_path}/comments"),
            json!({"body": "x".repeat(20_001)}),
        ),
        (
            Method::POST,
            format!("{contract_path}/clauses"),
            json!({"clause_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            Method::POST,
            format!("{contract_path}/clauses"),
            json!({"clause_id": "not-a-uuid"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "value": "12.5"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "end_date": "1800-01-01"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "owner_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": 1, "status": "executed"}),
        ),
        (
            Method::PATCH,
            contract_path.clone(),
            json!({"version": "1", "title": "x"}),
        ),
        (
            Method::POST,
            format!("{contract_path}/transition"),
            json!({"to": "executed", "version": 99}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "Bad Key", "label": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "nda", "label": "Again"}),
        ),
        (
            Method::POST,
            "/api/v1/contract-types".into(),
            json!({"key": "ok_key", "label": "x", "required_clause_categories": ["nonsense"]}),
        ),
    ];
    for (i, (method, path, body)) in cases.into_iter().enumerate() {
        let token = if path.contains("contract-types") {
            &clm.admin
        } else {
            &clm.manager
        };
        let response = clm
            .send(method.clone(), &path, token, Some(body.clone()))
            .await;
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_client_error(),
            "case {i}: {method} {path} {body} -> {status} {reply}"
        );
        assert!(reply["error"].is_string(), "case {i}: {reply}");
    }
    for path in [
        "/api/v1/counterparties?limit=0",
        "/api/v1/clauses?category=nope",
        "/api/v1/audit-logs?from=yesterday",
        "/api/v1/clauses/00000000-0000-0000-0000-000000000000/similar?threshold=5",
    ] {
        let token = if path.contains("audit") {
            &clm.admin
        } else {
            &clm.viewer
        };
        let response = clm.send(Method::GET, path, token, None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(clm.snapshot().await, before, "nothing was written");
}

#[tokio::test]
async fn clauses_and_templates_are_edited_by_their_authors_or_managers() {
    let clm = Clm::new().await;
    let (_, clause) = clm
        .json(
            Method::POST,
            "/api/v1/clauses",
            &clm.member,
            Some(json!({"title": "Net 30", "category": "payment", "body": "Pay in 30 days."})),
        )
        .await;
    let path = format!("/api/v1/clauses/{}", clause["id"].as_str().unwrap());
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.other_member,
            Some(json!({"body": "Pay never."})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"category": "nonsense"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"body": "Pay in 45 days."})),
        )
        .await;
    assert_eq!(
        (status, edited["body"].as_str(), edited["category"].as_str()),
        (StatusCode::OK, Some("Pay in 45 days."), Some("payment"))
    );
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"title": "Net 45"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, template) = clm
        .json(
            Method::POST,
            "/api/v1/templates",
            &clm.manager,
            Some(
                json!({"name": "NDA", "contract_type": "nda", "body": "Between {{a}} and {{b}}."}),
            ),
        )
        .await;
    let path = format!("/api/v1/templates/{}", template["id"].as_str().unwrap());
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.member,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, edited) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"body": "Between {{party}} only."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["variables"], json!(["party"]));
    let (status, _) = clm
        .json(
            Method::PATCH,
            &path,
            &clm.manager,
            Some(json!({"contract_type": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let client = clm.db.client().await;
    let updates: i64 = client
        .query_one("select count(*) from t_acme.audit_logs where action = 'update' and entity in ('clause', 'template')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(updates, 3);
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

#[tokio::test]
async fn every_list_has_one_envelope_and_its_cursors_walk_it_whole() {
    let clm = Clm::new().await;
    let contract = clm
        .create(
            &clm.admin,
            json!({"title": "Paged", "contract_type": "nda", "body": "v1",
                   "start_date": "2026-02-01", "end_date": "2026-12-31", "renewal_notice_days": 30}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..2 {
        clm.create(&clm.member, nda(&format!("Another {n}"))).await;
    }
    for n in 0..3 {
        let path = format!("/api/v1/contracts/{contract}");
        let (status, _) = clm
            .json(
                Method::PATCH,
                &path,
                &clm.admin,
                Some(json!({"version": n + 1, "body": format!("v{}", n + 2)})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/comments"),
                &clm.admin,
                Some(json!({"body": format!("comment {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, counterparty) = clm
            .json(
                Method::POST,
                "/api/v1/counterparties",
                &clm.admin,
                Some(json!({"name": format!("Party {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{counterparty}");
        let (status, clause) = clm
            .json(
                Method::POST,
                "/api/v1/clauses",
                &clm.admin,
                Some(json!({"title": format!("Clause {n}"), "category": "confidentiality", "body": "The parties keep secrets."})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{clause}");
        let (status, _) = clm
            .json(
                Method::POST,
                &format!("{path}/clauses"),
                &clm.admin,
                Some(json!({"clause_id": clause["id"]})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = clm
            .json(
                Method::POST,
                "/api/v1/templates",
                &clm.admin,
                Some(json!({"name": format!("Template {n}"), "contract_type": "nda", "body": "Hello"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let response = upload(
            &clm,
            HOST,
            &clm.admin,
            &contract,
            &format!("f{n}.txt"),
            "text/plain",
            b"text".to_vec(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for (path, key) in [
        ("/api/v1/users".to_owned(), "id"),
        ("/api/v1/contracts".to_owned(), "id"),
        ("/api/v1/counterparties".to_owned(), "id"),
        ("/api/v1/clauses".to_owned(), "id"),
        ("/api/v1/templates".to_owned(), "id"),
        ("/api/v1/contract-types".to_owned(), "key"),
        ("/api/v1/audit-logs".to_owned(), "id"),
        (format!("/api/v1/contracts/{contract}/versions"), "version"),
        (format!("/api/v1/contracts/{contract}/comments"), "id"),
        (format!("/api/v1/contracts/{contract}/attachments"), "id"),
        (format!("/api/v1/contracts/{contract}/clauses"), "id"),
        (
            "/api/v1/calendar?from=2026-01-01&to=2026-12-31".to_owned(),
            "kind",
        ),
    ] {
        let whole = walk(&clm, &path, 100, key).await;
        assert!(whole.len() >= 3, "{path}: {whole:?}");
        assert_eq!(walk(&clm, &path, 1, key).await, whole, "{path} one by one");
        assert_eq!(walk(&clm, &path, 2, key).await, whole, "{path} two by two");
    }
}
