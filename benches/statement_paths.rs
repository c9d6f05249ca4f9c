//! Helper of `scripts/bench-tenants.sh`: the two ways a statement can avoid outliving its
//! transaction behind a transaction pooler, measured against each other on one
//! connection: tokio-postgres' unnamed `query_typed` (Parse, Bind, Execute and Sync sent
//! together) and a named statement prepared and closed inside the transaction (a Parse
//! and Describe round trip first). Each unit of work is what a request runs: `BEGIN;
//! SET LOCAL search_path`, the contracts page query, `COMMIT`.
//!
//!   DATABASE_URL=... statement_paths SCHEMA ITERATIONS ROUNDS

use std::time::Instant;

use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

const PAGE_SQL: &str = "select id, title, status, created_at from contracts \
     where status = $1 order by created_at desc, id desc limit 50";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; the scripts run the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let schema = args.get(1).cloned().unwrap_or_else(|| "t_bench0".into());
    let iterations: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(2000);
    let rounds: usize = args.get(3).map(|n| n.parse()).transpose()?.unwrap_or(5);
    let (client, connection) = std::env::var("DATABASE_URL")?
        .parse::<tokio_postgres::Config>()?
        .connect(NoTls)
        .await?;
    tokio::spawn(connection);
    let opening = format!("BEGIN; SET LOCAL search_path TO \"{schema}\", public");
    let status = "draft";
    let mut unnamed = Vec::new();
    let mut prepared = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..iterations {
            client.batch_execute(&opening).await?;
            client
                .query_typed(PAGE_SQL, &[(&status, Type::TEXT)])
                .await?;
            client.batch_execute("COMMIT").await?;
        }
        unnamed.push(started.elapsed().as_secs_f64() * 1e6 / iterations as f64);
        let started = Instant::now();
        for _ in 0..iterations {
            client.batch_execute(&opening).await?;
            let statement = client.prepare(PAGE_SQL).await?;
            client.query(&statement, &[&status]).await?;
            drop(statement);
            client.batch_execute("COMMIT").await?;
        }
        prepared.push(started.elapsed().as_secs_f64() * 1e6 / iterations as f64);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (unnamed, prepared) = (median(&mut unnamed), median(&mut prepared));
    println!(
        "   unnamed query_typed {unnamed:.0} µs, prepare and close in the transaction {prepared:.0} µs per unit of work: the prepared path takes {:.2}x",
        prepared / unnamed
    );
    Ok(())
}
