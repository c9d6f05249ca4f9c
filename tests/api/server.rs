//! The real server on a random port: platform routes and tenant resolution.

use std::time::{Duration, Instant};

use crate::app::spawn_app;
use crate::support::TestDb;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Host, MigrationSet, TenantSlug};
use reqwest::StatusCode;
use serde_json::Value;

async fn create(db: &TestDb, slug: &str) {
    let mut client = db.client().await;
    let new = NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.localhost")).unwrap(),
    )
    .unwrap();
    provision::create_tenant(&mut client, &MigrationSet::tenant(), &new)
        .await
        .unwrap();
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_platform_host_serves_health_and_readiness_and_nothing_of_tenants() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[]).await;
    let health = app.get("localhost", "/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.get("localhost", "/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
    assert_eq!(
        error_code(app.get("localhost", "/api/v1/tenant").await).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    assert_eq!(
        error_code(app.get("acme.localhost", "/healthz").await).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
}

#[tokio::test]
async fn each_host_is_served_as_its_own_tenant() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    create(&db, "globex").await;
    let app = spawn_app(&db, &[]).await;
    for slug in ["acme", "globex"] {
        let response = app
            .get(&format!("{slug}.localhost"), "/api/v1/tenant")
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["slug"], slug);
    }
    // Case and a trailing dot do not make another host.
    let response = app.get("ACME.localhost.", "/api/v1/tenant").await;
    assert_eq!(response.json::<Value>().await.unwrap()["slug"], "acme");
}

#[tokio::test]
async fn unknown_and_invalid_hosts_are_refused_with_stable_codes() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    assert_eq!(
        error_code(app.get("nobody.localhost", "/api/v1/tenant").await).await,
        (StatusCode::NOT_FOUND, "unknown_tenant".into())
    );
    for bad in ["bad_host.localhost", "[::1]", "acme.localhost/x"] {
        let response = app
            .http
            .get(format!("http://127.0.0.1:{}/api/v1/tenant", app.port))
            .header("host", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(response).await,
            (StatusCode::BAD_REQUEST, "invalid_host".into()),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn suspended_and_migrating_tenants_are_refused_until_they_are_fine_again() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[("PACTUM_TENANT_CACHE_TTL_SECS", "3600")]).await;
    assert_eq!(
        app.get("acme.localhost", "/api/v1/tenant").await.status(),
        StatusCode::OK
    );

    let client = db.client().await;
    client
        .batch_execute("update public.tenants set status = 'suspended' where slug = 'acme'")
        .await
        .unwrap();
    let response = wait_for_status(&app, "acme.localhost", StatusCode::FORBIDDEN).await;
    assert_eq!(error_code(response).await.1, "tenant_suspended");

    client
        .batch_execute(
            "update public.tenants set status = 'active', schema_version = schema_version - 1 \
             where slug = 'acme'",
        )
        .await
        .unwrap();
    let response = wait_for_status(&app, "acme.localhost", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("30".into())
    );
    assert_eq!(error_code(response).await.1, "tenant_migrating");

    client
        .batch_execute(
            "update public.tenants set schema_version = schema_version + 1 where slug = 'acme'",
        )
        .await
        .unwrap();
    wait_for_status(&app, "acme.localhost", StatusCode::OK).await;
}

