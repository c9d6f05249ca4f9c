//! Builds the server: shared state, middleware, every area's routes (each registered
//! with its OpenAPI entry in one call, through `utoipa-actix-web`), the document itself
//! and Swagger UI. The top layer: it may import everything, nothing imports it.

pub mod openapi;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::config::Config;
use crate::kernel::clock::{self, SharedClock};
use crate::kernel::jobs::metrics::JobMetrics;
use crate::kernel::jobs::{Handlers, Runner, RunnerConfig, RunnerHandle, Walking};
use crate::kernel::rate_limit::LoginLimiter;
use crate::kernel::storage::{Store, ABANDONED_AFTER};
use crate::kernel::target::TargetKinds;
use crate::kernel::tokens::TokenKeys;
use crate::kernel::unit::{Reactions, Unit};
use crate::tenancy::connection::RequestPool;
use crate::tenancy::resolver::TenantResolver;
use crate::tenancy::MigrationSet;
use crate::web::routes::RouteTable;
use crate::web::{error, metrics, request_id, tenant, AppState, MAX_JSON_BODY_BYTES};

/// Mounts every area's routes. The one list of what the API serves: the OpenAPI
/// document is built from the same calls, so the two cannot drift.
pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    crate::web::platform::configure(cfg);
    crate::identity::configure(cfg);
    crate::contracts::configure(cfg);
    // Before the areas whose `{id}` routes would take `import` for an id.
    crate::imports::configure(cfg);
    crate::counterparties::configure(cfg);
    crate::pipeline::configure(cfg);
    crate::leads::configure(cfg);
    crate::invoices::configure(cfg);
    crate::activities::configure(cfg);
    crate::cases::configure(cfg);
    crate::dashboards::configure(cfg);
    crate::search::configure(cfg);
    crate::clauses::configure(cfg);
    crate::templates::configure(cfg);
    crate::comments::configure(cfg);
    crate::attachments::configure(cfg);
    crate::documents::configure(cfg);
    crate::audit::configure(cfg);
    crate::webhooks::configure(cfg);
    crate::teams::configure(cfg);
    crate::workflows::configure(cfg);
    crate::notifications::configure(cfg);
    crate::intelligence::configure(cfg);
}

/// What jobs send through: webhooks, notification email and chat, and the pub/sub that
/// carries new notifications to every instance's open streams.
#[derive(Clone)]
pub struct Outbound {
    pub webhooks: crate::webhooks::Deliverer,
    pub notifications: crate::notifications::outlets::Outlets,
    pub fanout: crate::notifications::stream::Fanout,
    /// Where attachments live, for the jobs that read them.
    pub store: crate::kernel::storage::Store,
    /// The embedding model and the loaded vectors, for the jobs that read contracts
    /// and the routes that search them.
    pub intelligence: crate::intelligence::Engine,
    /// The client of the tenants' own generative endpoints.
    pub generative: crate::intelligence::Generator,
    /// How long an inbox keeps a notification: the notifier forgets older ones as it
    /// makes new ones.
    pub inbox_kept: std::time::Duration,
}

impl Outbound {
    pub async fn new(config: &Config) -> anyhow::Result<Self> {
        let settings = &config.notifications;
        let mailer = crate::notifications::mail::Mailer::new(
            settings.smtp_url.as_deref(),
            &settings.outbox_dir,
            &settings.mail_from,
        )?;
        let fanout = match &config.redis_url {
            Some(url) => crate::notifications::stream::Fanout::Redis {
                url: url.clone(),
                publisher: crate::kernel::shared::connect(url).await?,
            },
            None => {
                crate::notifications::stream::Fanout::Postgres(config.direct_database_url.clone())
            }
        };
        Ok(Self {
            webhooks: crate::webhooks::Deliverer::new(
                config.webhook_allow_internal,
                config.webhook_disable_after,
                config.webhook_log_kept,
                (
                    config.webhook_max_per_destination,
                    config.webhook_fleet_max_per_destination,
                ),
            )?,
            notifications: crate::notifications::outlets::Outlets::new(
                mailer,
                config.webhook_allow_internal,
                settings.link_scheme,
                settings.link_port,
            )?,
            fanout,
            store: config.store.clone(),
            intelligence: crate::intelligence::Engine::new(
                config.model_dir.clone(),
                config.vector_memory_bytes,
                config.vector_exact_max,
            ),
            generative: crate::intelligence::Generator::new(config.webhook_allow_internal)?,
            inbox_kept: settings.inbox_kept,
        })
    }
}

