//! Webhook endpoints: destinations inside the network refused at save and after
//! resolution, input checked, admins only.

use super::*;

#[tokio::test]
async fn destinations_inside_the_network_are_refused_at_save_and_after_resolution() {
    let receiver = PyReceiver::start(&[]);
    // The operator setting is off here (the default).
    let tenant = Tenant::new(&[]).await;
    let port = receiver.port;
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        // Names of this machine, and names that resolve only to it.
        format!("http://localhost:{port}/"),
        format!("http://hooks.localhost:{port}/"),
    ] {
        let response = tenant
            .app
            .call(
                Method::POST,
                HOST,
                "/api/v1/webhooks",
                &tenant.admin,
                Some(json!({"url": url, "event_types": ["*"], "secret": SECRET})),
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(error, "invalid_input", "{url}");
    }
    // A name whose address changed after it was saved is refused at delivery, by the
    // test send and by the job, which gives up at once.
    let webhook = tenant
        // Contract events only: the endpoint's own `webhook.*` events would add
        // deliveries (to the name as first saved) to the log this test reads.
        .webhook("https://hooks.example.com/", json!(["contract.*"]))
        .await;
    let id = webhook["id"].as_str().unwrap();
    let (status, changed) = tenant
        .json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"url": format!("http://localhost:{port}/")})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an update is checked too: {changed}"
    );
    let client = tenant.db.client().await;
    client
        .execute(
            "update t_acme.webhook_endpoints set url = $1",
            &[&format!("http://localhost:{port}/")],
        )
        .await
        .unwrap();
    let (status, sent) = tenant
        .json(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["outcome"], "refused", "{sent}");
    assert!(
        sent["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{sent}"
    );
    tenant.contract("Not for localhost").await;
    let log = tenant
        .wait_for(
            &format!("/api/v1/webhooks/{id}/deliveries"),
            Duration::from_secs(10),
            |log| log["items"].as_array().is_some_and(|i| i.len() == 2),
        )
        .await;
    assert_eq!(log["items"][0]["outcome"], "refused");
    let received = receiver.received().await;
    assert_eq!(received["accepted"].as_array().unwrap().len(), 0);
    assert_eq!(received["failed"], 0);
    assert_eq!(received["rejected"], 0, "nothing reached the receiver");
}

#[tokio::test]
async fn webhook_input_is_checked_and_only_admins_manage_webhooks() {
    let tenant = Tenant::new(&[]).await;
    for (body, why) in [
        (
            json!({"url": "ftp://example.com/", "event_types": ["*"]}),
            "scheme",
        ),
        (json!({"url": "not a url", "event_types": ["*"]}), "garbage"),
        (
            json!({"url": "https://u:p@example.com/", "event_types": ["*"]}),
            "credentials",
        ),
        (
            json!({"url": "https://example.com/", "event_types": []}),
            "no types",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["Contract Created"]}),
            "bad type",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["*"], "secret": "hunter2"}),
            "bad secret",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["*"], "extra": 1}),
            "unknown field",
        ),
        (
            json!({"url": "x".repeat(3000), "event_types": ["*"]}),
            "huge url",
        ),
    ] {
        let response = tenant
            .app
            .call(
                Method::POST,
                HOST,
                "/api/v1/webhooks",
                &tenant.admin,
                Some(body),
            )
            .await;
        let (status, error) = code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert!(!error.is_empty(), "{why}: a stable code");
    }
    let (_, listed) = tenant.json(Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(listed["items"], json!([]), "nothing half-written");
    let (status, _) = tenant
        .json(
            Method::GET,
            &format!("/api/v1/webhooks/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = tenant
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "m@example.com", "display_name": "M", "role": "manager", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let manager = tenant
        .app
        .access_token(HOST, "m@example.com", PASSWORD)
        .await;
    for (method, path) in [
        (Method::GET, "/api/v1/webhooks".to_owned()),
        (Method::GET, "/api/v1/events".to_owned()),
    ] {
        let response = tenant.app.call(method, HOST, &path, &manager, None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let response = tenant
        .app
        .call(
            Method::POST,
            HOST,
            "/api/v1/webhooks",
            &manager,
            Some(json!({"url": "https://example.com/", "event_types": ["*"]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
