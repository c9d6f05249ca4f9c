//! The real `tenantctl` binary against a real PostgreSQL: exit codes, `--json`, and
//! refusal of bad input with nothing changed.
//!
//! Why this file is long: it is one binary's whole command surface, a test per
//! command and its failure modes, sharing one harness that runs the real binary.

#[path = "../../tests/api/support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{schemas, PgBouncer, TestDb};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

fn tenantctl(db: Option<&TestDb>, args: &[&str], stdin: Option<&str>) -> Run {
    tenantctl_with_env(db, args, stdin, &[])
}

fn tenantctl_with_env(
    db: Option<&TestDb>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantctl"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PACTUM_DB_POOLER")
        .env_remove("PACTUM_DIRECT_DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(db) = db {
        command.env("DATABASE_URL", &db.url);
    }
    let mut child = command.spawn().expect("tenantctl starts");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// The tenancy-relevant state of a database, to prove a refused command changed nothing.
/// `tenantctl createadmin` of a second admin of acme, with `password` on stdin.
fn second_admin(db: &TestDb, password: &str) -> Run {
    tenantctl(
        Some(db),
        &[
            "createadmin",
            "acme",
            "--email",
            "second@acme.example",
            "--json",
        ],
        Some(password),
    )
}

async fn snapshot(db: &TestDb) -> (Vec<String>, Vec<String>, Vec<String>, i64) {
    let client = db.client().await;
    let strings = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    let tenants = strings(
        "select slug || ':' || status || ':' || schema_version from public.tenants order by 1",
    )
    .await;
    let domains = strings("select host || ':' || is_primary from public.domains order by 1").await;
    let users: i64 = client
        .query_one(
            "select coalesce(sum((xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.users', nspname), false, true, '')))[1]::text::int), 0)::bigint \
             from pg_namespace where nspname like 't\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (tenants, domains, schemas(&client).await, users)
}

async fn migrated_with_acme_and_globex() -> TestDb {
    let db = migrated_with_acme().await;
    let run = tenantctl(
        Some(&db),
        &["create", "globex", "--domain", "globex.localhost"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    db
}

async fn migrated_with_acme() -> TestDb {
    let db = TestDb::empty().await;
    let run = tenantctl(Some(&db), &["migrate"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tenantctl(
        Some(&db),
        &[
            "create",
            "acme",
            "--domain",
            "acme.localhost",
            "--admin-email",
            "admin@acme.example",
        ],
        Some("correct horse battery\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    db
}

#[tokio::test]
async fn migrate_json_reports_public_and_tenant_outcomes() {
    let db = TestDb::empty().await;
    let run = tenantctl(Some(&db), &["migrate", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["public_applied"][0]["name"], "tenants");
    assert_eq!(report["dry_run"], false);

    let again = tenantctl(Some(&db), &["migrate", "--json"], None).json();
    assert_eq!(again["public_applied"], Value::Array(vec![]));
    assert_eq!(again["schemas"], Value::Array(vec![]));
}

#[tokio::test]
async fn create_reads_the_admin_password_from_stdin_and_stores_an_argon2id_hash() {
    let db = migrated_with_acme().await;
    let client = db.client().await;
    let row = client
        .query_one("select email, role, password_hash from t_acme.users", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "admin@acme.example");
    assert_eq!(row.get::<_, &str>(1), "admin");
    let hash: &str = row.get(2);
    assert!(pactum::identity::password::verify(
        "correct horse battery",
        hash
    ));

    let run = second_admin(&db, "another good password\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["user"]["role"], "admin");
}

#[tokio::test]
async fn create_json_says_what_was_created_and_how() {
    let db = TestDb::empty().await;
    tenantctl(Some(&db), &["migrate"], None);
    let fill = tenantctl(Some(&db), &["spares", "--fill", "1", "--json"], None);
    assert_eq!(fill.code, 0, "{}", fill.stderr);
    assert_eq!(fill.json()["pool"]["ready"], 1);

    let warm = tenantctl(
        Some(&db),
        &[
            "create",
            "acme",
            "--domain",
            "acme.localhost",
            "--name",
            "Acme Corp",
            "--json",
        ],
        None,
    )
    .json();
    assert_eq!(warm["path"], "spare");
    assert_eq!(warm["tenant"]["slug"], "acme");
    assert_eq!(warm["tenant"]["name"], "Acme Corp");
    assert_eq!(warm["tenant"]["schema"], "t_acme");
    assert_eq!(warm["tenant"]["status"], "active");
    let cold = tenantctl(
        Some(&db),
        &["create", "globex", "--domain", "globex.localhost", "--json"],
        None,
    )
    .json();
    assert_eq!(cold["path"], "cold");

    let list = tenantctl(Some(&db), &["list", "--json"], None).json();
    let slugs: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["acme", "globex"]);
    let show = tenantctl(Some(&db), &["show", "globex", "--json"], None).json();
    assert_eq!(show["domains"][0]["host"], "globex.localhost");
    assert_eq!(show["domains"][0]["is_primary"], true);
}

#[tokio::test]
async fn bad_input_is_refused_with_exit_2_and_changes_nothing() {
    let db = migrated_with_acme().await;
    let before = snapshot(&db).await;
    let long_slug = "a".repeat(62);
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec![
                "create",
                "Acme; DROP SCHEMA public",
                "--domain",
                "x.localhost",
            ],
            None,
            "invalid_slug",
        ),
        (
            vec!["create", "Acme", "--domain", "x.localhost"],
            None,
            "invalid_slug",
        ),
        (
            vec!["create", &long_slug, "--domain", "x.localhost"],
            None,
            "invalid_slug",
        ),
        (
            vec!["create", "initech", "--domain", "initech.localhost/admin"],
            None,
            "invalid_host",
        ),
        (
            vec!["create", "initech", "--domain", "initech.localhost:8000"],
            None,
            "invalid_host",
        ),
        (
            vec!["create", "acme", "--domain", "other.localhost"],
            None,
            "slug_taken",
        ),
        (
            vec!["create", "initech", "--domain", "ACME.localhost"],
            None,
            "host_taken",
        ),
        (
            vec![
                "create",
                "initech",
                "--domain",
                "initech.localhost",
                "--name",
                "",
            ],
            None,
            "invalid_input",
        ),
        (
            vec![
                "create",
                "initech",
                "--domain",
                "initech.localhost",
                "--admin-email",
                "not-an-email",
            ],
            Some("correct horse battery\n"),
            "invalid_email",
        ),
        (
            vec![
                "create",
                "initech",
                "--domain",
                "initech.localhost",
                "--admin-email",
                "a@initech.example",
            ],
            Some(""),
            "invalid_password",
        ),
        (
            vec![
                "create",
                "initech",
                "--domain",
                "initech.localhost",
                "--admin-email",
                "a@initech.example",
            ],
            Some("short\n"),
            "invalid_password",
        ),
        (
            vec!["createadmin", "acme", "--email", "admin@acme.example"],
            Some("correct horse battery\n"),
            "email_taken",
        ),
        (
            vec!["createadmin", "nobody", "--email", "x@acme.example"],
            Some("correct horse battery\n"),
            "tenant_not_found",
        ),
        (vec!["show", "nobody"], None, "tenant_not_found"),
        (vec!["delete", "acme"], None, "confirmation_required"),
        (vec!["delete", "nobody", "--yes"], None, "tenant_not_found"),
        (
            vec!["domain", "add", "acme", "bad host"],
            None,
            "invalid_host",
        ),
        (
            vec!["domain", "add", "nobody", "n.localhost"],
            None,
            "tenant_not_found",
        ),
        (vec!["domain", "remove", "acme.localhost"], None, "conflict"),
        (
            vec!["domain", "remove", "nobody.localhost"],
            None,
            "domain_not_found",
        ),
        (vec!["suspend", "nobody"], None, "tenant_not_found"),
        (
            vec!["migrate", "--tenant", "nobody"],
            None,
            "tenant_not_found",
        ),
    ];
    for (args, stdin, code) in cases {
        let mut with_json = args.clone();
        with_json.push("--json");
        let run = tenantctl(Some(&db), &with_json, stdin);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.json()["error"], code, "{args:?}");
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(snapshot(&db).await, before, "{args:?} changed something");
    }
}

#[tokio::test]
async fn usage_errors_exit_2_with_a_message() {
    let db = migrated_with_acme().await;
    for args in [
        vec!["create", "initech"],
        vec!["migrate", "--parallel", "0"],
        vec!["migrate", "--shared", "--tenant", "acme"],
        vec!["frobnicate"],
    ] {
        let run = tenantctl(Some(&db), &args, None);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    let run = tenantctl(None, &["list"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("DATABASE_URL"), "{}", run.stderr);
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_exit_2() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/pactum");
    for args in [
        vec!["migrate"],
        vec!["create", "acme", "--domain", "acme.localhost"],
        vec!["list"],
        vec!["status", "--check"],
    ] {
        let mut full = vec!["--database-url", url.as_str(), "--json"];
        full.extend(args.iter());
        let run = tenantctl(None, &full, None);
        assert_eq!(run.code, 2, "{args:?}");
        assert_eq!(run.json()["error"], "database_unreachable");
        assert!(
            run.stderr.contains("cannot connect to PostgreSQL"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(&port.to_string()), "{}", run.stderr);
    }
}

#[tokio::test]
async fn status_check_exits_1_only_when_something_is_behind() {
    let db = migrated_with_acme().await;
    let run = tenantctl(Some(&db), &["status", "--check", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["up_to_date"], true);
    // New schemas start from the squashed baseline, which stands for migrations this
    // build has.
    let baseline = run.json()["new_schema_baseline"]
        .as_i64()
        .expect("a baseline matches this build");
    assert!(
        (1..=run.json()["tenant_expected"].as_i64().unwrap()).contains(&baseline),
        "{}",
        run.stdout
    );
    let text = tenantctl(Some(&db), &["status"], None);
    assert!(
        text.stdout.contains(&format!(
            "new schemas: the squashed baseline (V1 to V{baseline})"
        )),
        "{}",
        text.stdout
    );

    // What an older build leaves behind: a tenant at an earlier version.
    let client = db.client().await;
    client
        .batch_execute("update public.tenants set schema_version = 0 where slug = 'acme'")
        .await
        .unwrap();
    let run = tenantctl(Some(&db), &["status", "--check", "--json"], None);
    assert_eq!(run.code, 1);
    let status = run.json();
    assert_eq!(status["up_to_date"], false);
    assert_eq!(status["tenants_behind"], 1);
    // Without --check it only reports.
    assert_eq!(tenantctl(Some(&db), &["status"], None).code, 0);

    // An admin is written as this release writes users: not into a schema behind it.
    let before = snapshot(&db).await;
    let run = second_admin(&db, "correct horse battery\n");
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["error"], "tenant_migrating");
    assert!(run.stderr.contains("tenantctl migrate"), "{}", run.stderr);
    assert_eq!(snapshot(&db).await, before);
}

#[tokio::test]
async fn migrate_exits_1_when_a_tenant_fails_and_reports_it() {
    let db = migrated_with_acme().await;
    let run = tenantctl(
        Some(&db),
        &["create", "globex", "--domain", "globex.localhost"],
        None,
    );
    assert_eq!(run.code, 0);
    let client = db.client().await;
    // globex's schema is gone and the registry says it is behind: its migration fails.
    // acme's schema is empty, as if built by a release with no migrations yet.
    client
        .batch_execute(
            "drop schema t_globex cascade; drop schema t_acme cascade; create schema t_acme; \
             update public.tenants set schema_version = 0 where slug in ('acme', 'globex')",
        )
        .await
        .unwrap();
    let run = tenantctl(Some(&db), &["migrate", "--json"], None);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["summary"]["migrated"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    let failed = report["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "failed")
        .unwrap();
    assert_eq!(failed["tenant"], "globex");
    assert!(failed["error"].as_str().unwrap().contains("missing"));
}

#[tokio::test]
async fn migrate_without_json_prints_readable_progress_lines() {
    let db = migrated_with_acme().await;
    let client = db.client().await;
    client
        .batch_execute(
            "update public.tenants set schema_version = 0; \
             drop schema t_acme cascade; create schema t_acme",
        )
        .await
        .unwrap();
    let run = tenantctl(Some(&db), &["migrate"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("[1/1 100%] acme: applied V1__users"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("1 migrated"), "{}", run.stdout);
}

#[tokio::test]
async fn migrate_no_wait_exits_2_naming_the_lock_holder() {
    let db = migrated_with_acme().await;
    let holder = db.client().await;
    holder
        .execute(
            "select pg_advisory_lock($1)",
            &[&pactum::tenancy::provision::MIGRATION_LOCK_KEY],
        )
        .await
        .unwrap();
    let pid: i32 = holder
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let run = tenantctl(Some(&db), &["migrate", "--no-wait", "--json"], None);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"], "migration_locked");
    assert!(run.stderr.contains(&format!("pid {pid}")), "{}", run.stderr);
}

#[tokio::test]
async fn dry_run_applies_nothing() {
    let db = TestDb::empty().await;
    let run = tenantctl(Some(&db), &["migrate", "--dry-run", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["dry_run"], true);
    assert!(!run.json()["public_applied"].as_array().unwrap().is_empty());
    let run = tenantctl(Some(&db), &["list", "--json"], None);
    assert_eq!(run.code, 2, "the registry still does not exist");
    assert_eq!(run.json()["error"], "not_migrated");
}

#[tokio::test]
async fn suspend_resume_domain_and_delete_round_trip() {
    let db = migrated_with_acme().await;
    let ok = |args: &[&str]| {
        let run = tenantctl(Some(&db), args, None);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.json()
    };
    assert_eq!(
        ok(&["suspend", "acme", "--json"])["tenant"]["status"],
        "suspended"
    );
    assert_eq!(
        ok(&["resume", "acme", "--json"])["tenant"]["status"],
        "active"
    );
    assert_eq!(
        ok(&[
            "domain",
            "add",
            "acme",
            "Acme.Example.com",
            "--primary",
            "--json"
        ])["domain"]["host"],
        "acme.example.com"
    );
    assert_eq!(
        ok(&["domain", "remove", "acme.example.com", "--json"])["new_primary"],
        "acme.localhost"
    );
    assert_eq!(
        ok(&["delete", "acme", "--yes", "--json"])["schema"],
        "t_acme"
    );
    let client = db.client().await;
    assert!(schemas(&client).await.is_empty());
}

#[tokio::test]
async fn delete_removes_the_tenants_attachment_folder_and_no_other() {
    let db = migrated_with_acme_and_globex().await;
    let client = db.client().await;
    let id_of = |slug: &'static str| {
        let client = &client;
        async move {
            client
                .query_one("select id from public.tenants where slug = $1", &[&slug])
                .await
                .unwrap()
                .get::<_, uuid::Uuid>(0)
                .to_string()
        }
    };
    let (acme, globex) = (id_of("acme").await, id_of("globex").await);
    let uploads = std::env::temp_dir().join(format!("pactum-cli-uploads-{}", uuid::Uuid::new_v4()));
    for tenant in [&acme, &globex] {
        std::fs::create_dir_all(uploads.join(tenant)).unwrap();
        std::fs::write(uploads.join(tenant).join("some-attachment"), b"%PDF-1.7").unwrap();
    }
    let upload_dir = uploads.display().to_string();
    let run = tenantctl_with_env(
        Some(&db),
        &["delete", "acme", "--yes", "--json"],
        None,
        &[("PACTUM_UPLOAD_DIR", &upload_dir)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["files_removed"], true);
    assert!(!uploads.join(&acme).exists(), "acme's files are gone");
    assert!(
        uploads.join(&globex).join("some-attachment").exists(),
        "globex's stay"
    );
    std::fs::remove_dir_all(&uploads).unwrap();
}

/// Files that cannot be removed stop a delete before the schema goes: the tenant
/// stays `deleting` (no longer served) with its schema, exit 1 says so, and the same
/// command, run again once the files can go, finishes the delete. A deleted tenant
/// never leaves files that nothing names.
#[tokio::test]
async fn a_delete_whose_files_cannot_be_removed_keeps_the_tenant_deleting_and_resumes() {
    let db = migrated_with_acme().await;
    let client = db.client().await;
    let acme: uuid::Uuid = client
        .query_one("select id from public.tenants where slug = 'acme'", &[])
        .await
        .unwrap()
        .get(0);
    let uploads = std::env::temp_dir().join(format!("pactum-cli-uploads-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&uploads).unwrap();
    // Where the tenant's folder should be, a file: removing the folder fails (as root
    // too, which permissions would not stop).
    let folder = uploads.join(acme.to_string());
    std::fs::write(&folder, b"not a folder").unwrap();
    let upload_dir = uploads.display().to_string();
    let delete = || {
        tenantctl_with_env(
            Some(&db),
            &["delete", "acme", "--yes", "--json"],
            None,
            &[("PACTUM_UPLOAD_DIR", &upload_dir)],
        )
    };

    let failed = delete();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert_eq!(failed.json()["error"], "attachments_not_removed");
    assert!(
        failed.stderr.contains("run the same command again"),
        "{}",
        failed.stderr
    );
    let status: String = client
        .query_one("select status from public.tenants where id = $1", &[&acme])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "deleting", "no longer served");
    assert_eq!(schemas(&client).await, ["t_acme"], "its schema is kept");

    std::fs::remove_file(&folder).unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("some-attachment"), b"%PDF-1.7").unwrap();
    let resumed = delete();
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.json()["files_removed"], true);
    assert!(!folder.exists(), "its files are gone");
    assert!(schemas(&client).await.is_empty(), "and its schema");
    let left: i64 = client
        .query_one("select count(*) from public.tenants", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    std::fs::remove_dir_all(&uploads).unwrap();
}

#[tokio::test]
async fn storage_check_lists_orphans_and_missing_files_and_exits_1_on_any() {
    let db = migrated_with_acme().await;
    let client = db.client().await;
    let tenant: uuid::Uuid = client
        .query_one("select id from public.tenants where slug = 'acme'", &[])
        .await
        .unwrap()
        .get(0);
    let insert = "insert into t_acme.attachments \
                  (target_kind, target_id, filename, content_type, size_bytes, sha256) \
                  values ('contract', gen_random_uuid(), 'a.txt', 'text/plain', 6, 'x') returning id";
    let kept: uuid::Uuid = client.query_one(insert, &[]).await.unwrap().get(0);
    let lost: uuid::Uuid = client.query_one(insert, &[]).await.unwrap().get(0);
    let uploads = std::env::temp_dir().join(format!("pactum-cli-check-{}", uuid::Uuid::new_v4()));
    let folder = uploads.join(tenant.to_string());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(kept.to_string()), b"Terms.").unwrap();
    // Being received: not a stored file.
    std::fs::write(folder.join(".upload-123"), b"Ter").unwrap();
    let upload_dir = uploads.display().to_string();
    let check = |args: &[&str]| {
        tenantctl_with_env(Some(&db), args, None, &[("PACTUM_UPLOAD_DIR", &upload_dir)])
    };

    let run = check(&["storage", "check", "--json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["differences"], 1);
    assert_eq!(
        report["tenants"][0]["missing"],
        serde_json::json!([lost.to_string()])
    );

    let orphan = uuid::Uuid::new_v4().to_string();
    std::fs::write(folder.join(&orphan), b"Stray.").unwrap();
    std::fs::write(folder.join(lost.to_string()), b"Found.").unwrap();
    let run = check(&["storage", "check", "--tenant", "acme"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("orphan {orphan}")),
        "{}",
        run.stdout
    );

    std::fs::remove_file(folder.join(&orphan)).unwrap();
    let run = check(&["storage", "check", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["tenants"][0]["files"], 2);

    // An upload on its way in: stored, not yet recorded, its removal pending. Not an
    // orphan; once its removal has run (or was cancelled) with no record, it is one.
    let arriving = uuid::Uuid::new_v4();
    std::fs::write(folder.join(arriving.to_string()), b"Arriving.").unwrap();
    let reservation: i64 = client
        .query_one(
            "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, \
                 fair_at, max_attempts, timeout_ms, unique_key, created_at) \
             values ($1, 'attachments.remove_files', 'default', $2, 5, 'scheduled', \
                 now() + interval '1 hour', now(), 5, 60000, $3, now()) returning id",
            &[
                &tenant,
                &serde_json::json!({"attachments": [arriving]}),
                &format!("unrecorded:{arriving}"),
            ],
        )
        .await
        .unwrap()
        .get(0);
    let run = check(&["storage", "check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("unrecorded {arriving}"))
            && run.stdout.contains("1 not recorded yet"),
        "{}",
        run.stdout
    );
    let run = check(&["storage", "check", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.json()["tenants"][0]["unrecorded"],
        serde_json::json!([arriving.to_string()])
    );
    assert_eq!(run.json()["tenants"][0]["orphans"], serde_json::json!([]));
    client
        .execute(
            "update public.jobs set state = 'cancelled' where id = $1",
            &[&reservation],
        )
        .await
        .unwrap();
    let run = check(&["storage", "check", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.json()["tenants"][0]["orphans"],
        serde_json::json!([arriving.to_string()])
    );
    std::fs::remove_file(folder.join(arriving.to_string())).unwrap();

    let run = check(&["storage", "check", "--tenant", "Bad Slug"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let run = tenantctl_with_env(
        Some(&db),
        &["storage", "check"],
        None,
        &[("PACTUM_STORAGE_URL", "ftp://nowhere")],
    );
    assert_eq!(
        run.code, 2,
        "a bad store setting is refused: {}",
        run.stdout
    );
    std::fs::remove_dir_all(&uploads).unwrap();
}

#[tokio::test]
async fn behind_pgbouncer_create_and_migrate_work_and_a_missing_direct_url_is_exit_2() {
    let db = TestDb::migrated().await;
    let bouncer = PgBouncer::start(2);
    let pooled = bouncer.url_for(&db);
    let env = [
        ("DATABASE_URL", pooled.as_str()),
        ("PACTUM_DB_POOLER", "transaction"),
    ];
    let refused = tenantctl_with_env(None, &["--json", "list"], None, &env);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stdout.contains("no_direct_database"),
        "{}",
        refused.stdout
    );

    let env = [
        env[0],
        env[1],
        ("PACTUM_DIRECT_DATABASE_URL", db.url.as_str()),
    ];
    for slug in ["acme", "globex", "initech"] {
        let host = format!("{slug}.localhost");
        let created = tenantctl_with_env(
            None,
            &["--json", "create", slug, "--domain", &host],
            None,
            &env,
        );
        assert_eq!(created.code, 0, "{}{}", created.stdout, created.stderr);
        assert_eq!(created.json()["tenant"]["slug"], slug);
    }
    let migrated = tenantctl_with_env(None, &["--json", "migrate"], None, &env);
    assert_eq!(migrated.code, 0, "{}{}", migrated.stdout, migrated.stderr);
    let listed = tenantctl_with_env(None, &["--json", "list"], None, &env);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(
        listed.json()["tenants"].as_array().map(Vec::len),
        Some(3),
        "{}",
        listed.stdout
    );
}

/// A TCP relay in front of PostgreSQL that remembers, per connection, the last bytes
/// the client sent before it closed.
struct Relay {
    port: u16,
    endings: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Relay {
    fn start(upstream: (String, u16)) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let endings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = endings.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server =
                    std::net::TcpStream::connect((upstream.0.as_str(), upstream.1)).unwrap();
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                });
                let recorded = recorded.clone();
                std::thread::spawn(move || {
                    let (mut from_client, mut to_server) = (client, server);
                    let mut tail: Vec<u8> = Vec::new();
                    let mut buffer = [0u8; 8192];
                    loop {
                        match std::io::Read::read(&mut from_client, &mut buffer) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                tail.extend_from_slice(&buffer[..n]);
                                let keep = tail.len().saturating_sub(16);
                                tail.drain(..keep);
                                if to_server.write_all(&buffer[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = to_server.shutdown(std::net::Shutdown::Both);
                    recorded.lock().unwrap().push(tail);
                });
            }
        });
        Self { port, endings }
    }
}

#[tokio::test]
async fn tenantctl_says_goodbye_to_postgresql_on_every_connection() {
    let db = TestDb::migrated().await;
    let config: tokio_postgres::Config = db.url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    let relay = Relay::start((host, config.get_ports().first().copied().unwrap_or(5432)));
    let user = config.get_user().unwrap_or("postgres");
    let url = format!(
        "host=127.0.0.1 port={} dbname={} user={user}",
        relay.port, db.name
    );
    let env = [("DATABASE_URL", url.as_str())];
    for args in [
        &["create", "acme", "--domain", "acme.localhost"][..],
        &["list"][..],
        &["migrate", "--parallel", "2"][..],
    ] {
        let run = tenantctl_with_env(None, args, None, &env);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    // The relay notices each close a moment after tenantctl has exited.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let endings = loop {
        let endings = relay.endings.lock().unwrap().clone();
        if endings.len() >= 3 || std::time::Instant::now() > deadline {
            break endings;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(endings.len() >= 3, "{} connections seen", endings.len());
    // Terminate: 'X' and a length of 4, the last thing a polite client sends.
    for ending in &endings {
        assert!(
            ending.ends_with(b"X\0\0\0\x04"),
            "a connection ended without Terminate: {ending:?}"
        );
    }
}

/// Jobs for acme: one available, one failed for good (discarded), one scheduled.
async fn acme_with_jobs() -> (TestDb, Vec<i64>) {
    let db = migrated_with_acme().await;
    let client = db.client().await;
    let mut ids = Vec::new();
    for (state, kind) in [
        ("available", "pactum.noop"),
        ("discarded", "webhook.deliver"),
        ("scheduled", "pactum.noop"),
    ] {
        let id: i64 = client
            .query_one(
                "insert into public.jobs (tenant_id, kind, state, run_at, fair_at, attempt, \
                     max_attempts, errors, created_at, finished_at) \
                 select id, $2, $1, now(), now(), 3, 3, \
                     case when $1 = 'discarded' then '[{\"attempt\": 3, \"at\": \"2026-11-30T10:00:00Z\", \"error\": \"HTTP 500\"}]'::jsonb else '[]' end, \
                     now(), case when $1 = 'discarded' then now() end \
                 from public.tenants where slug = 'acme' returning id",
                &[&state, &kind],
            )
            .await
            .unwrap()
            .get(0);
        ids.push(id);
    }
    (db, ids)
}

#[tokio::test]
async fn jobs_list_show_retry_cancel_and_stats() {
    let (db, ids) = acme_with_jobs().await;
    let listed = tenantctl(
        Some(&db),
        &["--json", "jobs", "list", "--tenant", "acme"],
        None,
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json()["jobs"].as_array().unwrap().len(), 3);
    let discarded = tenantctl(
        Some(&db),
        &["--json", "jobs", "list", "--state", "discarded"],
        None,
    );
    assert_eq!(discarded.json()["jobs"][0]["id"], ids[1]);

    let shown = tenantctl(Some(&db), &["jobs", "show", &ids[1].to_string()], None);
    assert_eq!(shown.code, 0);
    assert!(shown.stdout.contains("HTTP 500"), "{}", shown.stdout);

    let retried = tenantctl(
        Some(&db),
        &["--json", "jobs", "retry", &ids[1].to_string()],
        None,
    );
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let row = db
        .client()
        .await
        .query_one(
            "select state, max_attempts from public.jobs where id = $1",
            &[&ids[1]],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "available");
    assert_eq!(row.get::<_, i32>(1), 4, "one more attempt than it has used");

    let cancelled = tenantctl(Some(&db), &["jobs", "cancel", &ids[2].to_string()], None);
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let again = tenantctl(
        Some(&db),
        &["--json", "jobs", "cancel", &ids[2].to_string()],
        None,
    );
    assert_eq!(again.code, 2, "cancelling a finished job is refused");
    assert_eq!(again.json()["error"], "wrong_state");

    let stats = tenantctl(Some(&db), &["--json", "jobs", "stats"], None);
    assert_eq!(stats.code, 0);
    let counts = &stats.json()["stats"]["counts"];
    let available: i64 = counts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "available")
        .map(|c| c["jobs"].as_i64().unwrap())
        .sum();
    assert_eq!(available, 2);
}

#[tokio::test]
async fn jobs_pause_and_resume_by_scope_and_refuse_bad_input_with_exit_2() {
    let (db, ids) = acme_with_jobs().await;
    for scope in [
        &["--all"][..],
        &["--queue", "webhooks"],
        &["--tenant", "acme"],
    ] {
        let mut args = vec!["--json", "jobs", "pause"];
        args.extend_from_slice(scope);
        let paused = tenantctl(Some(&db), &args, None);
        assert_eq!(paused.code, 0, "{scope:?}: {}", paused.stderr);
        assert_eq!(paused.json()["changed"], true);
        assert_eq!(tenantctl(Some(&db), &args, None).json()["changed"], false);
    }
    let stats = tenantctl(Some(&db), &["--json", "jobs", "stats"], None);
    assert_eq!(stats.json()["stats"]["paused"].as_array().unwrap().len(), 3);
    let resumed = tenantctl(Some(&db), &["jobs", "resume", "--tenant", "acme"], None);
    assert_eq!(resumed.code, 0);
    assert!(resumed.stdout.contains("resumed tenant acme"));

    let before = db
        .client()
        .await
        .query("select id, state from public.jobs order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
        .collect::<Vec<_>>();
    for (args, code) in [
        (vec!["jobs", "list", "--state", "exploded"], "invalid_input"),
        (
            vec!["jobs", "list", "--tenant", "Robert'); drop table jobs;--"],
            "invalid_slug",
        ),
        (vec!["jobs", "show", "987654"], "job_not_found"),
        (vec!["jobs", "retry", "0"], "job_not_found"),
        (
            vec!["jobs", "pause", "--tenant", "nobody"],
            "tenant_not_found",
        ),
        (
            vec!["jobs", "pause", "--queue", "Not A Queue"],
            "invalid_input",
        ),
        (
            vec!["jobs", "stats", "--tenant", "nobody"],
            "tenant_not_found",
        ),
    ] {
        let mut all = vec!["--json"];
        all.extend(args.iter().copied());
        let run = tenantctl(Some(&db), &all, None);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.json()["error"], code, "{args:?}");
    }
    for args in [
        &["jobs", "pause"][..],
        &["jobs", "pause", "--all", "--tenant", "acme"],
        &["jobs", "show", "not-a-number"],
        &["jobs", "list", "--limit", "0"],
    ] {
        let run = tenantctl(Some(&db), args, None);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    let after = db
        .client()
        .await
        .query("select id, state from public.jobs order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
        .collect::<Vec<_>>();
    assert_eq!(before, after, "refused commands change nothing");
    assert_eq!(after.len(), ids.len());
}

#[tokio::test]
async fn isolation_check_finds_a_superuser_login_and_stray_grants_and_passes_a_clean_login() {
    let db = migrated_with_acme_and_globex().await;
    let client = db.client().await;
    let login = db.server_login_url().await;
    let as_login = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--json");
        tenantctl_with_env(None, &args, None, &[("DATABASE_URL", &login)])
    };

    // As the server's login role: nothing to report, both tenants probed.
    let clean = as_login(&["isolation", "--check"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    let report = clean.json();
    assert_eq!(report["isolated"], true, "{report}");
    assert_eq!(report["login_superuser"], false);
    assert_eq!(
        (report["tenants"].as_u64(), report["probed"].as_u64()),
        (Some(2), Some(2))
    );

    // As the superuser the tests connect with: that alone is a finding.
    let superuser = tenantctl(Some(&db), &["isolation", "--check", "--json"], None);
    assert_eq!(superuser.code, 1, "{}", superuser.stderr);
    let codes = |run: &Run| -> Vec<String> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(&superuser),
        [
            "login_superuser",
            "login_bypasses_row_security",
            "login_owns_tenant_schemas"
        ]
    );
    // Without --check it reports and succeeds.
    assert_eq!(tenantctl(Some(&db), &["isolation", "--json"], None).code, 0);

    let role_of = |slug: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    "select role_name from public.tenants where slug = $1",
                    &[&slug],
                )
                .await
                .unwrap()
                .get::<_, String>(0)
        }
    };
    // A grant made by hand to another tenant's role, and a table left to PUBLIC.
    let globex_role = role_of("globex").await;
    client
        .batch_execute(&format!(
            "grant usage on schema t_acme to \"{globex_role}\"; \
             grant select on t_acme.users to \"{globex_role}\"; \
             grant select on t_acme.contracts to public"
        ))
        .await
        .unwrap();
    let found = as_login(&["isolation", "--check"]);
    assert_eq!(found.code, 1, "{}", found.stdout);
    let mut found_codes = codes(&found);
    found_codes.sort();
    assert_eq!(
        found_codes,
        [
            "probe_other_schema_readable",
            "schema_privileges",
            "table_privileges",
            "table_privileges"
        ],
        "{}",
        found.stdout
    );

    // A tenant built before tenant roles: reported, and `migrate` gives it one.
    let acme_role = role_of("acme").await;
    client
        .batch_execute(&format!(
            "revoke all on t_acme.users from \"{globex_role}\"; \
             revoke usage on schema t_acme from \"{globex_role}\"; \
             revoke select on t_acme.contracts from public; \
             update public.tenants set role_name = null where slug = 'acme'; \
             drop owned by \"{acme_role}\"; drop role \"{acme_role}\""
        ))
        .await
        .unwrap();
    assert_eq!(codes(&as_login(&["isolation"])), ["no_role"]);
    let run = tenantctl(Some(&db), &["migrate"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let again = as_login(&["isolation", "--check"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}
