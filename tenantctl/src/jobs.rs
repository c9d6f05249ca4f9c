//! `tenantctl jobs ...`: what an operator does to the job queue. The work is in
//! `pactum_kernel::jobs::admin`; here are parsing, rendering and exit codes.

use std::fmt::Write as _;

use chrono::Utc;
use pactum_kernel::jobs::admin::{self, AdminError, Filter, PauseScope};
use pactum_tenancy::pool::DatabaseUrl;
use serde_json::json;

use crate::cli::{JobsCommand, PauseTarget};
use crate::input::{connect, parse_slug};
use crate::output::{CliError, Report};

impl From<AdminError> for CliError {
    fn from(error: AdminError) -> Self {
        let message = error.to_string();
        match error {
            AdminError::UnknownState(_) | AdminError::InvalidQueue(_) => {
                CliError::refused("invalid_input", message)
            }
            AdminError::UnknownTenant(_) => CliError::refused("tenant_not_found", message),
            AdminError::NoSuchJob(_) => CliError::refused("job_not_found", message),
            AdminError::WrongState { .. } => CliError::refused("wrong_state", message),
            AdminError::DuplicatePending => CliError::refused("duplicate_pending", message),
            AdminError::Database(error) => pactum_tenancy::TenancyError::from(error).into(),
        }
    }
}

fn scope(target: PauseTarget) -> Result<PauseScope, CliError> {
    Ok(match (target.all, target.queue, target.tenant) {
        (true, None, None) => PauseScope::All,
        (false, Some(queue), None) => PauseScope::Queue(queue),
        (false, None, Some(slug)) => PauseScope::Tenant(parse_slug(&slug)?.to_string()),
        _ => {
            return Err(CliError::refused(
                "invalid_input",
                "name exactly one of --all, --queue or --tenant",
            ))
        }
    })
}

fn describe(scope: &PauseScope) -> String {
    match scope {
        PauseScope::All => "all jobs".into(),
        PauseScope::Queue(queue) => format!("queue {queue}"),
        PauseScope::Tenant(slug) => format!("tenant {slug}"),
    }
}

pub async fn run(url: &DatabaseUrl, command: JobsCommand) -> Result<Report, CliError> {
    let client = connect(url).await?;
    let now = Utc::now();
    match command {
        JobsCommand::List { filter, limit } => {
            if let Some(slug) = &filter.tenant {
                parse_slug(slug)?;
            }
            let filter = Filter {
                tenant: filter.tenant,
                kind: filter.kind,
                state: filter.state,
                queue: filter.queue,
            };
            let jobs = admin::list(&client, &filter, limit).await?;
            let mut text = format!(
                "{:>10}  {:<20} {:<24} {:<10} {:<10} {:>7}  {}\n",
                "ID", "TENANT", "KIND", "QUEUE", "STATE", "TRIES", "RUN AT"
            );
            for job in &jobs {
                let _ = writeln!(
                    text,
                    "{:>10}  {:<20} {:<24} {:<10} {:<10} {:>7}  {}",
                    job.id,
                    job.tenant,
                    job.kind,
                    job.queue,
                    job.state,
                    format!("{}/{}", job.attempt, job.max_attempts),
                    job.run_at.to_rfc3339()
                );
            }
            let _ = write!(text, "{} job(s)", jobs.len());
            Ok(Report::new(&json!({ "jobs": jobs }), text))
        }
        JobsCommand::Show { id } => {
            let job = admin::show(&client, id).await?;
            let mut text = String::new();
            let s = &job.summary;
            let _ = writeln!(text, "id:           {}", s.id);
            let _ = writeln!(text, "tenant:       {}", s.tenant);
            let _ = writeln!(
                text,
                "kind:         {} (queue {}, priority {})",
                s.kind, s.queue, s.priority
            );
            let _ = writeln!(text, "state:        {}", s.state);
            let _ = writeln!(text, "attempts:     {} of {}", s.attempt, s.max_attempts);
            let _ = writeln!(text, "run at:       {}", s.run_at.to_rfc3339());
            let _ = writeln!(text, "created:      {}", s.created_at.to_rfc3339());
            if let Some(at) = s.finished_at {
                let _ = writeln!(text, "finished:     {}", at.to_rfc3339());
            }
            if let Some(by) = &job.attempted_by {
                let _ = writeln!(text, "last run by:  {by}");
            }
            if let Some(key) = &s.unique_key {
                let _ = writeln!(text, "unique key:   {key}");
            }
            let _ = writeln!(text, "args:         {}", job.args);
            for error in job.errors.as_array().into_iter().flatten() {
                let _ = writeln!(
                    text,
                    "error #{}:     {} {}",
                    error["attempt"],
                    error["at"].as_str().unwrap_or(""),
                    error["error"].as_str().unwrap_or("")
                );
            }
            Ok(Report::new(&json!({ "job": job }), text))
        }
        JobsCommand::Retry { id } => {
            admin::retry(&client, id, now).await?;
            Ok(Report::new(
                &json!({"retried": id}),
                format!("job {id} is available again"),
            ))
        }
        JobsCommand::Cancel { id } => {
            admin::cancel(&client, id, now).await?;
            Ok(Report::new(
                &json!({"cancelled": id}),
                format!("job {id} cancelled"),
            ))
        }
        JobsCommand::Pause(target) => {
            let scope = scope(target)?;
            let changed = admin::pause(&client, &scope, now).await?;
            let what = describe(&scope);
            let text = if changed {
                format!("paused {what}")
            } else {
                format!("{what} was already paused")
            };
            Ok(Report::new(
                &json!({"paused": what, "changed": changed}),
                text,
            ))
        }
        JobsCommand::Resume(target) => {
            let scope = scope(target)?;
            let changed = admin::resume(&client, &scope).await?;
            let what = describe(&scope);
            let text = if changed {
                format!("resumed {what}")
            } else {
                format!("{what} was not paused")
            };
            Ok(Report::new(
                &json!({"resumed": what, "changed": changed}),
                text,
            ))
        }
        JobsCommand::Stats { tenant } => {
            if let Some(slug) = &tenant {
                parse_slug(slug)?;
            }
            let stats = admin::stats(&client, tenant.as_deref(), now).await?;
            let mut text = format!("{:<24} {:<10} {:>10}\n", "KIND", "STATE", "JOBS");
            for count in &stats.counts {
                let _ = writeln!(
                    text,
                    "{:<24} {:<10} {:>10}",
                    count.kind, count.state, count.jobs
                );
            }
            match stats.oldest_available_seconds {
                Some(seconds) => {
                    let _ = writeln!(text, "oldest available job waited {seconds:.1} s");
                }
                None => {
                    let _ = writeln!(text, "no job is waiting");
                }
            }
            if stats.paused.is_empty() {
                let _ = write!(text, "nothing is paused");
            }
            for pause in &stats.paused {
                let what = match (pause.scope.as_str(), &pause.queue, &pause.tenant) {
                    ("queue", Some(queue), _) => format!("queue {queue}"),
                    ("tenant", _, Some(slug)) => format!("tenant {slug}"),
                    _ => "all jobs".into(),
                };
                let _ = writeln!(
                    text,
                    "paused: {what} since {}",
                    pause.paused_at.to_rfc3339()
                );
            }
            Ok(Report::new(&json!({ "stats": stats }), text))
        }
    }
}
