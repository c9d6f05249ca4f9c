//! Test harness: every test gets its own database on a real PostgreSQL, so tests run in
//! parallel without seeing each other's tenants.
//!
//! The server is `DATABASE_URL` when set (it must let us create databases), else the
//! private cluster that `scripts/pg.sh` starts from the system's PostgreSQL binaries.
//! Databases are named `pactum_test_<pid>_<n>`, dropped when the `TestDb` is dropped;
//! leftovers of test processes that died are swept at start.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use pactum::tenancy::fleet::{self, FleetOptions, Scope};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::MigrationSet;
use tokio_postgres::{Client, Config, NoTls};

static SERVER_URL: OnceLock<String> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("scripts/pg.sh").exists() {
        assert!(dir.pop(), "scripts/pg.sh not found above the crate");
    }
    dir
}

/// The maintenance URL of the PostgreSQL server the tests use.
pub fn server_url() -> &'static str {
    SERVER_URL.get_or_init(|| service_url("DATABASE_URL", "pg.sh"))
}

/// `$variable` when set, else the URL of the project's private service, which
/// `scripts/<script> url` starts (installing it from the distribution if needed).
pub fn service_url(variable: &str, script: &str) -> String {
    if let Ok(url) = std::env::var(variable) {
        if !url.trim().is_empty() {
            return url;
        }
    }
    let path = workspace_root().join("scripts").join(script);
    let output = Command::new("bash")
        .arg(&path)
        .arg("url")
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(
        output.status.success(),
        "scripts/{script} could not start its service:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("the script prints a URL")
        .trim()
        .to_owned()
}

/// A port on 127.0.0.1 that nothing listened on a moment ago: bound, noted, released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends SIGTERM to a child process, as an orchestrator stopping it would. A system
/// call, not the `kill` program: a minimal machine has no procps.
pub fn terminate(child: &std::process::Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a process id fits pid_t");
    #[allow(unsafe_code)]
    // SAFETY: kill(2) with a valid signal has no memory effects; the pid is our child's.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(
        sent,
        0,
        "SIGTERM to {pid}: {}",
        std::io::Error::last_os_error()
    );
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = url
        .parse::<Config>()
        .expect("valid test URL")
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

fn url_for_database(database: &str) -> String {
    let mut config: Config = server_url().parse().expect("valid server URL");
    config.dbname(database);
    // tokio-postgres has no Config -> URL; build the key=value form it also accepts.
    let mut parts = vec![format!("dbname={database}")];
    for host in config.get_hosts() {
        match host {
            tokio_postgres::config::Host::Tcp(h) => parts.push(format!("host={h}")),
            tokio_postgres::config::Host::Unix(p) => parts.push(format!("host={}", p.display())),
        }
    }
    if let Some(port) = config.get_ports().first() {
        parts.push(format!("port={port}"));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user={user}"));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!(
            "password='{}'",
            String::from_utf8_lossy(password)
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
        ));
    }
    parts.join(" ")
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Waits until the count `sql` selects is zero, for at most `within`; `what` names
    /// what is waited for in the failure.
    pub async fn until_none(&self, sql: &str, within: std::time::Duration, what: &str) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let waiting: i64 = self
                .client()
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0);
            if waiting == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{waiting} still waiting after {within:?}: {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// An empty database, as scripts/pg.sh makes Pactum's: sorted as in C, letters
    /// classified as Unicode does (`C.UTF-8`), whatever the server's own default is.
    pub async fn empty() -> Self {
        Self::with_ctype("C.UTF-8").await
    }

    /// An empty database whose letters are classified by `lc_ctype` (plain where the
    /// system has no such locale: then case folds for ASCII only).
    pub async fn with_ctype(lc_ctype: &str) -> Self {
        sweep_leftovers_once().await;
        let name = format!(
            "pactum_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = connect(server_url()).await;
        let classified = admin
            .batch_execute(&format!(
                "create database \"{name}\" template template0 encoding 'UTF8' \
                 lc_collate 'C' lc_ctype '{lc_ctype}'"
            ))
            .await;
        if classified.is_err() {
            admin
                .batch_execute(&format!("create database \"{name}\""))
                .await
                .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        }
        let url = url_for_database(&name);
        Self { name, url }
    }

    /// A database with the public migrations applied (what `tenantctl migrate` does
    /// on a new installation).
    pub async fn migrated() -> Self {
        let db = Self::empty().await;
        let options = FleetOptions {
            scope: Scope::Shared,
            ..FleetOptions::default()
        };
        fleet::migrate_fleet(
            &db.database_url(),
            &MigrationSet::public(),
            &MigrationSet::tenant(),
            &options,
            |_| {},
        )
        .await
        .expect("public migrations apply to an empty database");
        db
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url, "pactum-tests").expect("valid test URL")
    }

    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }

    /// This database as the server should reach it: a login role that is neither a
    /// superuser nor an owner, only a member of `pactum_server`. Roles are cluster-wide
    /// and this one holds nothing of its own, so every test database shares it.
    pub async fn server_login_url(&self) -> String {
        self.client()
            .await
            .batch_execute(
                "do $$ begin create role pactum_test_server login in role pactum_server; \
                 exception when duplicate_object or unique_violation then null; end $$",
            )
            .await
            .expect("the server's login role");
        format!("{} user=pactum_test_server", self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a fresh thread with its own runtime can
        // block on the cleanup without upsetting it.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(drop_database(&name));
        })
        .join();
    }
}