/// Every job kind this build can run, with its handler. The one list of what workers
/// do, as [`mount`] is of what the API serves.
pub fn job_handlers(outbound: &Outbound) -> Handlers {
    use crate::notifications::{delivery, notifier, reminders};
    let mut handlers = Handlers::default();
    let webhooks = outbound.webhooks.clone();
    let fanout = outbound.fanout.clone();
    let (mail, digests) = (
        outbound.notifications.clone(),
        outbound.notifications.clone(),
    );
    handlers
        .register_job::<crate::webhooks::WebhookDelivery>(webhooks)
        .register_job::<crate::webhooks::ResendBatch>(())
        .register_job::<crate::workflows::model::StageDue>(())
        .register_job::<crate::workflows::model::StageReminder>(())
        .register_job::<crate::identity::grants::GrantLapse>(())
        .register_job::<notifier::FromEvent>(notifier::Notifier {
            fanout: Some(fanout),
            inbox_kept: outbound.inbox_kept,
        })
        .register_job::<delivery::Deliver>(mail)
        .register_job::<delivery::Digest>(digests)
        .register_job::<reminders::Remind>(())
        .register_job::<Walking<reminders::ContractReminders>>(())
        .register_job::<crate::invoices::due::InvoiceDue>(())
        .register_job::<Walking<crate::invoices::due::InvoiceTimers>>(())
        .register_job::<crate::invoices::mailing::MailInvoice>(outbound.notifications.clone())
        .register_job::<crate::activities::reminders::TaskTimer>(())
        .register_job::<crate::cases::sla::CaseSlaDue>(())
        .register_job::<crate::cases::sla::CaseSlaWarning>(())
        .register_job::<crate::attachments::reading::ExtractText>(outbound.store.clone())
        .register_job::<crate::attachments::ocr::RecognizePage>(outbound.store.clone())
        .register_job::<crate::attachments::ocr::FinishRecognition>(outbound.store.clone())
        .register_job::<crate::attachments::removal::RemoveFiles>(outbound.store.clone())
        .register_job::<crate::intelligence::indexing::EmbedContract>(outbound.intelligence.clone())
        .register_job::<crate::intelligence::indexing::EmbedStale>(outbound.intelligence.clone())
        .register_job::<crate::intelligence::indexing::EmbedClause>(outbound.intelligence.clone())
        .register_job::<crate::intelligence::suggestions::ExtractTerms>(())
        .register_job::<crate::intelligence::assessment::AssessRisk>(())
        .register_job::<crate::intelligence::tasks::TrackObligations>(())
        .register_job::<crate::intelligence::tasks::remind::RemindObligation>(())
        .register_job::<Walking<crate::intelligence::tasks::remind::ObligationReminders>>(())
        .register_job::<Walking<crate::intelligence::reading::Reread>>(())
        .register_job::<crate::intelligence::generative::requests::MakeSummary>(
            outbound.generative.clone(),
        )
        .register(crate::kernel::jobs::NOOP, |_| async { Ok(()) });
    handlers
}

/// What areas do, in the recording transaction, when another area's event is
/// recorded. The one list of cross-area reactions. With `reading` (an embedding model
/// is configured), every change of a contract's text is read by the model.
pub fn reactions(reading: bool) -> Reactions {
    let mut reactions = Reactions::default();
    if reading {
        crate::intelligence::react_to(&mut reactions);
    }
    crate::intelligence::reading::react_to(&mut reactions);
    crate::intelligence::tasks::remind::react_to(&mut reactions);
    crate::webhooks::react_to(&mut reactions);
    crate::contracts::import::react_to(&mut reactions);
    crate::workflows::react_to(&mut reactions);
    crate::notifications::react_to(&mut reactions);
    crate::cases::react_to(&mut reactions);
    crate::invoices::react_to(&mut reactions);
    crate::documents::redaction::language::react_to(&mut reactions);
    // What hangs off a record goes when it is deleted, whatever its kind.
    for kind in target_kinds().all() {
        reactions
            .on(kind.deleted_event, crate::comments::service::forget_target)
            .on(
                kind.deleted_event,
                crate::attachments::service::forget_target,
            )
            .on(kind.deleted_event, crate::activities::forget_target);
    }
    reactions
}

