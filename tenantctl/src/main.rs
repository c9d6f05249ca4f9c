//! `tenantctl`: the operator CLI. Parsing and rendering live here; all the work is done
//! by `pactum_tenancy`.

mod cli;
mod commands;
mod input;
mod isolation;
mod jobs;
mod output;
mod storage;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return output::Exit::Failed.into();
        }
    };
    let result = runtime.block_on(async {
        let result = commands::run(cli).await;
        // Every client is dropped by now; let their connections say goodbye, so that
        // PostgreSQL does not log each run as a lost client.
        pactum_tenancy::pool::connections_closed(std::time::Duration::from_secs(2)).await;
        result
    });
    output::emit(result, json)
}