async fn drop_database(name: &str) {
    let admin = connect(server_url()).await;
    let _ = admin
        .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
        .await;
    drop_orphan_roles(&admin).await;
}

/// Tenant roles are cluster-wide: those of dropped databases go too (another test
/// process may drop the same one at once, so a failure is not an error).
async fn drop_orphan_roles(admin: &Client) {
    let Ok(orphans) = admin.query(pactum::tenancy::roles::ORPHANS_SQL, &[]).await else {
        return;
    };
    for row in orphans {
        let name: &str = row.get(0);
        if let Some(role) = pactum::tenancy::roles::RoleName::from_stored(name) {
            let _ = admin
                .batch_execute(&format!("drop role if exists {}", role.quoted()))
                .await;
        }
    }
}

async fn sweep_leftovers_once() {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let admin = connect(server_url()).await;
            let rows = admin
                .query(
                    "select datname from pg_database where datname like 'pactum\\_test\\_%'",
                    &[],
                )
                .await
                .expect("listing test databases");
            for row in rows {
                let name: String = row.get(0);
                let pid = name
                    .strip_prefix("pactum_test_")
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                if let Some(pid) = pid {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        drop_database(&name).await;
                    }
                }
            }
            drop_orphan_roles(&admin).await;
        })
        .await;
}

