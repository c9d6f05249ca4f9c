//! Two server instances sharing one real Redis: the login budget holds across
//! instances, which in-process state alone cannot do.

use crate::app::{assert_rate_limited, code, redis_url, spawn_app, tenant_with_admin, PASSWORD};
use crate::support::TestDb;
use reqwest::StatusCode;

#[tokio::test]
async fn the_login_budget_is_shared_by_every_instance() {
    let db = TestDb::migrated().await;
    tenant_with_admin(&db, "acme", PASSWORD).await;
    let settings = [
        ("REDIS_URL", redis_url()),
        ("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "3"),
    ];
    let (a, b) = (
        spawn_app(&db, &settings).await,
        spawn_app(&db, &settings).await,
    );
    // Two attempts on each instance: within either one's own budget of three, so only
    // a shared count refuses the fourth.
    for instance in [&a, &b, &a] {
        assert_eq!(
            code(
                instance
                    .login("acme.localhost", "admin@example.com", "wrong password!")
                    .await
            )
            .await,
            (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
        );
    }
    let limited = b
        .login("acme.localhost", "Admin@Example.com", PASSWORD)
        .await;
    assert_rate_limited(limited).await;
    assert_eq!(
        a.login("acme.localhost", "admin@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_unreachable_redis_stops_start_up_with_a_clear_message() {
    let db = TestDb::migrated().await;
    let port = crate::support::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("PACTUM_BIND".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "JWT_SECRET".to_owned(),
            crate::app::TEST_JWT_SECRET.to_owned(),
        ),
        ("REDIS_URL".to_owned(), url),
    ]);
    let config = pactum::config::Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let error = match pactum::app::Application::build(config).await {
        Ok(_) => panic!("started without its Redis"),
        Err(error) => error.to_string(),
    };
    assert!(error.starts_with("REDIS_URL: cannot connect"), "{error}");
}
