//! Authentication through the real server: per-tenant logins, tokens bound to their
//! tenant, refresh rotation with reuse detection, logout, hostile bodies, and tenant
//! isolation under concurrency through a tiny pool.

use crate::app::{assert_rate_limited, code, spawn_app, tenant_with_admin, TestApp, PASSWORD};
use crate::support::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn tokens(app: &TestApp, host: &str) -> Value {
    let response = app.login(host, "admin@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn me(app: &TestApp, host: &str, access_token: &str) -> reqwest::Response {
    app.request(Method::GET, host, "/api/v1/auth/me")
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, host: &str, path: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, host, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_email_logs_into_each_tenant_separately() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    tenant_with_admin(&db, "globex", "another long password").await;
    let app = spawn_app(&db, &[]).await;

    let acme = tokens(&app, "acme.localhost").await;
    assert_eq!(acme["token_type"], "Bearer");
    assert_eq!(acme["expires_in"], 900);
    let profile: Value = me(
        &app,
        "acme.localhost",
        acme["access_token"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(profile["display_name"], "Admin of acme");
    assert_eq!(profile["role"], "admin");
    // acme's password does not open globex.
    assert_eq!(
        code(
            app.login("globex.localhost", "admin@example.com", PASSWORD)
                .await
        )
        .await,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn a_token_shown_on_another_tenants_host_is_refused_even_for_the_same_user_id() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    tenant_with_admin(&db, "globex", PASSWORD).await;
    // Give globex's admin the very id of acme's admin.
    let client = db.client().await;
    client
        .batch_execute(
            "update t_globex.users set id = (select id from t_acme.users where email = 'admin@example.com')",
        )
        .await
        .unwrap();
    let app = spawn_app(&db, &[]).await;
    let acme = tokens(&app, "acme.localhost").await;
    let access = acme["access_token"].as_str().unwrap();
    assert_eq!(
        me(&app, "acme.localhost", access).await.status(),
        StatusCode::OK
    );
    let response = me(&app, "globex.localhost", access).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("Bearer".into())
    );
    assert_eq!(
        code(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    // Refresh tokens are tenant-bound too.
    let refresh = post_json(
        &app,
        "globex.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": acme["refresh_token"]}),
    )
    .await;
    assert_eq!(
        code(refresh).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn wrong_password_unknown_email_and_bad_tokens_are_401s() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    for (email, password) in [
        ("admin@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
    ] {
        assert_eq!(
            code(app.login("acme.localhost", email, password).await).await,
            (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
        );
    }
    let good = tokens(&app, "acme.localhost").await;
    let payload = good["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    for bad in [
        "garbage".to_owned(),
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."),
        format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.c2lnbmF0dXJl"),
    ] {
        assert_eq!(
            code(me(&app, "acme.localhost", &bad).await).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{bad}"
        );
    }
    let no_header = app
        .request(Method::GET, "acme.localhost", "/api/v1/auth/me")
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_family() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let first = tokens(&app, "acme.localhost").await;
    let rotated = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second: Value = rotated.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        me(
            &app,
            "acme.localhost",
            second["access_token"].as_str().unwrap()
        )
        .await
        .status(),
        StatusCode::OK
    );

    // The first token comes back: theft. The family, including the second, is revoked.
    let replay = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(
        code(replay).await,
        (StatusCode::UNAUTHORIZED, "refresh_token_reused".into())
    );
    let after = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": second["refresh_token"]}),
    )
    .await;
    assert_eq!(
        code(after).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );

    // Another login is another family, unaffected.
    let other = tokens(&app, "acme.localhost").await;
    let fine = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": other["refresh_token"]}),
    )
    .await;
    assert_eq!(fine.status(), StatusCode::OK);
}

/// Each refresh leaves a spent token behind, kept to spot its reuse; past their
/// expiry they go as the user's next tokens are issued.
#[tokio::test]
async fn spent_refresh_tokens_go_once_expired() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let clock = pactum::kernel::clock::ManualClock::starting_at(chrono::Utc::now());
    let app = crate::app::spawn_app_with_clock(&db, &[], clock.clone()).await;
    let mut session = tokens(&app, "acme.localhost").await;
    for _ in 0..5 {
        let rotated = post_json(
            &app,
            "acme.localhost",
            "/api/v1/auth/refresh",
            json!({"refresh_token": session["refresh_token"]}),
        )
        .await;
        assert_eq!(rotated.status(), StatusCode::OK);
        session = rotated.json().await.unwrap();
    }
    let client = db.client().await;
    let stored = async || -> i64 {
        client
            .query_one("select count(*) from t_acme.refresh_tokens", &[])
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(stored().await, 6, "spent tokens are kept until they expire");
    clock.advance(chrono::Duration::days(
        pactum::kernel::tokens::REFRESH_TOKEN_TTL_DAYS + 1,
    ));
    tokens(&app, "acme.localhost").await;
    assert_eq!(stored().await, 1, "only the token just issued");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let session = tokens(&app, "acme.localhost").await;
    let out = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/logout",
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let refresh = post_json(
        &app,
        "acme.localhost",
        "/api/v1/auth/refresh",
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(
        code(refresh).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    let client = db.client().await;
    let live: i64 = client
        .query_one(
            "select count(*) from t_acme.refresh_tokens where revoked_at is null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 0);
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies_get_4xx_json() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let send = |body: String, content_type: &'static str| {
        app.request(Method::POST, "acme.localhost", "/api/v1/auth/login")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            send("{not json".into(), "application/json").await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            send(
                r#"{"email": 1, "password": "x"}"#.into(),
                "application/json",
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            send(
                r#"{"email": "a@b.c", "password": "x", "admin": true}"#.into(),
                "application/json",
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            send(
                r#"{"email": "a@b.c", "password": "x"}"#.into(),
                "text/plain",
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            send(
                format!(r#"{{"email": "{}", "password": "x"}}"#, "a".repeat(100_000)),
                "application/json",
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            send(
                format!(r#"{{"email": "{}", "password": "x"}}"#, "a".repeat(1000)),
                "application/json",
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            send(
                r#"{"email": "' or 1=1 --", "password": "' or 1=1 --"}"#.into(),
                "application/json",
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
    ];
    for (i, (response, status, expected)) in cases.into_iter().enumerate() {
        assert_eq!(
            code(response.unwrap()).await,
            (status, expected.to_owned()),
            "case {i}"
        );
    }
}

#[tokio::test]
async fn eight_tenants_hammered_through_two_connections_only_ever_see_their_own_data() {
    let db = TestDb::migrated().await;
    let slugs: Vec<String> = (0..8).map(|i| format!("tenant{i}")).collect();
    for slug in &slugs {
        tenant_with_admin(&db, slug, PASSWORD).await;
    }
    let app = spawn_app(&db, &[("PACTUM_DB_POOL_SIZE", "2")]).await;
    let mut sessions = Vec::new();
    for slug in &slugs {
        let host = format!("{slug}.localhost");
        let token = tokens(&app, &host).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        sessions.push((slug.clone(), host, token));
    }
    let app = &app;
    let requests = sessions.iter().flat_map(|(slug, host, token)| {
        (0..25).map(move |_| async move {
            let profile: Value = me(app, host, token).await.json().await.unwrap();
            assert_eq!(
                profile["display_name"],
                format!("Admin of {slug}"),
                "{host}"
            );
        })
    });
    futures::future::join_all(requests).await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_tenant_and_email() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    tenant_with_admin(&db, "globex", PASSWORD).await;
    let app = spawn_app(&db, &[("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        let response = app
            .login("acme.localhost", "admin@example.com", "wrong password!")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: the budget counts attempts.
    let limited = app
        .login("acme.localhost", "ADMIN@example.com", PASSWORD)
        .await;
    assert_rate_limited(limited).await;
    // Another tenant, or another email, has its own budget.
    assert_eq!(
        app.login("globex.localhost", "admin@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("acme.localhost", "someone@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Tokens properly signed with the server's key, but expired, for another audience or
/// from another issuer. The unchanged claims, re-signed, pass: the refusals are the
/// claims' doing, not the re-signing's.
#[tokio::test]
async fn signed_but_expired_not_yet_valid_foreign_audience_or_foreign_issuer_tokens_are_401s() {
    use pactum::kernel::tokens::{Claims, TokenKeys};
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    let secret = crate::app::TEST_JWT_SECRET.as_bytes();
    let good = tokens(&app, "acme.localhost").await;
    let claims = TokenKeys::new(secret)
        .verify(
            good["access_token"].as_str().unwrap(),
            pactum::kernel::tokens::unix_now(),
        )
        .expect("the server signs with the test secret");
    let sign = |claims: &Claims| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    assert_eq!(
        me(&app, "acme.localhost", &sign(&claims)).await.status(),
        StatusCode::OK
    );
    let now = pactum::kernel::tokens::unix_now();
    let expired = Claims {
        iat: now - 3600,
        exp: now - 60,
        ..claims.clone()
    };
    let foreign_audience = Claims {
        aud: "some-other-api".into(),
        ..claims.clone()
    };
    let foreign_issuer = Claims {
        iss: "someone-else".into(),
        ..claims.clone()
    };
    let not_yet_valid = Claims {
        nbf: Some(now + 3600),
        ..claims.clone()
    };
    for (what, bad) in [
        ("expired", expired),
        ("audience", foreign_audience),
        ("issuer", foreign_issuer),
        ("not before", not_yet_valid),
    ] {
        assert_eq!(
            code(me(&app, "acme.localhost", &sign(&bad)).await).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{what}"
        );
    }
}

/// A logout holds on every instance at once, with no Redis to share it: the token is
/// refused by the other instance's routes, and that instance's open stream of the
/// token ends at its next heartbeat, saying why.
#[tokio::test]
async fn a_logout_on_one_instance_is_honoured_by_every_other_without_redis() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let settings = [("PACTUM_SSE_HEARTBEAT_SECS", "1")];
    let (a, b) = (
        spawn_app(&db, &settings).await,
        spawn_app(&db, &settings).await,
    );
    let session = tokens(&a, "acme.localhost").await;
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(
        me(&b, "acme.localhost", access).await.status(),
        StatusCode::OK
    );
    let stream = b
        .request(
            Method::GET,
            "acme.localhost",
            "/api/v1/notifications/stream",
        )
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let out = a.logout("acme.localhost", &session).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        code(me(&b, "acme.localhost", access).await).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    assert_eq!(
        code(
            b.call(
                Method::GET,
                "acme.localhost",
                "/api/v1/contracts",
                access,
                None
            )
            .await
        )
        .await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    let rest = tokio::time::timeout(std::time::Duration::from_secs(10), stream.text())
        .await
        .expect("the stream ends at its next heartbeat")
        .unwrap();
    assert!(
        rest.contains("event: reauthenticate\ndata: {\"reason\":\"token_revoked\"}"),
        "{rest}"
    );
}

#[tokio::test]
async fn logout_also_ends_the_access_token_it_is_shown_with() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let app = spawn_app(&db, &[]).await;
    logout_ends_the_access_token(&app).await;
}

/// The revocation is kept until the token's expiry by the server's own clock, the one
/// that minted and verifies it, whichever time the machine keeps: a server whose clock
/// stands years behind the machine's still ends the token at logout.
#[tokio::test]
async fn logout_ends_the_access_token_by_the_servers_own_clock() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let start = chrono::DateTime::parse_from_rfc3339("2020-01-06T09:00:00Z").unwrap();
    let clock = pactum::kernel::clock::ManualClock::starting_at(start.to_utc());
    let app = crate::app::spawn_app_with_clock(&db, &[], clock).await;
    logout_ends_the_access_token(&app).await;
}

/// A logout ends the access token shown with it, and no other session.
async fn logout_ends_the_access_token(app: &TestApp) {
    let session = tokens(app, "acme.localhost").await;
    let other = tokens(app, "acme.localhost").await;
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(
        me(app, "acme.localhost", access).await.status(),
        StatusCode::OK
    );
    let out = app.logout("acme.localhost", &session).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        code(me(app, "acme.localhost", access).await).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    // Another session of the same user is untouched.
    assert_eq!(
        me(
            app,
            "acme.localhost",
            other["access_token"].as_str().unwrap()
        )
        .await
        .status(),
        StatusCode::OK
    );
}
