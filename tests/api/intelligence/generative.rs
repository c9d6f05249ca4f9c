//! Generative summaries through the server and a real HTTP endpoint that speaks the
//! OpenAI chat-completions shape: off until the tenant's admin turns them on, the key
//! sent but never shown, every call audited (answered or not), a failing endpoint a
//! 502 that says so, internal destinations refused unless the operator allows them,
//! and only members who may read the original may ask; the summary is kept, served
//! again without a call while its text is unchanged, and said to be out of date after.
//! `background` asks for one in the background.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use super::*;

mod background;

/// Each request an endpoint took: its `authorization` header and JSON body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// An OpenAI-compatible endpoint on a random port: records each request (its
/// `authorization` header and JSON body) and answers as `mode` says.
struct Endpoint {
    url: String,
    seen: Seen,
    mode: Arc<Mutex<&'static str>>,
    /// In mode "hold", each request waits here for a permit before it is answered.
    gate: Arc<tokio::sync::Semaphore>,
    server: actix_web::dev::ServerHandle,
}

impl Endpoint {
    async fn start() -> Self {
        let seen: Seen = Arc::default();
        let mode = Arc::new(Mutex::new("ok"));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (s, m, g) = (seen.clone(), mode.clone(), gate.clone());
        let server = HttpServer::new(move || {
            let (seen, mode, gate) = (s.clone(), m.clone(), g.clone());
            App::new().route(
                "/v1/chat/completions",
                web::post().to(move |request: HttpRequest, body: web::Json<Value>| {
                    let (seen, mode, gate) = (seen.clone(), mode.clone(), gate.clone());
                    async move {
                        let auth = request
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        seen.lock().unwrap().push((auth, body.into_inner()));
                        let held = *mode.lock().unwrap() == "hold";
                        if held {
                            gate.acquire().await.unwrap().forget();
                        }
                        match *mode.lock().unwrap() {
                            "fail" => HttpResponse::InternalServerError().json(json!({"error": "down"})),
                            "empty" => HttpResponse::Ok().json(json!({"choices": []})),
                            _ => HttpResponse::Ok().json(json!({
                                "choices": [{"message": {"role": "assistant", "content": "Acme hosts the service; Customer pays monthly."}}],
                                "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49},
                            })),
                        }
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/v1"),
            seen,
            mode,
            gate,
            server: handle,
        }
    }

    fn calls(&self) -> Vec<(Option<String>, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

/// A tenant allowed private destinations, an endpoint, and a contract to summarise at
/// `path`.
struct Scene {
    db: TestDb,
    app: TestApp,
    acme: Tenant,
    endpoint: Endpoint,
    id: String,
    path: String,
}

impl Scene {
    async fn hosting() -> Self {
        Self::hosting_with(&[]).await
    }

    /// With more of the server's environment (`PACTUM_JOB_WORKERS=0`: no job runs).
    async fn hosting_with(env: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        let mut env = env.to_vec();
        env.push(("PACTUM_WEBHOOK_ALLOW_PRIVATE", "true"));
        let app = spawn_app(&db, &env).await;
        let acme = tenant(&db, &app, "acme").await;
        let endpoint = Endpoint::start().await;
        let id = create(
            &app,
            &acme,
            "Hosting",
            "Acme shall host the service. Customer shall pay the fee monthly.",
        )
        .await;
        let path = format!("/api/v1/contracts/{id}/summary/generative");
        Self {
            db,
            app,
            acme,
            endpoint,
            id,
            path,
        }
    }
}

async fn audited(db: &TestDb, contract: &str) -> Vec<Value> {
    let client = db.client().await;
    client
        .query(
            "select changes from t_acme.audit_logs where action = 'generative_summary' \
             and entity_id = $1::text::uuid order by id",
            &[&contract],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_generative_summary_leaves_only_when_the_admin_turned_it_on_and_is_audited() {
    let Scene {
        db,
        app,
        acme,
        endpoint,
        id,
        path,
    } = Scene::hosting().await;
    let settings = "/api/v1/generative-settings";

    // Off by default: nothing is sent.
    let (status, shown) = json(&app, &acme, &acme.admin, Method::GET, settings, None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (shown["enabled"].as_bool(), shown["api_key_set"].as_bool()),
        (Some(false), Some(false))
    );
    let (status, refused) = json(&app, &acme, &acme.admin, Method::POST, &path, None).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::CONFLICT, Some("generative_off"))
    );
    assert!(endpoint.calls().is_empty());

    // The admin saves it switched off: still nothing is sent.
    let mut body = json!({"enabled": false, "base_url": endpoint.url, "model": "summariser-1", "api_key": "sk-test-123"});
    let (status, saved) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PUT,
        settings,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["api_key_set"], true);
    assert!(!saved.to_string().contains("sk-test-123"), "{saved}");
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::POST, &path, None)
            .await
            .0,
        StatusCode::CONFLICT
    );

    // Turned on (the key kept when not given again): the text goes out with the key.
    body["enabled"] = json!(true);
    body.as_object_mut().unwrap().remove("api_key");
    let (status, saved) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PUT,
        settings,
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, saved["api_key_set"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{saved}"
    );
    let (status, summary) = json(&app, &acme, &acme.admin, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        summary["summary"],
        "Acme hosts the service; Customer pays monthly."
    );
    assert_eq!(
        (summary["model"].as_str(), summary["truncated"].as_bool()),
        (Some("summariser-1"), Some(false))
    );
    assert_eq!(summary["usage"]["total_tokens"], 49);
    let calls = endpoint.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0.as_deref(), Some("Bearer sk-test-123"));
    assert_eq!(calls[0].1["model"], "summariser-1");
    let sent = calls[0].1["messages"][1]["content"].as_str().unwrap();
    assert!(
        sent.contains("Title: Hosting") && sent.contains("Customer shall pay the fee monthly"),
        "{sent}"
    );

    assert_eq!(
        (summary["current"].as_bool(), summary["reused"].as_bool()),
        (Some(true), Some(false))
    );

    // Kept: asking again for the same text sends nothing out, and any reader who may
    // read the original sees it without a call.
    let (status, again) = json(&app, &acme, &acme.admin, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["summary"].clone(), again["reused"].as_bool()),
        (summary["summary"].clone(), Some(true))
    );
    assert_eq!(again["generated_at"], summary["generated_at"]);
    let viewer = viewer(&app, &acme).await;
    let (status, shown) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (
            shown["current"].as_bool(),
            shown["usage"]["total_tokens"].as_i64()
        ),
        (Some(true), Some(49))
    );
    assert!(shown["generated_by"].is_string(), "{shown}");
    assert_eq!(endpoint.calls().len(), 1, "nothing more was sent");
    assert_eq!(audited(&db, &id).await.len(), 1);

    // A failing endpoint is a 502 that says so, audited as the answered call was, and
    // the kept summary stays.
    *endpoint.mode.lock().unwrap() = "fail";
    let refresh = format!("{path}?refresh=true");
    let (status, failed) = json(&app, &acme, &acme.admin, Method::POST, &refresh, None).await;
    assert_eq!(
        (status, failed["error"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("generative_failed")),
        "{failed}"
    );
    *endpoint.mode.lock().unwrap() = "empty";
    let (status, _) = json(&app, &acme, &acme.admin, Method::POST, &refresh, None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (_, shown) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(shown["summary"], summary["summary"], "{shown}");
    for bad in ["?refresh=maybe", "?refresh=true&extra=1"] {
        let (status, answer) = json(
            &app,
            &acme,
            &acme.admin,
            Method::POST,
            &format!("{path}{bad}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    let log = audited(&db, &id).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["outcome"], "answered");
    assert_eq!(log[0]["host"], "127.0.0.1");
    assert!(
        log[1]["outcome"].as_str().unwrap().contains("500"),
        "{}",
        log[1]
    );
    assert!(
        !format!("{log:?}").contains("sk-test"),
        "the key is never logged"
    );

    // A new text makes the kept summary out of date, and the next request calls again.
    *endpoint.mode.lock().unwrap() = "ok";
    let (status, edited) = json(
        &app,
        &acme,
        &acme.admin,
        Method::PATCH,
        &format!("/api/v1/contracts/{id}"),
        Some(json!({"version": 1, "body": "Acme shall host the service. Customer shall pay yearly."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (_, shown) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(shown["current"], false, "{shown}");
    let (status, renewed) = json(&app, &acme, &acme.admin, Method::POST, &path, None).await;
    assert_eq!(
        (status, renewed["reused"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{renewed}"
    );
    let calls = endpoint.calls();
    assert_eq!(calls.len(), 4);
    assert!(calls[3].1["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("pay yearly"));
    let (_, shown) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(shown["current"], true, "{shown}");

    // A viewer may not make the tenant send its text out; bad settings change nothing.
    assert_eq!(
        json(&app, &acme, &viewer, Method::POST, &path, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        json(&app, &acme, &viewer, Method::GET, settings, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    for bad in [
        json!({"enabled": true, "base_url": "ftp://example.com", "model": "m"}),
        json!({"enabled": true, "base_url": "https://user:pw@example.com/v1", "model": "m"}),
        json!({"enabled": true, "base_url": "not a url", "model": "m"}),
        json!({"enabled": true, "base_url": endpoint.url, "model": ""}),
        json!({"enabled": true, "base_url": endpoint.url, "model": "m", "api_key": "has space"}),
        json!({"enabled": true, "base_url": endpoint.url, "model": "m", "max_input_chars": 5}),
        json!({"enabled": true, "base_url": endpoint.url, "model": "m", "extra": 1}),
        json!(["enabled"]),
    ] {
        let (status, answer) = json(
            &app,
            &acme,
            &acme.admin,
            Method::PUT,
            settings,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    let (_, kept) = json(&app, &acme, &acme.admin, Method::GET, settings, None).await;
    assert_eq!(
        (kept["model"].as_str(), kept["enabled"].as_bool()),
        (Some("summariser-1"), Some(true))
    );
    let unknown = format!(
        "/api/v1/contracts/{}/summary/generative",
        uuid::Uuid::new_v4()
    );
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::POST, &unknown, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let never = create(&app, &acme, "Never summarised", "Nothing was asked of it.").await;
    let (status, answer) = json(
        &app,
        &acme,
        &acme.admin,
        Method::GET,
        &format!("/api/v1/contracts/{never}/summary/generative"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{answer}"
    );
    // Another model makes the kept summary out of date too.
    body["model"] = json!("summariser-2");
    assert_eq!(
        json(
            &app,
            &acme,
            &acme.admin,
            Method::PUT,
            settings,
            Some(body.clone())
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, shown) = json(&app, &acme, &acme.admin, Method::GET, &path, None).await;
    assert_eq!(
        (shown["current"].as_bool(), shown["model"].as_str()),
        (Some(false), Some("summariser-1"))
    );

    // Where the operator does not allow private destinations, a loopback endpoint is
    // refused at save.
    let strict = spawn_app(&db, &[]).await;
    let token = strict
        .access_token(&acme.host, "admin@example.com", PASSWORD)
        .await;
    let (status, answer) = json(&strict, &acme, &token, Method::PUT, settings, Some(body)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_base_url")),
        "{answer}"
    );
    endpoint.server.stop(false).await;
}
