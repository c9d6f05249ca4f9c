//! The Pactum server: `pactum serve` (the default), `pactum worker`, `pactum openapi`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pactum::app::Application;
use pactum::config::Config;

// glibc's malloc keeps freed argon2 buffers (19 MiB each) in per-thread arenas for
// good; mimalloc returns them, which keeps the resident size of a busy server small.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Multi-tenant contract lifecycle management, one PostgreSQL schema per tenant.
///
/// Settings come from the environment (DATABASE_URL, JWT_SECRET, PACTUM_*); see
/// docs/configuration.md. Exit codes: 0 stopped cleanly, 1 a runtime failure,
/// 2 a usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "pactum", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API with the in-process job runner (the default).
    Serve,
    /// Run jobs only: no HTTP API, its own /metrics on PACTUM_METRICS_BIND.
    Worker,
    /// Print the OpenAPI document as JSON; needs no database and no setting.
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => print_openapi(),
        // A worker is all jobs: a multi-threaded runtime, so jobs use every core.
        Command::Worker => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(worker()),
            Err(error) => {
                eprintln!("pactum: cannot start the runtime: {error}");
                ExitCode::from(1)
            }
        },
        Command::Serve => actix_web::rt::System::new().block_on(serve()),
    }
}

fn print_openapi() -> ExitCode {
    match pactum::app::openapi_document().to_pretty_json() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pactum: cannot render the OpenAPI document: {error}");
            ExitCode::from(1)
        }
    }
}

/// Reads the settings and starts logging; a configuration error is exit code 2.
fn configure() -> Result<Config, ExitCode> {
    let config = Config::from_env().map_err(|error| {
        eprintln!("pactum: configuration error: {error}");
        ExitCode::from(2)
    })?;
    pactum::telemetry::init(config.log_format);
    if config.jwt_secret_generated {
        tracing::warn!(
            "PACTUM_DEV is set and JWT_SECRET is not: using a random secret; \
             tokens will not survive a restart. Never run like this in production."
        );
    }
    Ok(config)
}

async fn worker() -> ExitCode {
    let config = match configure() {
        Ok(config) => config,
        Err(code) => return code,
    };
    if config.jobs.workers == 0 {
        eprintln!(
            "pactum worker: configuration error: PACTUM_JOB_WORKERS: is 0; a worker \
             process with no workers has nothing to do"
        );
        return ExitCode::from(2);
    }
    match pactum::app::run_worker(config, pactum::kernel::clock::system()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pactum worker: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve() -> ExitCode {
    let config = match configure() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let bind = config.bind;
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("pactum: cannot start: {error:#}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(%bind, port = app.port(), "pactum listening");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pactum: server error: {error}");
            ExitCode::from(1)
        }
    }
}
