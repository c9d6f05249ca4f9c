//! One function per command: validate the input, call the tenancy core, describe the
//! outcome for people and for `--json`.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Read};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget};
use pactum_kernel::password::NewPassword;
use pactum_tenancy::first_admin::FirstAdmin;
use pactum_tenancy::fleet::{self, FleetOptions, OutcomeStatus, Progress, SchemaOutcome, Scope};
use pactum_tenancy::pool::DatabaseUrl;
use pactum_tenancy::provision::{self, validate_display_name, NewTenant, ProvisionPath};
use pactum_tenancy::{registry, spares, Email, MigrationSet, TenantStatus};
use serde_json::json;

use crate::cli::{Cli, Command, CreateArgs, DomainCommand, MigrateArgs, StorageCommand};
use crate::input::{connect, database_url, direct_url, parse_host, parse_slug};
use crate::output::{CliError, Exit, ProgressStyle, Report};

pub async fn run(cli: Cli) -> Result<Report, CliError> {
    let pooled = database_url(cli.database_url.as_deref())?;
    let url = direct_url(&pooled, &cli.db_pooler, cli.direct_database_url.as_deref())?;
    let progress = ProgressStyle::detect(cli.json);
    // Provisioning and each schema's migration are single transactions, so they may go
    // through a transaction pooler; everything else runs loose statements or holds a
    // session lock, and uses the direct URL.
    match cli.command {
        Command::Migrate(args) => migrate(&pooled, &url, args, progress).await,
        Command::Create(args) => create(&pooled, args).await,
        Command::List => list(&url).await,
        Command::Show { slug } => show(&url, &slug).await,
        Command::Status { check } => status(&url, check).await,
        Command::Domain(DomainCommand::Add {
            slug,
            host,
            primary,
        }) => domain_add(&url, &slug, &host, primary).await,
        Command::Domain(DomainCommand::Remove { host }) => domain_remove(&url, &host).await,
        Command::Suspend { slug } => {
            change_status(
                &url,
                &slug,
                &[TenantStatus::Active],
                TenantStatus::Suspended,
            )
            .await
        }
        Command::Resume { slug } => {
            change_status(
                &url,
                &slug,
                &[TenantStatus::Suspended],
                TenantStatus::Active,
            )
            .await
        }
        Command::Delete { slug, yes } => delete(&url, &slug, yes).await,
        Command::Createadmin { slug, email, name } => {
            createadmin(&url, &slug, &email, name.as_deref()).await
        }
        Command::Spares { fill } => spares_command(&url, fill, progress).await,
        Command::Jobs(command) => crate::jobs::run(&url, command).await,
        Command::Isolation { check } => crate::isolation::run(&url, check).await,
        Command::Storage(StorageCommand::Check { tenant }) => {
            crate::storage::check(&url, tenant.as_deref()).await
        }
    }
}

// ---------------------------------------------------------------------------- migrate

