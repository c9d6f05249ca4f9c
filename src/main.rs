//! The Pactum server: configuration, telemetry, then serve.

use std::process::ExitCode;

use pactum::app::Application;
use pactum::config::Config;

// glibc's malloc keeps freed argon2 buffers (19 MiB each) in per-thread arenas for
// good; mimalloc returns them, which keeps the resident size of a busy server small.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        // A worker is all jobs: a multi-threaded runtime, so jobs use every core.
        return match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(serve()),
            Err(error) => {
                eprintln!("pactum: cannot start the runtime: {error}");
                ExitCode::from(1)
            }
        };
    }
    actix_web::rt::System::new().block_on(serve())
}

async fn serve() -> ExitCode {
    // `pactum openapi` prints the OpenAPI document, for client generators and CI,
    // without needing a database or any setting. `pactum worker` runs jobs only.
    let mut worker = false;
    if let Some(extra) = std::env::args().nth(2) {
        eprintln!("pactum: unexpected argument {extra:?}; usage: pactum [openapi | worker]");
        return ExitCode::from(2);
    }
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("worker") => worker = true,
        Some("openapi") => {
            let document = pactum::app::openapi_document();
            return match document.to_pretty_json() {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("pactum: cannot render the OpenAPI document: {error}");
                    ExitCode::from(1)
                }
            };
        }
        Some(other) => {
            eprintln!("pactum: unknown argument {other:?}; usage: pactum [openapi | worker]");
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("pactum: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    pactum::telemetry::init(config.log_format);
    if config.jwt_secret_generated {
        tracing::warn!(
            "PACTUM_DEV is set and JWT_SECRET is not: using a random secret; \
             tokens will not survive a restart. Never run like this in production."
        );
    }
    if worker {
        if config.jobs.workers == 0 {
            eprintln!(
                "pactum worker: configuration error: PACTUM_JOB_WORKERS: is 0; a worker \
                 process with no workers has nothing to do"
            );
            return ExitCode::from(2);
        }
        return match pactum::app::run_worker(config, pactum::kernel::clock::system()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("pactum worker: {error:#}");
                ExitCode::from(1)
            }
        };
    }
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
