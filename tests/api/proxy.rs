//! `deploy/nginx/pactum.conf`, as shipped, in front of real Pactum servers: a real
//! nginx (`scripts/nginx.sh`) with TLS, and curl as the client. The config is used
//! whole; only what a test machine cannot have is rewritten (the instances' addresses,
//! the ports, the certificate's path), and each rewrite must find its line, so a change
//! to the config that breaks these tests' assumptions fails loudly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::app::spawn_app;
use crate::support::{free_port, workspace_root, TestDb};
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Host, MigrationSet, TenantSlug};
use serde_json::Value;

const DOMAIN: &str = "pactum.example";

/// nginx on two free ports (plain HTTP and HTTPS) with the shipped config, proxying to
/// `instances` (ports on 127.0.0.1; nothing needs to listen there). Stopped on drop.
struct Proxy {
    child: Child,
    dir: PathBuf,
    http_port: u16,
    https_port: u16,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Replaces the one line of `config` that contains `needle`, asserting there is one.
fn rewrite_line(config: &str, needle: &str, replacement: &str) -> String {
    let matching = config.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(matching, 1, "pactum.conf has one line with {needle:?}");
    config
        .lines()
        .map(|line| {
            if line.contains(needle) {
                replacement.to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The nginx `scripts/nginx.sh` finds or unpacks, asked once per test binary.
fn nginx_binary() -> &'static str {
    static BINARY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        run(Command::new("bash")
            .arg(workspace_root().join("scripts/nginx.sh"))
            .arg("bin"))
        .trim()
        .to_owned()
    })
}

impl Proxy {
    fn start(instances: [u16; 2]) -> Self {
        let dir = std::env::temp_dir().join(format!("pactum-proxy-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", &format!("/CN={DOMAIN}")])
            .args([
                "-addext",
                &format!("subjectAltName=DNS:{DOMAIN},DNS:*.{DOMAIN}"),
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .stderr(Stdio::null()));
        let (http_port, https_port) = (free_port(), free_port());

        let shipped =
            std::fs::read_to_string(workspace_root().join("deploy/nginx/pactum.conf")).unwrap();
        let mut config = shipped;
        for (needle, replacement) in [
            (
                "server 10.0.0.11:8000",
                format!(
                    "    server 127.0.0.1:{} max_fails=3 fail_timeout=10s;",
                    instances[0]
                ),
            ),
            (
                "server 10.0.0.12:8000",
                format!(
                    "    server 127.0.0.1:{} max_fails=3 fail_timeout=10s;",
                    instances[1]
                ),
            ),
            ("listen 80;", format!("    listen 127.0.0.1:{http_port};")),
            ("listen [::]:80;", String::new()),
            (
                "listen 443 ssl http2;",
                format!("    listen 127.0.0.1:{https_port} ssl http2;"),
            ),
            ("listen [::]:443 ssl http2;", String::new()),
            (
                "ssl_certificate ",
                format!("    ssl_certificate {};", dir.join("cert.pem").display()),
            ),
            (
                "ssl_certificate_key",
                format!("    ssl_certificate_key {};", dir.join("key.pem").display()),
            ),
        ] {
            config = rewrite_line(&config, needle, &replacement);
        }
        std::fs::write(dir.join("pactum.conf"), config).unwrap();
        let d = dir.display();
        // One process, no master: a kill on drop then leaves no orphaned workers.
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "master_process off;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/pactum.conf;
}}
"
            ),
        )
        .unwrap();
        // Not `-e`: nginx before 1.19.5 (Ubuntu 22.04's) lacks it, and only complains
        // about its compiled-in log path before reading the config's.
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .expect("nginx starts");
        let proxy = Self {
            child,
            dir,
            http_port,
            https_port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", https_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen:\n{}",
                proxy.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    fn error_log(&self) -> String {
        ["stderr.log", "error.log"]
            .map(|log| std::fs::read_to_string(self.dir.join(log)).unwrap_or_default())
            .concat()
    }

    /// A request through the proxy over HTTPS to `host` (resolved to 127.0.0.1).
    fn https(&self, host: &str, path: &str, extra: &[&str]) -> Reply {
        self.curl("https", self.https_port, host, path, extra)
    }

    fn curl(&self, scheme: &str, port: u16, host: &str, path: &str, extra: &[&str]) -> Reply {
        let output = Command::new("curl")
            .args(["-sS", "--include", "--insecure", "--max-time", "20"])
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .args(extra)
            .arg(format!("{scheme}://{host}:{port}{path}"))
            .output()
            .expect("curl runs");
        assert!(
            output.status.success(),
            "curl {host}{path}: {}\nnginx: {}",
            String::from_utf8_lossy(&output.stderr),
            self.error_log()
        );
        Reply::parse(&String::from_utf8_lossy(&output.stdout))
    }
}

/// A response as curl printed it: the last header block (after any `100 Continue`).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &str) -> Self {
        let mut rest = raw;
        loop {
            let (head, body) = rest.split_once("\r\n\r\n").expect("a header block");
            let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
            if status == 100 {
                rest = body;
                continue;
            }
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Self {
                status,
                headers,
                body: body.to_owned(),
            };
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn tenant(db: &TestDb, slug: &str) {
    let new = NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.{DOMAIN}")).unwrap(),
    )
    .unwrap();
    provision::create_tenant(&mut db.client().await, &MigrationSet::tenant(), &new)
        .await
        .unwrap();
}

/// Two instances as the config's header asks them to be started, behind the proxy.
async fn deployment() -> (TestDb, Proxy, [crate::app::TestApp; 2]) {
    let db = TestDb::migrated().await;
    tenant(&db, "acme").await;
    tenant(&db, "globex").await;
    let settings = [("PACTUM_PUBLIC_HOST", DOMAIN), ("PACTUM_TRUST_PROXY", "1")];
    let instances = [
        spawn_app(&db, &settings).await,
        spawn_app(&db, &settings).await,
    ];
    let proxy = Proxy::start([instances[0].port, instances[1].port]);
    (db, proxy, instances)
}

/// Runs blocking proxy calls off the test's runtime, which serves the instances.
async fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subdomain_reaches_its_own_tenant_and_the_apex_the_platform() {
    let (_db, proxy, _instances) = deployment().await;
    off_runtime(move || {
        for slug in ["acme", "globex", "acme", "globex"] {
            let reply = proxy.https(&format!("{slug}.{DOMAIN}"), "/api/v1/tenant", &[]);
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.json()["slug"], slug);
            assert!(reply.header("strict-transport-security").is_some());
        }
        let health = proxy.https(DOMAIN, "/healthz", &[]);
        assert_eq!(health.status, 200, "{}", health.body);
        let unknown = proxy.https(&format!("initech.{DOMAIN}"), "/api/v1/tenant", &[]);
        assert_eq!(
            (unknown.status, unknown.json()["error"].clone()),
            (404, "unknown_tenant".into())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_pick_another_tenant_with_forwarded_headers() {
    let (_db, proxy, _instances) = deployment().await;
    off_runtime(move || {
        let reply = proxy.https(
            &format!("acme.{DOMAIN}"),
            "/api/v1/tenant",
            &["-H", &format!("X-Forwarded-Host: globex.{DOMAIN}")],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json()["slug"],
            "acme",
            "the proxy overwrites X-Forwarded-Host"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_passed_through_or_made_by_the_proxy() {
    let (_db, proxy, _instances) = deployment().await;
    off_runtime(move || {
        let host = format!("acme.{DOMAIN}");
        let given = proxy.https(
            &host,
            "/api/v1/tenant",
            &["-H", "X-Request-Id: trace-from-the-client"],
        );
        assert_eq!(given.header("x-request-id"), Some("trace-from-the-client"));
        let made = proxy.https(&host, "/api/v1/tenant", &[]);
        let id = made.header("x-request-id").expect("an id is made");
        assert_eq!(id.len(), 32, "nginx's $request_id: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_redirects_to_https_on_the_same_host() {
    let (_db, proxy, _instances) = deployment().await;
    off_runtime(move || {
        let host = format!("acme.{DOMAIN}");
        let reply = proxy.curl("http", proxy.http_port, &host, "/api/v1/contracts?q=x", &[]);
        assert_eq!(reply.status, 308);
        assert_eq!(
            reply.header("location"),
            Some(format!("https://{host}/api/v1/contracts?q=x").as_str())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_is_down_is_skipped_and_none_up_is_a_json_503() {
    let db = TestDb::migrated().await;
    tenant(&db, "acme").await;
    let settings = [("PACTUM_PUBLIC_HOST", DOMAIN), ("PACTUM_TRUST_PROXY", "1")];
    let live = spawn_app(&db, &settings).await;
    // The dead instances' ports stay bound until both proxies listen: a port let go at
    // once could be handed to one of the proxies, whose redirecting HTTP listener
    // would then answer for a "dead" instance.
    let reserved = [
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let [dead_a, dead_b] = reserved
        .each_ref()
        .map(|listener| listener.local_addr().unwrap().port());
    let one_down = Proxy::start([dead_a, live.port]);
    let none_up = Proxy::start([dead_a, dead_b]);
    drop(reserved);
    off_runtime(move || {
        for _ in 0..4 {
            let reply = one_down.https(&format!("acme.{DOMAIN}"), "/api/v1/tenant", &[]);
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let reply = none_up.https(&format!("acme.{DOMAIN}"), "/api/v1/tenant", &[]);
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert_eq!(reply.json()["error"], "service_unavailable");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert!(reply.header("retry-after").is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_host_is_a_json_400_with_a_request_id() {
    let (_db, proxy, _instances) = deployment().await;
    off_runtime(move || {
        // `Host:` with no value makes curl leave the header out.
        let reply = proxy.https(
            &format!("acme.{DOMAIN}"),
            "/api/v1/tenant",
            &["--http1.1", "-H", "Host:"],
        );
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json()["error"], "bad_request");
        assert!(reply.header("x-request-id").is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_proxy_limit_is_a_json_413() {
    let (_db, proxy, _instances) = deployment().await;
    let body = proxy.dir.join("big.bin");
    write_zeros(&body, 31 * 1024 * 1024);
    off_runtime(move || {
        let reply = proxy.https(
            &format!("acme.{DOMAIN}"),
            "/api/v1/auth/login",
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &format!("@{}", body.display()),
            ],
        );
        assert_eq!(reply.status, 413, "{}", reply.body);
        assert_eq!(reply.json()["error"], "payload_too_large");
    })
    .await;
}

fn write_zeros(path: &Path, len: u64) {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(len).unwrap();
}