async fn migrate(
    url: &DatabaseUrl,
    direct: &DatabaseUrl,
    args: MigrateArgs,
    style: ProgressStyle,
) -> Result<Report, CliError> {
    let scope = match (&args.tenant, args.shared) {
        (Some(slug), _) => Scope::Tenant(parse_slug(slug)?),
        (None, true) => Scope::Shared,
        (None, false) => Scope::All,
    };
    let options = FleetOptions {
        parallel: usize::from(args.parallel),
        fail_fast: args.fail_fast,
        dry_run: args.dry_run,
        wait_for_lock: !args.no_wait,
        lock_timeout: Duration::from_millis(args.lock_timeout_ms),
        scope,
    };
    let reporter = MigrationProgress::new(style, args.dry_run);
    let report = fleet::migrate_fleet_via(
        url,
        direct,
        &MigrationSet::public(),
        &MigrationSet::tenant(),
        &options,
        |event| reporter.on(event),
    )
    .await;
    reporter.finish();
    let report = report?;

    let mut text = String::new();
    let verb = if report.dry_run {
        "would apply"
    } else {
        "applied"
    };
    if report.public_applied.is_empty() {
        let _ = writeln!(text, "public: up to date");
    } else {
        let _ = writeln!(
            text,
            "public: {verb} {}",
            join_names(&report.public_applied)
        );
    }
    for failed in report
        .schemas
        .iter()
        .filter(|o| matches!(o.status, OutcomeStatus::Failed | OutcomeStatus::Skipped))
    {
        let _ = writeln!(
            text,
            "{} {}: {}",
            if failed.status == OutcomeStatus::Failed {
                "FAILED"
            } else {
                "skipped"
            },
            failed.label(),
            failed.error.as_deref().unwrap_or("")
        );
    }
    if report.dry_run {
        for pending in report
            .schemas
            .iter()
            .filter(|o| o.status == OutcomeStatus::Pending)
        {
            let _ = writeln!(
                text,
                "{}: {verb} {}",
                pending.label(),
                join_names(&pending.applied)
            );
        }
    }
    for costly in &report.catalog_wide {
        // Not a failure: a cost the operator should see before the fleet grows.
        let _ = writeln!(
            text,
            "note: {} adds columns PostgreSQL checks the whole catalog for, once in each \
             of the {} schemas it {}: {}",
            costly.migration,
            costly.schemas,
            if report.dry_run {
                "would run in"
            } else {
                "ran in"
            },
            costly.columns.join("; ")
        );
    }
    let s = report.summary;
    let _ = write!(
        text,
        "tenant schemas: {} migrated, {} up to date, {} pending, {} failed, {} skipped; \
         target version V{} ({:.0} ms)",
        s.migrated,
        s.up_to_date,
        s.pending,
        s.failed,
        s.skipped,
        report.target_version,
        report.duration_ms
    );
    let exit = if report.has_failures() {
        Exit::Failed
    } else {
        Exit::Success
    };
    Ok(Report::new(&report, text).with_exit(exit))
}

