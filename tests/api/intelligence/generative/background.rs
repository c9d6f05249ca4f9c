//! Generative summaries asked for in the background (`Prefer: respond-async`): answered
//! at once, joined while pending, made by a job as the member who asked (checked again
//! when it runs), and told to that member.

use super::*;

/// A POST for `path` with `prefer` as its `Prefer` header: status, headers and body.
async fn ask(
    app: &TestApp,
    t: &Tenant,
    token: &str,
    path: &str,
    prefer: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = app
        .request(Method::POST, &t.host, path)
        .bearer_auth(token)
        .header("prefer", prefer)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The tenant's admin saves `endpoint` with generative summaries on or off.
async fn switch(app: &TestApp, t: &Tenant, endpoint: &Endpoint, enabled: bool) {
    let settings = json!({"enabled": enabled, "base_url": endpoint.url, "model": "summariser-1"});
    let path = "/api/v1/generative-settings";
    let (status, saved) = json(app, t, &t.admin, Method::PUT, path, Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

/// Polls `path` until `done` holds of its body, for at most 30 s.
async fn until(app: &TestApp, t: &Tenant, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = json(app, t, &t.admin, Method::GET, path, None).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never came to it: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_summary_asked_for_in_the_background_answers_at_once_and_tells_the_member() {
    let Scene {
        db,
        app,
        acme,
        endpoint,
        id,
        path,
    } = Scene::hosting().await;
    let status_path = format!("{path}/request");
    switch(&app, &acme, &endpoint, true).await;
    let (status, none) = json(&app, &acme, &acme.admin, Method::GET, &status_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{none}");

    // The endpoint holds its answer: the member is answered at once all the same, and
    // twenty asking at the same instant join one request, sent once.
    *endpoint.mode.lock().unwrap() = "hold";
    let prefer = "return=minimal, respond-async; wait=5";
    let (status, headers, pending) = ask(&app, &acme, &acme.admin, &path, prefer).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(headers["preference-applied"], "respond-async");
    assert_eq!(headers["location"], status_path.as_str());
    assert_eq!(
        (pending["state"].as_str(), pending["contract_id"].as_str()),
        (Some("pending"), Some(id.as_str())),
        "{pending}"
    );
    let storm = (0..20).map(|_| ask(&app, &acme, &acme.admin, &path, "respond-async"));
    for (status, _, joined) in futures::future::join_all(storm).await {
        assert_eq!(status, StatusCode::ACCEPTED, "{joined}");
        assert_eq!(joined["requested_at"], pending["requested_at"]);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while endpoint.calls().is_empty() {
        assert!(Instant::now() < deadline, "the job never called");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let viewer = viewer(&app, &acme).await;
    let (status, seen) = json(&app, &acme, &viewer, Method::GET, &status_path, None).await;
    assert_eq!(
        (status, seen["state"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{seen}"
    );
    endpoint.gate.add_permits(1);
    let done = until(&app, &acme, &status_path, |r| r["state"] != "pending").await;
    assert_eq!(done["state"], "answered", "{done}");
    assert!(
        done["finished_at"].is_string() && done["error"].is_null(),
        "{done}"
    );
    let (status, kept) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(
        kept["summary"],
        "Acme hosts the service; Customer pays monthly."
    );
    assert_eq!(endpoint.calls().len(), 1, "one call served every request");

    // The member who asked is told, though the call is recorded as theirs.
    let inbox = until(&app, &acme, "/api/v1/notifications", |n| {
        n["items"].as_array().is_some_and(|items| !items.is_empty())
    })
    .await;
    let told = &inbox["items"][0];
    assert_eq!(told["type"], "generative_summary_ready", "{inbox}");
    assert_eq!(told["link"], path.as_str());
    let log = audited(&db, &id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0]["outcome"].as_str(), log[0]["background"].as_bool()),
        (Some("answered"), Some(true))
    );

    // The kept summary is current: nothing to do, answered at once with it.
    *endpoint.mode.lock().unwrap() = "ok";
    let (status, _, reused) = ask(&app, &acme, &acme.admin, &path, "respond-async").await;
    assert_eq!(
        (status, reused["reused"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{reused}"
    );
    // A preference that is not respond-async leaves the call in the request.
    let (status, _, immediate) = ask(
        &app,
        &acme,
        &acme.admin,
        &format!("{path}?refresh=true"),
        "respond-asynchronously",
    )
    .await;
    assert_eq!(
        (status, immediate["reused"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{immediate}"
    );
    assert_eq!(endpoint.calls().len(), 2);

    // A failing endpoint fails the request with its reason, the member is told, and
    // the kept summary stays.
    *endpoint.mode.lock().unwrap() = "fail";
    let refresh = format!("{path}?refresh=true");
    let (status, _, pending) = ask(&app, &acme, &acme.admin, &refresh, "respond-async").await;
    assert_eq!(
        (status, pending["refresh"].as_bool()),
        (StatusCode::ACCEPTED, Some(true)),
        "{pending}"
    );
    let failed = until(&app, &acme, &status_path, |r| r["state"] != "pending").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    let inbox = until(&app, &acme, "/api/v1/notifications", |n| {
        n["items"].as_array().is_some_and(|items| items.len() == 2)
    })
    .await;
    assert_eq!(
        inbox["items"][0]["type"], "generative_summary_failed",
        "{inbox}"
    );
    let (_, kept) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(
        kept["summary"],
        "Acme hosts the service; Customer pays monthly."
    );

    // Who may not ask at once may not ask in the background; nothing is queued.
    let (status, _, refused) = ask(&app, &acme, &viewer, &refresh, "respond-async").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let unknown = format!(
        "/api/v1/contracts/{}/summary/generative",
        uuid::Uuid::new_v4()
    );
    let (status, _, _) = ask(&app, &acme, &acme.admin, &unknown, "respond-async").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("{unknown}/request"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, last) = json(&app, &acme, &viewer, Method::GET, &status_path, None).await;
    assert_eq!(
        last["state"], "failed",
        "the refused requests changed nothing"
    );
    assert_eq!(endpoint.calls().len(), 3);

    // Turned off: a background request is refused at once, as an immediate one is.
    switch(&app, &acme, &endpoint, false).await;
    let (status, _, refused) = ask(&app, &acme, &acme.admin, &refresh, "respond-async").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("generative_off"))
    );
    endpoint.server.stop(false).await;
}

#[tokio::test]
async fn a_background_request_is_checked_again_when_its_job_runs() {
    // No job runs on this server: the request waits while the member is deactivated.
    let Scene {
        db,
        app,
        acme,
        endpoint,
        id,
        path,
    } = Scene::hosting_with(&[("PACTUM_JOB_WORKERS", "0")]).await;
    switch(&app, &acme, &endpoint, true).await;
    let (status, member) = json(
        &app,
        &acme,
        &acme.admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"email": "member@example.com", "display_name": "Member", "role": "member", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let token = app
        .access_token(&acme.host, "member@example.com", PASSWORD)
        .await;
    let (status, _, pending) = ask(&app, &acme, &token, &path, "respond-async").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let (status, _) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/users/{}", member["id"].as_str().unwrap()),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A server that runs jobs picks the request up: nothing is sent for a member who
    // may no longer ask, and the request says why.
    let workers = spawn_app(&db, &[("PACTUM_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let status_path = format!("{path}/request");
    let failed = until(&workers, &acme, &status_path, |r| r["state"] != "pending").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("no longer active"),
        "{failed}"
    );
    assert!(endpoint.calls().is_empty(), "the text never left");
    let log = audited(&db, &id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (
            log[0]["sent_chars"].as_i64(),
            log[0]["background"].as_bool()
        ),
        (Some(0), Some(true)),
        "{log:?}"
    );
    endpoint.server.stop(false).await;
}
