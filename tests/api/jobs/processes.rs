//! The queue in real processes: `pactum worker` and `pactum serve` killed, stopped with
//! SIGTERM, behind PgBouncer, with a proxy in the environment, and their own metrics.

use super::*;

#[tokio::test]
async fn a_proxy_in_the_environment_cannot_carry_a_webhook_to_an_internal_address() {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    receiver.hang.store(false, Ordering::SeqCst);
    // A proxy that would carry anything anywhere: it answers every request with 204.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.local_addr().unwrap().port());
    let proxied = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = proxied.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = proxy.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0u8; 65536];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    let id = delivery_job_to(&queue, &format!("http://localhost:{}/hook", receiver.port)).await;
    let proxy_env: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|name| (name, proxy_url.as_str()))
    .collect();
    let _worker = spawn_worker_with(&queue, &proxy_env);
    queue
        .wait_for_state(id, "cancelled", Duration::from_secs(30))
        .await;
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 0);
    let outcome: String = queue
        .client
        .query_one("select outcome from t_acme.webhook_deliveries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "refused");
}

#[tokio::test]
async fn a_job_whose_worker_was_killed_is_rescued_after_its_lease_and_completes() {
    let (queue, receiver, id, mut worker) = a_worker_running_a_delivery().await;
    worker.0.kill().unwrap(); // SIGKILL: nothing is cleaned up.
    worker.0.wait().unwrap();
    assert_eq!(
        queue.state(id).await,
        "running",
        "a dead worker leaves its job running"
    );

    // Another instance, its clock past the lease (the 30 s timeout plus 30 s grace).
    let manual = ManualClock::starting_at(Utc::now() + chrono::Duration::seconds(61));
    let runner = webhook_runner(&queue, manual.clone(), 2).await;
    receiver
        .hang
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let (done, _) = runner.maintain_once(false).await.unwrap();
    assert_eq!(done.rescued, 1);
    let handle = runner.start().await;
    queue
        .wait_for_state(id, "completed", Duration::from_secs(20))
        .await;
    handle.shutdown().await;
    assert_eq!(
        receiver.answered.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let row = queue
        .client
        .query_one(
            "select attempt, errors->0->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
    assert!(row
        .get::<_, String>(1)
        .starts_with("rescued: the lease expired"));
}

#[tokio::test]
async fn sigterm_stops_claiming_and_releases_what_is_still_running() {
    let (queue, _receiver, id, mut worker) = a_worker_running_a_delivery().await;
    let asked = Instant::now();
    crate::support::terminate(&worker.0);
    let exit = worker.0.wait().unwrap();
    assert!(
        exit.success(),
        "a worker stopped by SIGTERM exits 0: {exit:?}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "within the 1 s grace period and some"
    );
    let row = queue
        .client
        .query_one(
            "select state, attempt, attempted_by is null, errors->-1->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, &str>(0),
        "available",
        "released for another worker"
    );
    assert_eq!(
        row.get::<_, i32>(1),
        0,
        "a released run is not counted as an attempt"
    );
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, &str>(3), "released: its worker shut down");
}

#[tokio::test]
async fn jobs_run_behind_pgbouncer_with_the_fleet_cap_and_show_in_the_metrics() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let bouncer = crate::support::PgBouncer::start(1);
    let pooled = bouncer.url_for(&queue.db);
    // Every statement of the runner and of the handlers goes through the pooler (one
    // server connection for all); only LISTEN uses the direct URL. With the fleet cap,
    // each claim is followed by its count, and what went past the cap is handed back.
    let app = crate::app::spawn_app(
        &queue.db,
        &[
            ("DATABASE_URL", pooled.as_str()),
            ("PACTUM_DB_POOLER", "transaction"),
            ("PACTUM_DIRECT_DATABASE_URL", queue.db.url.as_str()),
            ("PACTUM_JOB_WORKERS", "4"),
            ("PACTUM_JOB_TENANT_FLEET_CAP", "2"),
        ],
    )
    .await;
    let ids = queue
        .enqueue_numbered("acme", pactum::kernel::jobs::NOOP, 200)
        .await;
    for id in &ids {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(30))
            .await;
    }
    // Jobs handed back at the cap ran later, each on its one attempt.
    let attempts: Vec<i32> = queue
        .client
        .query(
            "select distinct attempt from public.jobs where id = any($1)",
            &[&ids],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(attempts, [1]);
    let metrics = app.get("localhost", "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"pactum_jobs{kind="pactum.noop",state="completed"} 200"#),
        "{metrics}"
    );
    assert!(metrics
        .contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 200"#));
    assert!(metrics.contains("pactum_job_queue_wait_seconds_bucket"));
    assert!(metrics.contains("pactum_job_run_seconds_count{kind=\"pactum.noop\"} 200"));
}

#[test]
fn pactum_refuses_bad_usage_and_an_empty_worker_with_exit_2_and_explains_itself() {
    let run = |args: &[&str], workers: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env("PACTUM_JOB_WORKERS", workers)
            .output()
            .unwrap()
    };
    let extra = run(&["worker", "--now"], "2");
    assert_eq!(extra.status.code(), Some(2));
    let said = String::from_utf8_lossy(&extra.stderr);
    assert!(
        said.contains("'--now'") && said.contains("Usage: pactum worker"),
        "{said}"
    );
    let unknown = run(&["serv"], "2");
    assert_eq!(unknown.status.code(), Some(2));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("'serv'") && said.contains("serve"), "{said}");
    let help = run(&["--help"], "2");
    assert_eq!(help.status.code(), Some(0));
    let said = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "worker", "openapi"] {
        assert!(said.contains(command), "{command} in {said}");
    }
    let empty = run(&["worker"], "0");
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("PACTUM_JOB_WORKERS"));
    let bad = run(&["worker"], "lots");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("PACTUM_JOB_WORKERS"));
    let fleet_caps = [
        "PACTUM_JOB_TENANT_FLEET_CAP",
        "PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION",
    ];
    for (variable, cap) in fleet_caps
        .iter()
        .flat_map(|variable| ["0", "-1", "many", "100001"].map(|cap| (*variable, cap)))
    {
        let bad_cap = std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .arg("worker")
            .env_clear()
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env(variable, cap)
            .output()
            .unwrap();
        assert_eq!(bad_cap.status.code(), Some(2), "{variable}={cap}");
        let said = String::from_utf8_lossy(&bad_cap.stderr);
        assert!(said.contains(variable), "{variable}={cap}: {said}");
    }
}