fn join_names(names: &[pactum_tenancy::MigrationName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders migration progress as django-tenants does: `[12/1000 1%] acme: applied V3`.
struct MigrationProgress {
    style: ProgressStyle,
    dry_run: bool,
    bar: Mutex<Option<ProgressBar>>,
    done: Mutex<(u64, u64)>,
}

impl MigrationProgress {
    fn new(style: ProgressStyle, dry_run: bool) -> Self {
        Self {
            style,
            dry_run,
            bar: Mutex::new(None),
            done: Mutex::new((0, 0)),
        }
    }

    fn on(&self, event: Progress<'_>) {
        if self.style == ProgressStyle::Silent {
            return;
        }
        match event {
            Progress::WaitingForLock { holder } => {
                eprintln!("waiting for the migration lock, {holder}");
            }
            Progress::PublicDone { .. } => {}
            Progress::Planned { schemas } => {
                *self.done.lock().expect("progress lock") = (0, schemas as u64);
                if self.style == ProgressStyle::Bar && schemas > 0 {
                    let bar = ProgressBar::with_draw_target(
                        Some(schemas as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} schemas ({eta} left) {msg}",
                    ) {
                        bar.set_style(style);
                    }
                    *self.bar.lock().expect("progress lock") = Some(bar);
                }
            }
            Progress::SchemaDone(outcome) => self.schema_done(outcome),
        }
    }

    fn schema_done(&self, outcome: &SchemaOutcome) {
        let (done, total) = {
            let mut counts = self.done.lock().expect("progress lock");
            counts.0 += 1;
            *counts
        };
        let what = match outcome.status {
            OutcomeStatus::Migrated | OutcomeStatus::Pending => format!(
                "{} {}",
                if self.dry_run {
                    "would apply"
                } else {
                    "applied"
                },
                join_names(&outcome.applied)
            ),
            OutcomeStatus::UpToDate => "up to date".into(),
            OutcomeStatus::Failed => format!("FAILED: {}", outcome.error.as_deref().unwrap_or("")),
            OutcomeStatus::Skipped => "skipped".into(),
        };
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let line = format!(
            "[{done}/{total} {percent}%] {}: {what} ({:.0} ms)",
            outcome.label(),
            outcome.duration_ms
        );
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(bar) => {
                if outcome.status == OutcomeStatus::Failed {
                    bar.println(line);
                }
                bar.set_message(outcome.label());
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

// ----------------------------------------------------------------------------- create

async fn create(url: &DatabaseUrl, args: CreateArgs) -> Result<Report, CliError> {
    let slug = parse_slug(&args.slug)?;
    let host = parse_host(&args.domain)?;
    let mut new = NewTenant::new(slug, args.name.as_deref(), host)?;
    if let Some(email) = &args.admin_email {
        new.admin = Some(new_admin(email, args.admin_name.as_deref()).await?);
    }
    let mut client = connect(url).await?;
    let set = MigrationSet::tenant();
    let provisioned = if args.cold {
        provision::create_tenant_cold(&mut client, &set, &new).await?
    } else {
        provision::create_tenant(&mut client, &set, &new).await?
    };
    let path = match provisioned.path {
        ProvisionPath::Spare => "from a spare schema",
        ProvisionPath::Cold => "cold",
    };
    let mut text = format!(
        "created tenant {} (schema {}, version V{}) on {} {path} in {:.1} ms",
        provisioned.tenant.slug,
        provisioned.tenant.schema,
        provisioned.tenant.schema_version,
        provisioned.host,
        provisioned.elapsed_ms
    );
    if let Some(admin) = &provisioned.admin {
        let _ = write!(text, "\nadmin: {}", admin.email);
    }
    Ok(Report::new(&provisioned, text))
}

/// Validates the admin's email and name, reads the password and hashes it, all before
/// any connection is opened: a refusal here changes nothing.
async fn new_admin(email: &str, name: Option<&str>) -> Result<FirstAdmin, CliError> {
    let email = Email::parse(email).map_err(pactum_tenancy::TenancyError::from)?;
    let display_name = validate_display_name("admin name", name.unwrap_or(email.local_part()))?;
    let password = read_password()?;
    let password_hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| CliError::refused("internal_error", e.to_string()))?
        .map_err(|e| CliError::refused("internal_error", e.to_string()))?;
    Ok(FirstAdmin {
        email,
        display_name,
        password_hash,
    })
}

/// The password comes from standard input: a hidden prompt (asked twice) on a
/// terminal, else the first line. Never from argv, where `ps` and shell history see it.
fn read_password() -> Result<NewPassword, CliError> {
    let refuse = |message: String| CliError::refused("invalid_password", message);
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Admin password: ")
            .map_err(|e| refuse(format!("cannot read the password: {e}")))?;
        let again = rpassword::prompt_password("Admin password (again): ")
            .map_err(|e| refuse(format!("cannot read the password: {e}")))?;
        if first != again {
            return Err(refuse("the passwords do not match".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_line(&mut line)
            .map_err(|e| refuse(format!("cannot read the password from stdin: {e}")))?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Err(refuse(
                "no password given: write it to standard input, e.g. `printf '%s\\n' \"$PW\" | tenantctl ...`"
                    .into(),
            ));
        }
        line.to_owned()
    };
    NewPassword::parse(&password).map_err(|e| refuse(e.to_string()))
}

// ------------------------------------------------------------------------ inspection

async fn list(url: &DatabaseUrl) -> Result<Report, CliError> {
    let client = connect(url).await?;
    let tenants = registry::list(&client).await?;
    let mut text = format!(
        "{:<24} {:<12} {:>7}  {:<32} {}\n",
        "SLUG", "STATUS", "VERSION", "PRIMARY HOST", "NAME"
    );
    for t in &tenants {
        let _ = writeln!(
            text,
            "{:<24} {:<12} {:>7}  {:<32} {}",
            t.tenant.slug,
            t.tenant.status,
            format!("V{}", t.tenant.schema_version),
            t.primary_host.as_deref().unwrap_or("-"),
            t.tenant.name
        );
    }
    let _ = write!(text, "{} tenant(s)", tenants.len());
    Ok(Report::new(&json!({ "tenants": tenants }), text))
}

async fn show(url: &DatabaseUrl, slug: &str) -> Result<Report, CliError> {
    let slug = parse_slug(slug)?;
    let client = connect(url).await?;
    let tenant = registry::get_by_slug(&client, &slug).await?;
    let domains = registry::domains_of(&client, tenant.id).await?;
    let set = MigrationSet::tenant();
    let pending = set.after(tenant.schema_version);
    let mut text = String::new();
    let _ = writeln!(text, "slug:           {}", tenant.slug);
    let _ = writeln!(text, "name:           {}", tenant.name);
    let _ = writeln!(text, "id:             {}", tenant.id);
    let _ = writeln!(text, "status:         {}", tenant.status);
    let _ = writeln!(text, "schema:         {}", tenant.schema);
    let _ = writeln!(
        text,
        "schema version: V{} (this build expects V{})",
        tenant.schema_version,
        set.latest_version()
    );
    let _ = writeln!(text, "created:        {}", tenant.created_at.to_rfc3339());
    let _ = writeln!(text, "domains:");
    for d in &domains {
        let _ = writeln!(
            text,
            "  {}{}",
            d.host,
            if d.is_primary { " (primary)" } else { "" }
        );
    }
    if !pending.is_empty() {
        let _ = writeln!(text, "pending:        {}", join_names(&pending));
    }
    Ok(Report::new(
        &json!({ "tenant": tenant, "domains": domains, "expected_version": set.latest_version(), "pending": pending }),
        text,
    ))
}

async fn status(url: &DatabaseUrl, check: bool) -> Result<Report, CliError> {
    let client = connect(url).await?;
    let tenant_set = MigrationSet::tenant();
    let status = fleet::fleet_status(&client, &MigrationSet::public(), &tenant_set).await?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "public:  V{} (this build expects V{})",
        status.public_version, status.public_expected
    );
    let _ = writeln!(
        text,
        "tenants: {} in all, {} behind V{}",
        status.tenants.len(),
        status.tenants_behind,
        status.tenant_expected
    );
    for behind in status.tenants.iter().filter(|t| t.behind) {
        let _ = writeln!(text, "  {} at V{}", behind.tenant, behind.schema_version);
    }
    let _ = writeln!(
        text,
        "spares:  {} ready, {} behind",
        status.spares.ready, status.spares.behind
    );
    // A new schema (a spare, `create --cold`) is built from the squashed baseline when
    // it matches this build's migrations; say so, since it decides what a cold build costs.
    let _ = match tenant_set.baseline_version() {
        Some(version) => write!(
            text,
            "new schemas: the squashed baseline (V1 to V{version}), then {} migration(s) replayed",
            tenant_set.after(version).len()
        ),
        None => write!(
            text,
            "new schemas: every migration replayed (no squashed baseline matches this build)"
        ),
    };
    let exit = if check && status.is_behind() {
        let _ = write!(text, "\nbehind: run `tenantctl migrate`");
        Exit::Failed
    } else {
        Exit::Success
    };
    let up_to_date = !status.is_behind();
    let mut json = serde_json::to_value(&status).expect("status serializes");
    json["up_to_date"] = up_to_date.into();
    json["new_schema_baseline"] = tenant_set.baseline_version().into();
    Ok(Report { json, text, exit })
}

// ------------------------------------------------------------------------- changes

async fn domain_add(
    url: &DatabaseUrl,
    slug: &str,
    host: &str,
    primary: bool,
) -> Result<Report, CliError> {
    let slug = parse_slug(slug)?;
    let host = parse_host(host)?;
    let mut client = connect(url).await?;
    let domain = registry::add_domain(&mut client, &slug, &host, primary).await?;
    let text = format!(
        "added {} to {slug}{}",
        domain.host,
        if domain.is_primary { " as primary" } else { "" }
    );
    Ok(Report::new(
        &json!({ "tenant": slug, "domain": domain }),
        text,
    ))
}

async fn domain_remove(url: &DatabaseUrl, host: &str) -> Result<Report, CliError> {
    let host = parse_host(host)?;
    let mut client = connect(url).await?;
    let removed = registry::remove_domain(&mut client, &host).await?;
    let mut text = format!("removed {} from {}", removed.host, removed.tenant);
    if let Some(primary) = &removed.new_primary {
        let _ = write!(text, "; {primary} is now its primary host");
    }
    Ok(Report::new(&removed, text))
}

async fn change_status(
    url: &DatabaseUrl,
    slug: &str,
    from: &[TenantStatus],
    to: TenantStatus,
) -> Result<Report, CliError> {
    let slug = parse_slug(slug)?;
    let client = connect(url).await?;
    let tenant = registry::change_status(&client, &slug, from, to).await?;
    let text = format!("tenant {} is {}", tenant.slug, tenant.status);
    Ok(Report::new(&json!({ "tenant": tenant }), text))
}

async fn delete(url: &DatabaseUrl, slug: &str, yes: bool) -> Result<Report, CliError> {
    let slug = parse_slug(slug)?;
    if !yes {
        return Err(CliError::refused(
            "confirmation_required",
            format!("deleting {slug} drops its schema and all its data; add --yes to confirm"),
        ));
    }
    // Where the tenant's files are, settled before anything is deleted: the server's
    // PACTUM_UPLOAD_DIR, or its bucket.
    let store = pactum_kernel::storage::Store::from_lookup(|name| std::env::var(name).ok())
        .map_err(|(variable, reason)| {
            CliError::refused("invalid_configuration", format!("{variable}: {reason}"))
        })?;
    let mut client = connect(url).await?;
    // Files first, while the registry still names the tenant: a bucket that is down, or
    // a crash, then leaves it `deleting` (no longer served) with its schema, and the same
    // command resumes, instead of a deleted tenant whose files nothing names.
    let deleting = provision::begin_delete(&client, &slug).await?;
    let folder = store.scratch(deleting.id);
    let files_removed = store.remove_tenant(deleting.id).await.map_err(|e| {
        CliError::failed(
            "attachments_not_removed",
            format!(
                "tenant {slug} is being deleted (no longer served, its jobs cancelled), but its \
                 files could not be removed: {e}; its schema is kept until they are: run the \
                 same command again"
            ),
        )
    })?;
    let tenant = deleting.id;
    let deleted = provision::finish_delete(&mut client, deleting).await?;
    // What a request or job still running when the tenant stopped being served wrote
    // since: removed again, once nothing can write more.
    let files_removed = match store.remove_tenant(tenant).await {
        Ok(more) => files_removed || more,
        Err(e) => {
            eprintln!(
                "warning: files written while {slug} was being deleted were not removed: {e}"
            );
            files_removed
        }
    };
    let text = format!(
        "deleted tenant {} and schema {}{}",
        deleted.slug,
        deleted.schema,
        match (files_removed, store.is_bucket()) {
            (false, _) => String::new(),
            (true, false) => format!(", and its files in {}", folder.display()),
            (true, true) => ", and its files in the bucket".to_owned(),
        }
    );
    let mut report = serde_json::to_value(&deleted).unwrap_or_default();
    report["files_removed"] = json!(files_removed);
    report["upload_folder"] = json!(folder);
    Ok(Report::new(&report, text))
}

async fn createadmin(
    url: &DatabaseUrl,
    slug: &str,
    email: &str,
    name: Option<&str>,
) -> Result<Report, CliError> {
    let slug = parse_slug(slug)?;
    // Fail on an unknown tenant before asking for a password.
    let mut client = connect(url).await?;
    registry::get_by_slug(&client, &slug).await?;
    let admin = new_admin(email, name).await?;
    let user = provision::create_admin(&mut client, &slug, &admin).await?;
    let text = format!("created admin {} in {slug}", user.email);
    Ok(Report::new(&json!({ "tenant": slug, "user": user }), text))
}

async fn spares_command(
    url: &DatabaseUrl,
    fill: Option<u32>,
    style: ProgressStyle,
) -> Result<Report, CliError> {
    let mut client = connect(url).await?;
    let set = MigrationSet::tenant();
    let mut built = 0;
    if let Some(target) = fill {
        let before = spares::pool_status(&client, &set).await?;
        let missing = (i64::from(target) - before.total).max(0) as u64;
        let bar = (style == ProgressStyle::Bar && missing > 0)
            .then(|| ProgressBar::with_draw_target(Some(missing), ProgressDrawTarget::stderr()));
        built = spares::fill(&mut client, &set, i64::from(target), || {
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        })
        .await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
    let pool = spares::pool_status(&client, &set).await?;
    let text = format!(
        "spares: {} ready at V{}, {} behind{}",
        pool.ready,
        set.latest_version(),
        pool.behind,
        if fill.is_some() {
            format!(" ({built} built now)")
        } else {
            String::new()
        }
    );
    Ok(Report::new(
        &json!({ "pool": pool, "built": built, "version": set.latest_version() }),
        text,
    ))
}