#[tokio::test]
async fn a_tenant_created_while_the_server_runs_is_served_within_a_second() {
    let db = TestDb::migrated().await;
    // A long TTL: only the registry notification can explain a quick change.
    let app = spawn_app(&db, &[("PACTUM_TENANT_CACHE_TTL_SECS", "3600")]).await;
    // The unknown host is now cached as unknown.
    assert_eq!(
        app.get("initech.localhost", "/api/v1/tenant")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    create(&db, "initech").await;
    let created = Instant::now();
    let response = wait_for_status(&app, "initech.localhost", StatusCode::OK).await;
    assert!(
        created.elapsed() < Duration::from_secs(1),
        "served after {:?}",
        created.elapsed()
    );
    assert_eq!(response.json::<Value>().await.unwrap()["slug"], "initech");
}

#[tokio::test]
async fn forwarded_host_is_believed_only_behind_a_trusted_proxy() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    create(&db, "globex").await;
    for (trust, expected) in [("false", "acme"), ("true", "globex")] {
        let app = spawn_app(&db, &[("PACTUM_TRUST_PROXY", trust)]).await;
        let response = app
            .request(reqwest::Method::GET, "acme.localhost", "/api/v1/tenant")
            .header("x-forwarded-host", "globex.localhost")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.json::<Value>().await.unwrap()["slug"],
            expected,
            "trust={trust}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[]).await;
    assert_eq!(
        error_code(app.get("acme.localhost", "/api/v1/nothing-here").await).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
}

/// Polls until `host` answers `/api/v1/tenant` with `status` (registry changes reach
/// the server asynchronously), for at most five seconds.
async fn wait_for_status(
    app: &crate::app::TestApp,
    host: &str,
    status: StatusCode,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.get(host, "/api/v1/tenant").await;
        if response.status() == status || Instant::now() > deadline {
            assert_eq!(response.status(), status, "{host} never answered {status}");
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_inbound_one_is_kept() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[]).await;
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let generated = app.get("acme.localhost", "/api/v1/tenant").await;
    let generated = id_of(&generated).expect("a request id is made");
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let send = |id: &'static str, host: &'static str| {
        app.request(reqwest::Method::GET, host, "/api/v1/tenant")
            .header("x-request-id", id)
            .send()
    };
    let kept = send("trace-abc.123", "acme.localhost").await.unwrap();
    assert_eq!(id_of(&kept).as_deref(), Some("trace-abc.123"));
    let replaced = send("evil id\twith tab", "acme.localhost").await.unwrap();
    assert_ne!(id_of(&replaced).as_deref(), Some("evil id\twith tab"));
    assert!(id_of(&replaced).is_some());
    // Refusals made by the tenant middleware carry it too.
    let refused = send("on-an-error", "nobody.localhost").await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(id_of(&refused).as_deref(), Some("on-an-error"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_show_the_pool() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[]).await;
    for _ in 0..3 {
        assert_eq!(
            app.get("acme.localhost", "/api/v1/tenant").await.status(),
            StatusCode::OK
        );
    }
    app.get("nobody.localhost", "/api/v1/tenant").await;
    app.get("acme.localhost", "/api/v1/users/some-random-id")
        .await;
    // Units of work in the tenant's schema, one at a time.
    for _ in 0..3 {
        let refused = app
            .login("acme.localhost", "nobody@acme.example", "not the password")
            .await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let metrics = app.get("localhost", "/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/tenant",status="200"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#));
    // Raw paths never become labels.
    assert!(!text.contains("some-random-id"));
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("pactum_db_pool_max_size 4"));
    // An idle pool serves a tenant's units of work from its first home.
    let home: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix(r#"pactum_db_pool_checkouts_total{connection="home"} "#))
        .expect("checkouts by connection")
        .parse()
        .unwrap();
    assert!(home >= 3, "{text}");
    // Tenants cannot read the platform's metrics.
    assert_eq!(
        app.get("acme.localhost", "/metrics").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served_on_the_platform_host_only() {
    let db = TestDb::migrated().await;
    create(&db, "acme").await;
    let app = spawn_app(&db, &[]).await;
    let doc: Value = app
        .get("localhost", "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/tenant", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users/{id}", "patch"),
        ("/api/v1/users/{id}", "delete"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    // Every route the source defines is documented, with the same method.
    let routes = routes_in_source(&crate::support::workspace_root().join("src"));
    assert!(
        routes.len() > 40,
        "the scan finds the routes ({})",
        routes.len()
    );
    for (method, path) in routes {
        let path = path.replace("{_:.*}", "").trim_end_matches('/').to_owned();
        if path.starts_with("/api/docs") || path.is_empty() {
            continue;
        }
        assert!(
            paths.get(&path).and_then(|p| p.get(&method)).is_some(),
            "{method} {path} is served but not in the OpenAPI document"
        );
    }
    assert_eq!(
        paths["/api/v1/auth/me"]["get"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(paths["/api/v1/auth/login"]["post"]["responses"]["429"].is_object());

    let ui = app.get("localhost", "/api/docs/").await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().to_lowercase().contains("swagger"));
    // The UI's script is compiled in, not fetched from a CDN.
    let bundle = app.get("localhost", "/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), StatusCode::OK);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);
    assert_eq!(
        app.get("acme.localhost", "/api/openapi.json")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("acme.localhost", "/api/docs/").await.status(),
        StatusCode::NOT_FOUND
    );
    // The routes registered after the docs still answer on the platform host.
    assert_eq!(
        app.get("localhost", "/healthz").await.status(),
        StatusCode::OK
    );
}

/// `(method, path)` of every `#[get("...")]`-style route attribute under `dir`.
pub(crate) fn routes_in_source(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            routes.extend(routes_in_source(&path));
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(rest) = line.trim().strip_prefix(&format!("#[{method}(\"")) {
                    if let Some(route) = rest.split('"').next() {
                        routes.push((method.to_owned(), route.to_owned()));
                    }
                }
            }
        }
    }
    routes
}
