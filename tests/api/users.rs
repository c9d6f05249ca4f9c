//! User management and role enforcement through the real server.

use crate::app::{assert_rate_limited, code, spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const HOST: &str = "acme.localhost";

async fn setup() -> (TestDb, TestApp, String) {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    (db, app, admin)
}

async fn create_user(app: &TestApp, admin: &str, email: &str, role: &str) -> Value {
    let response = app
        .call(
            Method::POST,
            HOST,
            "/api/v1/users",
            admin,
            Some(
                json!({"email": email, "display_name": email, "role": role, "password": PASSWORD}),
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{email}");
    response.json().await.unwrap()
}

/// The admin's token pair from a new login.
async fn signed_in(app: &TestApp) -> Value {
    let response = app.login(HOST, "admin@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn refresh(app: &TestApp, session: &Value) -> reqwest::Response {
    app.request(Method::POST, HOST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .await
        .unwrap()
}

async fn user_count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("select count(*) from t_acme.users", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_admin_creates_lists_reads_updates_and_deletes_users() {
    let (_db, app, admin) = setup().await;
    let created = create_user(&app, &admin, "Member@Example.com", "member").await;
    assert_eq!(created["email"], "Member@example.com");
    assert_eq!(created["role"], "member");
    assert_eq!(created["active"], true);
    assert!(created.get("password_hash").is_none());
    let id = created["id"].as_str().unwrap();

    let list: Value = app
        .call(Method::GET, HOST, "/api/v1/users", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list.get("next_cursor").is_none(), "one page holds both");

    let path = format!("/api/v1/users/{id}");
    let fetched: Value = app
        .call(Method::GET, HOST, &path, &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["id"], id);

    let updated: Value = app
        .call(
            Method::PATCH,
            HOST,
            &path,
            &admin,
            Some(json!({"role": "manager", "display_name": "Mona"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (updated["role"].as_str(), updated["display_name"].as_str()),
        (Some("manager"), Some("Mona"))
    );

    assert_eq!(
        app.call(Method::DELETE, HOST, &path, &admin, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        code(app.call(Method::GET, HOST, &path, &admin, None).await).await,
        (StatusCode::NOT_FOUND, "user_not_found".into())
    );
}

#[tokio::test]
async fn only_admins_manage_users_whatever_their_token_once_said() {
    let (_db, app, admin) = setup().await;
    for role in ["manager", "member", "viewer"] {
        create_user(&app, &admin, &format!("{role}@example.com"), role).await;
        let token = app
            .access_token(HOST, &format!("{role}@example.com"), PASSWORD)
            .await;
        assert_eq!(
            code(
                app.call(Method::GET, HOST, "/api/v1/users", &token, None)
                    .await
            )
            .await,
            (StatusCode::FORBIDDEN, "forbidden".into()),
            "{role}"
        );
        // Everyone may read themselves.
        assert_eq!(
            app.call(Method::GET, HOST, "/api/v1/auth/me", &token, None)
                .await
                .status(),
            StatusCode::OK
        );
    }
    // Promote the manager: the same, older token now works, since roles are read live.
    let promoted = create_user(&app, &admin, "rising@example.com", "viewer").await;
    let token = app.access_token(HOST, "rising@example.com", PASSWORD).await;
    let path = format!("/api/v1/users/{}", promoted["id"].as_str().unwrap());
    app.call(
        Method::PATCH,
        HOST,
        &path,
        &admin,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        app.call(Method::GET, HOST, "/api/v1/users", &token, None)
            .await
            .status(),
        StatusCode::OK
    );
    // Deactivated: refused at once, and cannot log in.
    app.call(
        Method::PATCH,
        HOST,
        &path,
        &admin,
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(
        code(
            app.call(Method::GET, HOST, "/api/v1/users", &token, None)
                .await
        )
        .await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    assert_eq!(
        app.login(HOST, "rising@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_deactivated_or_deleted() {
    let (db, app, admin) = setup().await;
    let me: Value = app
        .call(Method::GET, HOST, "/api/v1/auth/me", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    for body in [json!({"role": "member"}), json!({"active": false})] {
        assert_eq!(
            code(
                app.call(Method::PATCH, HOST, &path, &admin, Some(body))
                    .await
            )
            .await,
            (StatusCode::CONFLICT, "last_admin".into())
        );
    }
    assert_eq!(
        code(app.call(Method::DELETE, HOST, &path, &admin, None).await).await,
        (StatusCode::CONFLICT, "last_admin".into())
    );
    assert_eq!(user_count(&db).await, 1);
}

#[tokio::test]
async fn bad_user_input_is_refused_and_nothing_is_stored() {
    let (db, app, admin) = setup().await;
    let good = json!({"email": "x@example.com", "display_name": "X", "role": "member", "password": PASSWORD});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("email", json!("not-an-email")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("email", json!("admin@example.com")),
            StatusCode::CONFLICT,
            "email_taken",
        ),
        (
            with("email", json!("ADMIN@example.com")),
            StatusCode::CONFLICT,
            "email_taken",
        ),
        (
            with("role", json!("owner")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("password", json!("short")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("display_name", json!("")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("display_name", json!("x".repeat(500))),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("email", json!("'; drop table users; --@example.com")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            with("is_superuser", json!(true)),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (i, (body, status, expected)) in cases.into_iter().enumerate() {
        let response = app
            .call(Method::POST, HOST, "/api/v1/users", &admin, Some(body))
            .await;
        assert_eq!(
            code(response).await,
            (status, expected.to_owned()),
            "case {i}"
        );
    }
    assert_eq!(user_count(&db).await, 1);
    for (path, expected) in [
        (
            "/api/v1/users/not-a-uuid",
            (StatusCode::BAD_REQUEST, "bad_request"),
        ),
        (
            "/api/v1/users/00000000-0000-0000-0000-000000000000",
            (StatusCode::NOT_FOUND, "user_not_found"),
        ),
        (
            "/api/v1/users?limit=100000",
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
        (
            "/api/v1/users?limit=abc",
            (StatusCode::BAD_REQUEST, "bad_request"),
        ),
    ] {
        let response = app.call(Method::GET, HOST, path, &admin, None).await;
        assert_eq!(
            code(response).await,
            (expected.0, expected.1.to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let (_db, app, admin) = setup().await;
    let other_session = signed_in(&app).await;
    let change = |current: &str, new: &str| {
        app.call(
            Method::POST,
            HOST,
            "/api/v1/auth/password",
            &admin,
            Some(json!({"current_password": current, "new_password": new})),
        )
    };
    assert_eq!(
        code(change("wrong password!", "a brand new password").await).await,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
    assert_eq!(
        code(change(PASSWORD, "short").await).await,
        (StatusCode::BAD_REQUEST, "invalid_input".into())
    );
    let changed = change(PASSWORD, "a brand new password").await;
    assert_eq!(changed.status(), StatusCode::OK);
    let renewed: Value = changed.json().await.unwrap();
    // Every token handed out before is refused at once, not at its expiry; this session
    // goes on with the pair it got back.
    let other_access = other_session["access_token"].as_str().unwrap();
    for (what, token) in [("this session's", &admin[..]), ("another's", other_access)] {
        for path in ["/api/v1/auth/me", "/api/v1/users", "/api/v1/contracts"] {
            assert_eq!(
                code(app.call(Method::GET, HOST, path, token, None).await).await,
                (StatusCode::UNAUTHORIZED, "invalid_token".into()),
                "{what} old access token on {path}"
            );
        }
    }
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        app.call(Method::GET, HOST, "/api/v1/auth/me", renewed_access, None)
            .await
            .status(),
        StatusCode::OK
    );
    let rotated = refresh(&app, &renewed).await;
    assert_eq!(
        rotated.status(),
        StatusCode::OK,
        "the new refresh token works"
    );
    assert_eq!(
        app.login(HOST, "admin@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(HOST, "admin@example.com", "a brand new password")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, &other_session).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Guessing the current password through a password change spends the login budget of
/// the user's email: a stolen token gives no unlimited guesses, and the login is
/// limited with it.
#[tokio::test]
async fn guessing_the_current_password_spends_the_login_budget() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "3")]).await;
    let admin = app.access_token(HOST, "admin@example.com", PASSWORD).await;
    let guess = async || {
        app.call(
            Method::POST,
            HOST,
            "/api/v1/auth/password",
            &admin,
            Some(json!({"current_password": "a wrong guess!", "new_password": "a brand new password"})),
        )
        .await
    };
    for _ in 0..2 {
        assert_eq!(
            code(guess().await).await,
            (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
        );
    }
    assert_rate_limited(guess().await).await;
    assert_rate_limited(app.login(HOST, "admin@example.com", PASSWORD).await).await;
}

/// An admin's password reset or a deactivation ends the user's sessions the moment it
/// commits: every access token they hold is refused on every kind of route (reads,
/// writes, their profile, a kept idempotent answer), and a reactivation does not bring
/// the old tokens back.
#[tokio::test]
async fn a_reset_or_a_deactivation_ends_every_session_at_once_and_reactivation_revives_none() {
    let (_db, app, admin) = setup().await;
    let user = create_user(&app, &admin, "sam@example.com", "member").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let create_once = |token: String| {
        app.request(Method::POST, HOST, "/api/v1/contracts")
            .bearer_auth(token)
            .header("Idempotency-Key", "create-once")
            .json(&json!({"title": "Once", "contract_type": "nda", "body": "Terms."}))
            .send()
    };
    let refused_everywhere = async |token: &str, what: &str| {
        for path in ["/api/v1/auth/me", "/api/v1/contracts"] {
            assert_eq!(
                code(app.call(Method::GET, HOST, path, token, None).await).await,
                (StatusCode::UNAUTHORIZED, "invalid_token".into()),
                "{what}: GET {path}"
            );
        }
        let write = app
            .call(
                Method::POST,
                HOST,
                "/api/v1/counterparties",
                token,
                Some(json!({"name": "Initech"})),
            )
            .await;
        assert_eq!(
            code(write).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{what}: a write"
        );
        assert_eq!(
            code(create_once(token.to_owned()).await.unwrap()).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{what}: the kept answer of an idempotent request"
        );
    };

    let before_reset = app.access_token(HOST, "sam@example.com", PASSWORD).await;
    let first = create_once(before_reset.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let replayed = create_once(before_reset.clone()).await.unwrap();
    assert_eq!(
        replayed.headers()["idempotent-replayed"],
        "true",
        "the key's answer is kept"
    );
    let reset = app
        .call(
            Method::PATCH,
            HOST,
            &path,
            &admin,
            Some(json!({"password": "a password the admin chose"})),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    refused_everywhere(&before_reset, "after a reset").await;

    let before_deactivation = app
        .access_token(HOST, "sam@example.com", "a password the admin chose")
        .await;
    assert_eq!(
        app.call(
            Method::GET,
            HOST,
            "/api/v1/contracts",
            &before_deactivation,
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    for active in [false, true] {
        let toggled = app
            .call(
                Method::PATCH,
                HOST,
                &path,
                &admin,
                Some(json!({ "active": active })),
            )
            .await;
        assert_eq!(toggled.status(), StatusCode::OK);
    }
    refused_everywhere(
        &before_deactivation,
        "after a deactivation and reactivation",
    )
    .await;
    let after = app
        .access_token(HOST, "sam@example.com", "a password the admin chose")
        .await;
    assert_eq!(
        app.call(Method::GET, HOST, "/api/v1/contracts", &after, None)
            .await
            .status(),
        StatusCode::OK,
        "a new sign-in works"
    );
}

/// A login or a refresh that commits while a password change is committing can issue
/// a refresh token the change's revocation does not see. It is still of the ended
/// session generation, and refused: here the race's outcome is made directly, a
/// refresh token left unrevoked while the user's generation moves on.
#[tokio::test]
async fn a_refresh_token_of_an_ended_session_is_refused_even_if_it_escaped_revocation() {
    let (db, app, _admin) = setup().await;
    let session = signed_in(&app).await;
    db.client()
        .await
        .batch_execute("update t_acme.users set session_generation = session_generation + 1")
        .await
        .unwrap();
    let refreshed = refresh(&app, &session).await;
    assert_eq!(
        code(refreshed).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    let fresh = signed_in(&app).await;
    let refreshed = refresh(&app, &fresh).await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "the new session's refresh works"
    );
}

#[tokio::test]
async fn the_user_list_pages_by_key_in_email_order() {
    let (_db, app, admin) = setup().await;
    for email in ["carol@example.com", "Bob@example.com", "dave@example.com"] {
        create_user(&app, &admin, email, "viewer").await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_owned();
    loop {
        let page: Value = app
            .call(Method::GET, HOST, &path, &admin, None)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "admin@example.com",
            "Bob@example.com",
            "carol@example.com",
            "dave@example.com"
        ]
    );
    let (status, error) = code(
        app.call(
            Method::GET,
            HOST,
            "/api/v1/users?cursor=bm9wZQ",
            &admin,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
}
