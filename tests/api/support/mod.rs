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
    /// An empty database.
    pub async fn empty() -> Self {
        sweep_leftovers_once().await;
        let name = format!(
            "pactum_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = connect(server_url()).await;
        admin
            .batch_execute(&format!("create database \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
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
        })
        .await;
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

/// Everything in a schema that defines its shape, with the schema's own name blanked
/// out: two schemas built the same way give the same list.
pub async fn schema_fingerprint(client: &Client, schema: &str) -> Vec<String> {
    let rows = client
        .query(
            "select 'table ' || c.relname || ' ' || c.relkind::text from pg_class c \
               join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 \
             union all \
             select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) \
                    || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') \
               from pg_attribute a join pg_class c on c.oid = a.attrelid \
               join pg_namespace n on n.oid = c.relnamespace \
               left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
              where n.nspname = $1 and a.attnum > 0 and not a.attisdropped \
             union all \
             select 'index ' || replace(pg_get_indexdef(i.indexrelid), $1, '<schema>') \
               from pg_index i join pg_class c on c.oid = i.indrelid \
               join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 \
             union all \
             select 'constraint ' || con.conname || ' ' || replace(pg_get_constraintdef(con.oid), $1 || '.', '<schema>.') \
               from pg_constraint con join pg_namespace n on n.oid = con.connamespace \
              where n.nspname = $1 \
             union all \
             select 'comment ' || coalesce(obj_description(c.oid), '') from pg_class c \
               join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 \
             union all \
             select 'owner ' || pg_get_userbyid(n.nspowner) || ' ' || coalesce(n.nspacl::text, '') \
               from pg_namespace n where n.nspname = $1 \
             order by 1",
            &[&schema],
        )
        .await
        .expect("fingerprinting a schema");
    rows.iter().map(|r| r.get(0)).collect()
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