/// The plan PostgreSQL makes for `sql` run with `arguments` (SQL literals, as in
/// `execute`), prepared on `client` after `setup` (a `set ...;` or nothing), which is
/// undone after by `undo`: what a statement of the server's does, without running it.
pub async fn prepared_plan(
    client: &Client,
    setup: &str,
    sql: &str,
    arguments: &str,
    undo: &str,
) -> String {
    client
        .batch_execute(&format!("{setup} prepare planned as {sql}"))
        .await
        .unwrap();
    let plan: Vec<String> = client
        .query(&format!("explain execute planned({arguments})"), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    client
        .batch_execute(&format!("deallocate planned; {undo}"))
        .await
        .unwrap();
    plan.join("\n")
}

/// Names of the schemas in a database, without PostgreSQL's own.
pub async fn schemas(client: &Client) -> Vec<String> {
    client
        .query(
            "select nspname from pg_namespace where nspname not like 'pg\\_%' \
             and nspname not in ('information_schema', 'public') order by 1",
            &[],
        )
        .await
        .expect("listing schemas")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Everything in a schema that defines its shape and who may use it, and the rows it
/// holds (but for the history, whose times differ; see [`history`]), with the schema's
/// own name and its tenant role's blanked out: two schemas built the same way give the
/// same list, and so do a schema built from the squashed baseline and one built by
/// replaying every migration.
pub async fn schema_fingerprint(client: &Client, schema: &str) -> Vec<String> {
    let rows = client
        .query(
            "with c as (select c.*, c.oid as id from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                        where n.nspname = $1) \
             select 'table ' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text \
                    || ' rls ' || c.relrowsecurity::text || ' ' || coalesce(c.reloptions::text, '') from c \
             union all \
             select 'column ' || c.relname || '.' || a.attname || ' #' \
                    || row_number() over (partition by c.id order by a.attnum) || ' ' \
                    || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text \
                    || ' identity ' || a.attidentity::text || ' generated ' || a.attgenerated::text \
                    || ' collation ' || coalesce(co.collname, '') \
                    || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') \
                    || ' ' || coalesce(col_description(c.id, a.attnum), '') \
               from pg_attribute a join c on c.id = a.attrelid \
               left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
               left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 100 \
              where a.attnum > 0 and not a.attisdropped \
             union all \
             select 'index ' || replace(pg_get_indexdef(i.indexrelid), $1 || '.', '<schema>.') \
               from pg_index i join c on c.id = i.indrelid \
             union all \
             select 'constraint ' || con.conname || ' ' || con.convalidated::text || ' ' \
                    || replace(pg_get_constraintdef(con.oid), $1 || '.', '<schema>.') \
               from pg_constraint con join pg_namespace n on n.oid = con.connamespace \
              where n.nspname = $1 \
             union all \
             select 'trigger ' || replace(pg_get_triggerdef(t.oid), $1 || '.', '<schema>.') \
               from pg_trigger t join c on c.id = t.tgrelid where not t.tgisinternal \
             union all \
             select 'function ' || replace(pg_get_functiondef(p.oid), $1 || '.', '<schema>.') \
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 \
             union all \
             select 'sequence ' || c.relname || ' ' || s.seqtypid::regtype::text || ' ' || s.seqstart \
                    || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax || ' ' || s.seqcache \
                    || ' ' || s.seqcycle::text || ' ' || coalesce(pg_sequence_last_value(c.id)::text, 'unused') \
               from pg_sequence s join c on c.id = s.seqrelid \
             union all \
             select 'policy ' || p.tablename || ' ' || p.policyname || ' ' || p.cmd || ' ' \
                    || coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') \
               from pg_policies p where p.schemaname = $1 \
             union all \
             select 'rows ' || c.relname || ' ' || (xpath('/row/rows/text()', query_to_xml(format( \
                    'select count(*) || '' '' || md5(coalesce(string_agg(t::text, '','' order by t::text), '''')) \
                     as rows from %I.%I t', $1, c.relname), false, true, '')))[1]::text \
               from c where c.relkind in ('r', 'p') and c.relname <> 'refinery_schema_history' \
             union all \
             select 'comment ' || coalesce(obj_description(c.id), '') from c \
             union all \
             select 'owner ' || pg_get_userbyid(n.nspowner) || ' ' \
                    || regexp_replace(coalesce(n.nspacl::text, ''), 'pactum_t[0-9]+_[0-9a-f]{16}', '<tenant role>', 'g') \
               from pg_namespace n where n.nspname = $1 \
             union all \
             select 'privileges ' || c.relname || ' ' \
                    || regexp_replace(coalesce(c.relacl::text, ''), 'pactum_t[0-9]+_[0-9a-f]{16}', '<tenant role>', 'g') \
               from c \
             order by 1",
            &[&schema],
        )
        .await
        .expect("fingerprinting a schema");
    rows.iter().map(|r| r.get(0)).collect()
}

/// What one schema fingerprint has that the other lacks (`-` left only, `+` right
/// only): empty when they are the same, short enough to read when they are not.
pub fn fingerprint_differences(left: &[String], right: &[String]) -> Vec<String> {
    let only = |sign: char, these: &[String], those: &[String]| {
        these
            .iter()
            .filter(|line| !those.contains(line))
            .map(move |line| format!("{sign} {line}"))
            .collect::<Vec<_>>()
    };
    let mut differences = only('-', left, right);
    differences.extend(only('+', right, left));
    differences
}

/// The migration history of a schema, as (version, name, checksum).
pub async fn history(client: &Client, schema: &str) -> Vec<(i32, String, String)> {
    client
        .query(
            &format!(
                "select version, name, checksum from \"{schema}\".refinery_schema_history order by version"
            ),
            &[],
        )
        .await
        .expect("reading migration history")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// A real PgBouncer in transaction mode in front of the test server
/// (`scripts/pgbouncer.sh` finds or unpacks the distribution's package). Stopped when
/// dropped.
pub struct PgBouncer {
    pub port: u16,
    child: std::process::Child,
    dir: PathBuf,
}

impl PgBouncer {
    /// Starts one that opens at most `server_connections` PostgreSQL connections per
    /// database and user, so that its clients share them.
    pub fn start(server_connections: usize) -> Self {
        static BINARY: OnceLock<String> = OnceLock::new();
        let binary = BINARY.get_or_init(|| {
            let output = Command::new("bash")
                .arg(workspace_root().join("scripts/pgbouncer.sh"))
                .arg("bin")
                .output()
                .expect("running scripts/pgbouncer.sh");
            assert!(
                output.status.success(),
                "scripts/pgbouncer.sh failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        });
        let server: Config = server_url().parse().expect("valid server URL");
        let host = match server.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "127.0.0.1".into(),
        };
        let server_port = server.get_ports().first().copied().unwrap_or(5432);
        let user = server.get_user().unwrap_or("postgres").to_owned();
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("pactum-pgbouncer-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {d}/users.txt\npool_mode = transaction\n\
                 default_pool_size = {server_connections}\nmin_pool_size = 0\n\
                 max_client_conn = 1000\nlogfile = {d}/pgbouncer.log\n\
                 pidfile = {d}/pgbouncer.pid\nadmin_users = {user}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        // PgBouncer refuses to run as root; started as root it can switch users.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if as_root {
            Command::new("chmod")
                .arg("-R")
                .arg("a+rwX")
                .arg(&dir)
                .status()
                .unwrap();
        }
        let mut command = Command::new(binary);
        if as_root {
            command.arg("-u").arg("postgres");
        }
        let mut child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pgbouncer starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "pgbouncer exited with {status}:\n{}",
                    std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default()
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pgbouncer did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self { port, child, dir }
    }

    /// `db` reached through this PgBouncer.
    pub fn url_for(&self, db: &TestDb) -> String {
        let user = server_url()
            .parse::<Config>()
            .ok()
            .and_then(|c| c.get_user().map(str::to_owned))
            .unwrap_or_else(|| "postgres".into());
        format!(
            "host=127.0.0.1 port={} dbname={} user={user}",
            self.port, db.name
        )
    }

    /// What PgBouncer logged, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
