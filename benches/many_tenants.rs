//! Helper of `scripts/bench-many-tenants.sh`: provisions thousands of tenants quickly
//! and mints their admins' access tokens for wrk, without thousands of logins (each an
//! argon2 verification). Not a product tool.
//!
//!   many_tenants provision N          tenants m0..m<N-1>, each with an admin
//!   many_tenants tokens N FILE.lua    a wrk target table for m0..m<N-1>
//!
//! DATABASE_URL, and JWT_SECRET for `tokens` (the server's).

use std::io::Write;

use pactum::identity::password::NewPassword;
use pactum::kernel::tokens::{unix_now, TokenKeys};
use pactum::tenancy::first_admin::FirstAdmin;
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Email, Host, MigrationSet, TenantSlug};

const PARALLEL: usize = 2;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; the scripts run the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let url = DatabaseUrl::parse(&std::env::var("DATABASE_URL")?, "many-tenants")?;
    let count: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(10);
    match args.get(1).map(String::as_str) {
        Some("provision") => provision(&url, count).await,
        Some("tokens") => {
            let path = args
                .get(3)
                .ok_or_else(|| anyhow::anyhow!("tokens N FILE.lua"))?;
            tokens(&url, count, path).await
        }
        _ => anyhow::bail!("usage: many_tenants provision N | tokens N FILE.lua"),
    }
}

async fn provision(url: &DatabaseUrl, count: usize) -> anyhow::Result<()> {
    let hash = NewPassword::parse("bench password 123")?.hash()?;
    let set = MigrationSet::tenant();
    let started = std::time::Instant::now();
    let workers = (0..PARALLEL).map(|worker| {
        let (hash, set, url) = (hash.clone(), set.clone(), url.clone());
        async move {
            let mut client = url.connect().await?;
            for i in (worker..count).step_by(PARALLEL) {
                let slug = format!("m{i}");
                let mut new = NewTenant::new(
                    TenantSlug::parse(&slug)?,
                    None,
                    Host::parse(&format!("{slug}.localhost"))?,
                )?;
                new.admin = Some(FirstAdmin {
                    email: Email::parse(&format!("admin@{slug}.example"))?,
                    display_name: format!("Admin of {slug}"),
                    password_hash: hash.clone(),
                });
                match provision::create_tenant_cold(&mut client, &set, &new).await {
                    Ok(_) => {}
                    Err(error) if error.code() == "slug_taken" => {}
                    Err(error) => return Err(anyhow::anyhow!("{slug}: {error}")),
                }
                if i % 1000 == 0 {
                    eprintln!("   {i} tenants, {:.0} s", started.elapsed().as_secs_f64());
                }
            }
            Ok::<_, anyhow::Error>(())
        }
    });
    for result in futures::future::join_all(workers).await {
        result?;
    }
    eprintln!(
        "   {count} tenants in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn tokens(url: &DatabaseUrl, count: usize, path: &str) -> anyhow::Result<()> {
    let keys = TokenKeys::new(std::env::var("JWT_SECRET")?.as_bytes());
    let client = url.connect().await?;
    let now = unix_now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "local targets = {{")?;
    for i in 0..count {
        let slug = format!("m{i}");
        let tenant: uuid::Uuid = client
            .query_one("select id from public.tenants where slug = $1", &[&slug])
            .await?
            .get(0);
        let user: uuid::Uuid = client
            .query_one(&format!("select id from t_{slug}.users limit 1"), &[])
            .await?
            .get(0);
        let token = keys.mint(user, 0, tenant, &slug, "admin", now)?;
        writeln!(out, "  {{\"{slug}.localhost\", \"{token}\"}},")?;
    }
    writeln!(out, "}}")?;
    Ok(())
}