/// Every kind of record comments, files, tasks and activities may hang off.
pub fn target_kinds() -> TargetKinds {
    TargetKinds::new(vec![
        &crate::contracts::model::CONTRACT_TARGET,
        &crate::counterparties::model::COUNTERPARTY_TARGET,
        &crate::counterparties::model::CONTACT_TARGET,
        &crate::leads::model::LEAD_TARGET,
        &crate::pipeline::model::OPPORTUNITY_TARGET,
        &crate::invoices::model::INVOICE_TARGET,
        &crate::cases::model::CASE_TARGET,
    ])
}

/// The pool jobs' tenant handles use: its own, never the server's (a connection made
/// while serving a request is driven by that HTTP worker's runtime, which stops first at
/// shutdown, so a job holding one would be cut off mid-query and charged an attempt).
pub fn job_pool(config: &Config) -> anyhow::Result<RequestPool> {
    Ok(RequestPool::with_strategy(
        &config.database_url,
        config.jobs.workers.min(config.pool_size.max(2)),
        config.pooler,
        config.pool_strategy,
    )?)
}

/// The job runner a process starts, sized by its settings. `tenant_pool` is what
/// handlers' tenant handles use.
pub fn job_runner(
    config: &Config,
    tenant_pool: RequestPool,
    clock: SharedClock,
    handlers: Handlers,
    metrics: JobMetrics,
) -> anyhow::Result<Runner> {
    let settings = &config.jobs;
    // The runner's own statements (claim, finish, maintenance) are short; a few
    // connections serve many workers.
    let queue_pool = RequestPool::with_strategy(
        &config.database_url,
        (settings.workers / 4).clamp(2, 16),
        config.pooler,
        config.pool_strategy,
    )?;
    let runner_config = RunnerConfig {
        queues: settings.queues.clone(),
        poll_interval: settings.poll_interval,
        retention: settings.retention,
        shutdown_grace: settings.shutdown_grace,
        tenant_share: settings.tenant_share,
        tenant_fleet_cap: settings.tenant_fleet_cap,
        durable_bookkeeping: settings.durable_bookkeeping,
        together: settings.together,
        ..RunnerConfig::new(settings.workers)
    };
    Ok(Runner::new(
        queue_pool,
        tenant_pool,
        Some(config.direct_database_url.clone()),
        clock,
        handlers,
        runner_config,
        metrics,
    )
    .with_reactions(reactions(config.model_dir.is_some())))
}

/// Removes what a process that died mid-way left in the tenants' scratch folders (an
/// upload being received, a searchable PDF being written), which nothing else would:
/// at start and every hour after, in every server and worker, since each may have
/// died on this machine's folder. Only files untouched for a day go
/// ([`ABANDONED_AFTER`]), so another live process's work in progress is safe.
fn spawn_scratch_sweeper(store: Store) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            match store.sweep_abandoned(ABANDONED_AFTER).await {
                Ok(0) => {}
                Ok(files) => tracing::info!(
                    files,
                    "removed files a stopped process left in progress in the scratch folders"
                ),
                Err(error) => tracing::warn!(%error, "sweeping the scratch folders failed"),
            }
        }
    });
}