#[tokio::test]
async fn the_server_on_sigterm_releases_its_jobs_stops_listening_and_exits_0() {
    pactum::webhooks::delivery::install_tls_provider();
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    let id = delivery_job(&queue, &receiver).await;
    let port = crate::support::free_port();
    let mut server = Worker(
        std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &queue.db.url)
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env("PACTUM_BIND", format!("127.0.0.1:{port}"))
            .env("PACTUM_WEBHOOK_ALLOW_PRIVATE", "1")
            .env("PACTUM_JOB_POLL_MS", "100")
            .env("PACTUM_JOB_SHUTDOWN_SECS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the pactum binary starts"),
    );
    queue
        .wait_for_state(id, "running", Duration::from_secs(30))
        .await;
    let healthz = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), reqwest::StatusCode::OK);
    let asked = Instant::now();
    crate::support::terminate(&server.0);
    let exit = server.0.wait().unwrap();
    assert!(
        exit.success(),
        "the server stopped by SIGTERM exits 0: {exit:?}"
    );
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert_eq!(
        queue.state(id).await,
        "available",
        "its running job was released"
    );
    let refused = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "no longer listening");
}

#[tokio::test]
async fn a_job_cut_off_by_its_own_shutdown_is_released_without_spending_an_attempt() {
    const HOLDS_A_QUERY: JobKind = JobKind {
        name: "test.holds_a_query",
        ..RECORD
    };
    let queue = Queue::with_tenants(&["acme"]).await;
    let (pid_tx, mut pid_rx) = tokio::sync::mpsc::unbounded_channel::<i32>();
    let go_on = Arc::new(tokio::sync::Notify::new());
    let mut handlers = Handlers::default();
    let resume = go_on.clone();
    handlers.register(HOLDS_A_QUERY, move |ctx| {
        let (pid_tx, resume) = (pid_tx.clone(), resume.clone());
        async move {
            let tx = ctx.db.begin().await?;
            let pid: i32 = tx.query_one("select pg_backend_pid()", &[]).await?.get(0);
            let _ = pid_tx.send(pid);
            resume.notified().await;
            // The connection is gone by now: this fails as an interruption.
            tx.query_one("select 1", &[]).await?;
            tx.commit().await?;
            Ok(())
        }
    });
    let runner = Runner::new(
        queue.pool(2),
        queue.pool(2),
        Some(queue.db.database_url()),
        clock::system(),
        handlers,
        RunnerConfig {
            poll_interval: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(10),
            ..RunnerConfig::new(2)
        },
        JobMetrics::new(),
    );
    let handle = runner.start().await;
    let id = queue
        .enqueue("acme", vec![NewJob::now(HOLDS_A_QUERY, json!({}))])
        .await[0];
    let pid = tokio::time::timeout(Duration::from_secs(20), pid_rx.recv())
        .await
        .expect("the job started")
        .unwrap();
    let stopping = tokio::spawn(handle.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The process is stopping and the job's connection goes (as an HTTP worker's
    // runtime ending takes the connections it drives).
    let terminated: bool = queue
        .client
        .query_one("select pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);
    go_on.notify_one();
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("shutdown ends")
        .unwrap();
    let row = queue
        .client
        .query_one(
            "select state, attempt, errors->-1->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, &str>(0),
        "available",
        "released for another worker"
    );
    assert_eq!(row.get::<_, i32>(1), 0, "not counted as an attempt");
    assert_eq!(row.get::<_, &str>(2), "released: its worker shut down");
}

#[tokio::test]
async fn pactum_worker_serves_its_own_metrics() {
    pactum::webhooks::delivery::install_tls_provider();
    let queue = Queue::with_tenants(&["acme"]).await;
    let port = crate::support::free_port();
    let bind = format!("127.0.0.1:{port}");
    let _worker = spawn_worker_with(&queue, &[("PACTUM_METRICS_BIND", bind.as_str())]);
    let ids = queue
        .enqueue_numbered("acme", pactum::kernel::jobs::NOOP, 5)
        .await;
    for id in &ids {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(30))
            .await;
    }
    // A client that connects and says nothing holds nothing up.
    let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = http
            .get(url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 5"#)
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"pactum_jobs{kind="pactum.noop",state="completed"} 5"#),
        "{text}"
    );
    assert!(text.contains("pactum_job_run_seconds_count"), "{text}");
    let other = http.get(url("/api/v1/contracts")).send().await.unwrap();
    assert_eq!(other.status(), reqwest::StatusCode::NOT_FOUND);
    let posted = http.post(url("/metrics")).send().await.unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(posted.headers()["allow"], "GET, HEAD");
    // HEAD as HTTP wants it of every server: the GET's status and length, no content.
    let headed = http.head(url("/metrics")).send().await.unwrap();
    assert_eq!(headed.status(), reqwest::StatusCode::OK);
    let length: usize = headed.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 0);
    assert!(headed.bytes().await.unwrap().is_empty());
}

/// A real `pactum worker` in the middle of a delivery to a receiver that hangs.
async fn a_worker_running_a_delivery() -> (Queue, Receiver, i64, Worker) {
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    let id = delivery_job(&queue, &receiver).await;
    let worker = spawn_worker(&queue);
    queue
        .wait_for_state(id, "running", Duration::from_secs(30))
        .await;
    (queue, receiver, id, worker)
}
