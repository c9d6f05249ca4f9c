//! Teams through the real server: admins manage them and their members, everyone in
//! the tenant reads them, bad input changes nothing, and every change is an event.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::{spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;

const HOST: &str = "acme.localhost";

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app.call(method, HOST, path, token, body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admins_manage_teams_and_members_and_everyone_reads_them() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let mut users = Vec::new();
    for (email, role) in [
        ("lee@example.com", "manager"),
        ("vic@example.com", "viewer"),
    ] {
        let (status, user) = call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/users",
            Some(
                json!({"email": email, "display_name": email, "role": role, "password": PASSWORD}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        users.push(user["id"].as_str().unwrap().to_owned());
    }
    let manager = app.access_token(HOST, "lee@example.com", PASSWORD).await;
    let viewer = app.access_token(HOST, "vic@example.com", PASSWORD).await;

    let (status, legal) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "legal", "description": "Contract lawyers"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{legal}");
    assert_eq!(legal["member_count"], 0);
    let team = legal["id"].as_str().unwrap().to_owned();
    let members = format!("/api/v1/teams/{team}/members/{}", users[0]);
    for _ in 0..2 {
        let (status, with) = call(&app, &admin, Method::PUT, &members, None).await;
        assert_eq!(status, StatusCode::OK, "adding twice is fine: {with}");
        assert_eq!(with["member_count"], 1);
        assert_eq!(with["members"][0]["email"], "lee@example.com");
    }
    // Viewers read; only admins change.
    let (status, listed) = call(&app, &viewer, Method::GET, "/api/v1/teams", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["name"], "legal");
    for (token, method, path, body) in [
        (
            &manager,
            Method::POST,
            "/api/v1/teams".to_owned(),
            Some(json!({"name": "finance"})),
        ),
        (
            &manager,
            Method::PATCH,
            format!("/api/v1/teams/{team}"),
            Some(json!({"description": "x"})),
        ),
        (
            &viewer,
            Method::DELETE,
            format!("/api/v1/teams/{team}"),
            None,
        ),
        (
            &manager,
            Method::PUT,
            format!("/api/v1/teams/{team}/members/{}", users[1]),
            None,
        ),
    ] {
        let (status, _) = call(&app, token, method, &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    let (status, renamed) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/teams/{team}"),
        Some(json!({"name": "legal-emea"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "legal-emea");
    let (status, _) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "legal-emea"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Bad input: a clear 400 or 404, nothing written.
    for (method, path, body, expected) in [
        (
            Method::POST,
            "/api/v1/teams".to_owned(),
            Some(json!({"name": "Legal Team"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/teams".to_owned(),
            Some(json!({"name": "x".repeat(51)})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/teams".to_owned(),
            Some(json!({"name": "ops", "members": []})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/teams".to_owned(),
            Some(json!({"name": "ops", "description": "d".repeat(501)})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            format!("/api/v1/teams/{team}/members/{}", uuid::Uuid::new_v4()),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            format!(
                "/api/v1/teams/{}/members/{}",
                uuid::Uuid::new_v4(),
                users[1]
            ),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            format!("/api/v1/teams/{team}/members/{}", users[1]),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            format!("/api/v1/teams/{team}/members/not-a-uuid"),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = call(&app, &admin, method, &path, body).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: a stable code");
    }
    let (_, listed) = call(&app, &admin, Method::GET, "/api/v1/teams", None).await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );

    // Deleting a user takes their memberships along.
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/users/{}", users[0]),
        None,
    )
    .await;
    assert!(status.is_success(), "{status}");
    let (_, after) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/teams/{team}"),
        None,
    )
    .await;
    assert_eq!(after["member_count"], 0);

    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/teams/{team}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let events = app
        .settled_events(HOST, &admin, "/api/v1/events?type=team.*", 4)
        .await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "team.created",
            "team.member_added",
            "team.updated",
            "team.deleted"
        ]
    );
}