/// Resolves when the process is asked to stop (SIGTERM or SIGINT).
async fn stop_requested() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Says at start-up when the database folds case for ASCII letters only (its
/// `LC_CTYPE` is `C`): matching names and addresses case aside then misses every one
/// with a capital beyond ASCII. A warning, not a refusal: everything else works.
async fn warn_of_ascii_only_case_folding(url: &crate::tenancy::pool::DatabaseUrl) {
    let Ok(client) = url.connect().await else {
        return;
    };
    match crate::tenancy::pool::ascii_only_case_folding(&client).await {
        Ok(Some(lc_ctype)) => tracing::warn!(
            %lc_ctype,
            "the database folds case for ASCII letters only: names and addresses with \
             capitals beyond ASCII (Ö, É, Ñ) will not match case aside in imports, lead \
             conversion and search; create the database with a UTF-8 LC_CTYPE (C.UTF-8, \
             as scripts/pg.sh does)"
        ),
        Ok(None) => {}
        Err(error) => tracing::debug!(%error, "could not check the database's case folding"),
    }
}

/// `pactum worker`: runs jobs and nothing else until SIGTERM, then stops claiming,
/// lets running jobs finish within the grace period and releases the rest.
pub async fn run_worker(config: Config, clock: SharedClock) -> anyhow::Result<()> {
    if config.jobs.workers == 0 {
        anyhow::bail!(
            "PACTUM_JOB_WORKERS is 0: a worker process with no workers has nothing to do"
        );
    }
    warn_of_ascii_only_case_folding(&config.direct_database_url).await;
    let tenant_pool = job_pool(&config)?;
    let handlers = job_handlers(&Outbound::new(&config).await?);
    let kinds = handlers.kinds();
    let metrics = Arc::new(metrics::Metrics::new());
    let stop_metrics = tokio_util::sync::CancellationToken::new();
    if let Some(bind) = config.worker_metrics_bind {
        match tokio::net::TcpListener::bind(bind).await {
            Ok(listener) => {
                tracing::info!(%bind, "serving /metrics");
                tokio::spawn(metrics::serve_worker_metrics(
                    listener,
                    metrics.clone(),
                    tenant_pool.clone(),
                    stop_metrics.clone(),
                ));
            }
            Err(error) if config.worker_metrics_bind_chosen => {
                anyhow::bail!("PACTUM_METRICS_BIND: cannot listen on {bind}: {error}")
            }
            Err(error) => tracing::warn!(
                %bind, %error,
                "the default metrics address is taken (another worker on this host?); \
                 set PACTUM_METRICS_BIND to serve this worker's /metrics"
            ),
        }
    }
    crate::intelligence::reading::bring_up_to_date(&config.direct_database_url, clock.now()).await;
    spawn_scratch_sweeper(config.store.clone());
    let runner = job_runner(&config, tenant_pool, clock, handlers, metrics.jobs.clone())?;
    let handle = runner.start().await;
    tracing::info!(
        workers = config.jobs.workers,
        queues = ?config.jobs.queues,
        ?kinds,
        "pactum worker running"
    );
    stop_requested().await;
    tracing::info!("stopping: no new jobs; running ones get the grace period");
    handle.shutdown().await;
    stop_metrics.cancel();
    Ok(())
}

/// The OpenAPI document of everything [`mount`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(mount)
        .split_for_parts();
    openapi::add_body_refusals(&mut document);
    document
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    jobs: Option<RunnerHandle>,
    hub: Arc<crate::notifications::stream::Hub>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, clock::system()).await
    }

    /// As [`Application::build`], with the clock that token expiry (and every other
    /// deadline) is judged by; tests pass one they can move.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        warn_of_ascii_only_case_folding(&config.direct_database_url).await;
        let pool = RequestPool::with_strategy(
            &config.database_url,
            config.pool_size,
            config.pooler,
            config.pool_strategy,
        )?;
        let resolver = TenantResolver::new(
            config.direct_database_url.clone(),
            pool.clone(),
            config.tenant_cache_ttl,
        );
        resolver.spawn_listener().await;
        let listener = TcpListener::bind(config.bind)
            .map_err(|e| anyhow::anyhow!("PACTUM_BIND: cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let tokens = TokenKeys::new(config.jwt_secret.expose().as_bytes());
        let redis = match &config.redis_url {
            Some(url) => Some(crate::kernel::shared::connect(url).await?),
            None => None,
        };
        let login_limiter = LoginLimiter::new(config.login_attempts_per_minute, redis);
        let document = openapi_document();
        let outbound = Outbound::new(&config).await?;
        let deliverer = web::Data::new(outbound.webhooks.clone());
        let hub = crate::notifications::stream::Hub::new();
        hub.listen(outbound.fanout.clone()).await;
        let metrics = metrics::Metrics::new();
        let jobs = if config.jobs.workers > 0 {
            crate::intelligence::reading::bring_up_to_date(
                &config.direct_database_url,
                clock.now(),
            )
            .await;
            let runner = job_runner(
                &config,
                job_pool(&config)?,
                clock.clone(),
                job_handlers(&outbound),
                metrics.jobs.clone(),
            )?;
            Some(runner.start().await)
        } else {
            None
        };
        for collector in outbound.intelligence.collectors() {
            metrics.register(collector)?;
        }
        spawn_scratch_sweeper(config.store.clone());
        let reading = config.model_dir.is_some();
        let state = web::Data::new(AppState {
            metrics,
            login_limiter,
            tokens,
            config,
            pool,
            resolver,
            expected_tenant_version: MigrationSet::tenant().latest_version(),
            unit: Unit::new(clock.clone(), reactions(reading)),
            clock,
            targets: target_kinds(),
            routes: Arc::new(RouteTable::from_document(&document)),
        });
        let sweeper = state.clone();
        let streams = web::Data::new(hub.clone());
        let intelligence = web::Data::new(outbound.intelligence.clone());
        let generative = web::Data::new(outbound.generative.clone());
        tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                sweeper.login_limiter.forget_idle();
            }
        });
        let server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .map(|app| {
                    app.app_data(state.clone())
                        .app_data(deliverer.clone())
                        .app_data(streams.clone())
                        .app_data(intelligence.clone())
                        .app_data(generative.clone())
                        .app_data(error::json_config(MAX_JSON_BODY_BYTES))
                        .app_data(crate::web::routes::path_config())
                        .app_data(error::query_config())
                        // Inside tenant resolution: it needs the tenant.
                        .wrap(from_fn(crate::web::idempotency::idempotency))
                        .wrap(from_fn(tenant::resolve_tenant))
                        // Before routing: a HEAD is routed as a GET.
                        .wrap(from_fn(crate::web::head::head_as_get))
                        // Outermost, so tenant resolution and its errors run inside the
                        // span.
                        .wrap(from_fn(request_id::with_request_id))
                })
                .configure(mount)
                .map(|app| {
                    // Last: an empty-prefix scope would otherwise catch the routes
                    // after it.
                    app.service(
                        web::scope("")
                            .guard(actix_web::guard::fn_guard(tenant::is_platform_request))
                            .service(
                                utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                                    .url("/api/openapi.json", document.clone()),
                            ),
                    )
                })
                .default_service(web::to(crate::web::routes::unrouted))
                .into_app()
        })
        .listen(listener)?
        // Signals are handled in `run_until_stopped`, which stops the job runner too.
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            jobs,
            hub,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The open notification streams of this process.
    pub fn notification_streams(&self) -> Arc<crate::notifications::stream::Hub> {
        self.hub.clone()
    }

    /// The job runner of this process, when it runs one (tests drive its maintenance).
    pub fn job_runner(&self) -> Option<&Runner> {
        self.jobs.as_ref().map(RunnerHandle::runner)
    }

    /// Serves until SIGTERM/SIGINT, then, at the same time, finishes in-flight requests
    /// (actix's graceful shutdown) and stops the job runner (no new claims; running
    /// jobs get the grace period; the rest are released), and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server, jobs, hub, ..
        } = self;
        let handle = server.handle();
        let mut served = tokio::spawn(server);
        tokio::select! {
            _ = stop_requested() => {}
            ended = &mut served => {
                if let Some(jobs) = jobs {
                    jobs.shutdown().await;
                }
                return ended.unwrap_or_else(|error| Err(std::io::Error::other(error)));
            }
        }
        tracing::info!("stopping: finishing requests and running jobs");
        // Open notification streams would hold graceful shutdown to its timeout.
        hub.stop();
        let stop_jobs = async {
            if let Some(jobs) = jobs {
                jobs.shutdown().await;
            }
        };
        tokio::join!(handle.stop(true), stop_jobs);
        match served.await {
            Ok(result) => result,
            Err(error) => Err(std::io::Error::other(error)),
        }
    }
}
