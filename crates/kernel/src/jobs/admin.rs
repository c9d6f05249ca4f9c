//! What operators do to the queue (`tenantctl jobs ...`) and what `/metrics` counts:
//! list, show, retry, cancel, pause, resume, stats. Plain statements on `public`, on
//! any client.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::sql::{HOLD_SQL, RELEASE_HELD_SQL, SET_ASIDE_BATCH};
use super::{JOBS_CHANNEL, PENDING_STATES, STATES};
use crate::query::Filter as Conditions;

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub tenant: Option<String>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub queue: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("unknown job state {0:?}; expected one of {states}", states = STATES.join(", "))]
    UnknownState(String),
    #[error("no tenant {0:?}")]
    UnknownTenant(String),
    #[error("no job {0}")]
    NoSuchJob(i64),
    #[error("job {id} is {state}: {why}")]
    WrongState {
        id: i64,
        state: String,
        why: &'static str,
    },
    #[error("invalid queue name {0:?}")]
    InvalidQueue(String),
    #[error("another job of this kind and tenant with the same unique key is pending")]
    DuplicatePending,
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

impl Filter {
    pub fn validate(&self) -> Result<(), AdminError> {
        if let Some(state) = &self.state {
            if !STATES.contains(&state.as_str()) {
                return Err(AdminError::UnknownState(state.clone()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct JobSummary {
    pub id: i64,
    pub tenant: String,
    pub kind: String,
    pub queue: String,
    pub state: String,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JobDetail {
    #[serde(flatten)]
    pub summary: JobSummary,
    pub args: Value,
    pub errors: Value,
    pub attempted_by: Option<String>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub timeout_ms: i32,
}

const SUMMARY_COLUMNS: &str = "j.id, t.slug, j.kind, j.queue, j.state, j.priority, j.attempt, \
    j.max_attempts, j.run_at, j.created_at, j.finished_at, j.unique_key";

fn summary(row: &tokio_postgres::Row) -> JobSummary {
    JobSummary {
        id: row.get(0),
        tenant: row.get(1),
        kind: row.get(2),
        queue: row.get(3),
        state: row.get(4),
        priority: row.get(5),
        attempt: row.get(6),
        max_attempts: row.get(7),
        run_at: row.get(8),
        created_at: row.get(9),
        finished_at: row.get(10),
        unique_key: row.get(11),
    }
}

/// Newest first.
pub async fn list(
    client: &impl GenericClient,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<JobSummary>, AdminError> {
    filter.validate()?;
    let mut w = Conditions::new();
    w.push_some(filter.tenant.clone(), |n| format!("t.slug = ${n}"));
    w.push_some(filter.kind.clone(), |n| format!("j.kind = ${n}"));
    w.push_some(filter.state.clone(), |n| format!("j.state = ${n}"));
    w.push_some(filter.queue.clone(), |n| format!("j.queue = ${n}"));
    let limit = w.bind(limit);
    let sql = format!(
        "select {SUMMARY_COLUMNS} from public.jobs j \
         join public.tenants t on t.id = j.tenant_id{} order by j.id desc limit ${limit}",
        w.where_clause()
    );
    let rows = client.query(&sql, &w.params()).await?;
    Ok(rows.iter().map(summary).collect())
}

pub async fn show(client: &impl GenericClient, id: i64) -> Result<JobDetail, AdminError> {
    let row = client
        .query_opt(
            &format!(
                "select {SUMMARY_COLUMNS}, j.args, j.errors, j.attempted_by, j.attempted_at, \
                        j.lease_until, j.timeout_ms \
                 from public.jobs j join public.tenants t on t.id = j.tenant_id where j.id = $1"
            ),
            &[&id],
        )
        .await?
        .ok_or(AdminError::NoSuchJob(id))?;
    Ok(JobDetail {
        summary: summary(&row),
        args: row.get(12),
        errors: row.get(13),
        attempted_by: row.get(14),
        attempted_at: row.get(15),
        lease_until: row.get(16),
        timeout_ms: row.get(17),
    })
}

async fn state_of(client: &impl GenericClient, id: i64) -> Result<String, AdminError> {
    client
        .query_opt("select state from public.jobs where id = $1", &[&id])
        .await?
        .map(|row| row.get(0))
        .ok_or(AdminError::NoSuchJob(id))
}

/// Runs a finished, failed or waiting job again now, with at least one attempt left.
pub async fn retry(
    client: &impl GenericClient,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let updated = client
        .execute(
            "update public.jobs set state = 'available', run_at = $2, finished_at = null, \
                 lease_until = null, max_attempts = greatest(max_attempts, attempt + 1) \
             where id = $1 and state in ('scheduled', 'retryable', 'completed', 'cancelled', 'discarded')",
            &[&id, &now],
        )
        .await
        .map_err(|error| match error.code() {
            Some(code) if *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION => {
                AdminError::DuplicatePending
            }
            _ => AdminError::Database(error),
        })?;
    if updated == 0 {
        let state = state_of(client, id).await?;
        return Err(AdminError::WrongState {
            id,
            state,
            why: "only a job that is not available or running can be retried",
        });
    }
    client
        .execute("select pg_notify($1, '')", &[&JOBS_CHANNEL])
        .await?;
    Ok(())
}

/// Cancels a job that has not finished. A running attempt is not interrupted, but its
/// outcome is ignored.
pub async fn cancel(
    client: &impl GenericClient,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let updated = client
        .execute(
            &format!(
                "update public.jobs set state = 'cancelled', finished_at = $2, lease_until = null \
                 where id = $1 and state in {PENDING_STATES}"
            ),
            &[&id, &now],
        )
        .await?;
    if updated == 0 {
        let state = state_of(client, id).await?;
        return Err(AdminError::WrongState {
            id,
            state,
            why: "it has already finished",
        });
    }
    Ok(())
}

/// What to pause or resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseScope {
    All,
    Queue(String),
    /// A tenant slug.
    Tenant(String),
}

async fn tenant_id(client: &impl GenericClient, slug: &str) -> Result<Uuid, AdminError> {
    client
        .query_opt("select id from public.tenants where slug = $1", &[&slug])
        .await?
        .map(|row| row.get(0))
        .ok_or_else(|| AdminError::UnknownTenant(slug.to_owned()))
}

/// Pauses; returns false if it already was.
pub async fn pause(
    client: &impl GenericClient,
    scope: &PauseScope,
    now: DateTime<Utc>,
) -> Result<bool, AdminError> {
    let (kind, queue, tenant) = resolve_scope(client, scope).await?;
    let inserted = client
        .execute(
            "insert into public.job_pauses (scope, queue, tenant_id, paused_at) \
             values ($1, $2, $3, $4) on conflict do nothing",
            &[&kind, &queue, &tenant, &now],
        )
        .await?;
    if tenant.is_some() {
        // Set aside at once rather than at the runners' next pass.
        set_aside(client, HOLD_SQL).await?;
    }
    Ok(inserted == 1)
}

/// Runs [`HOLD_SQL`] or [`RELEASE_HELD_SQL`] until a batch is not full.
async fn set_aside(client: &impl GenericClient, sql: &str) -> Result<(), AdminError> {
    let commit_mode: Option<&str> = None;
    while client
        .execute(sql, &[&SET_ASIDE_BATCH, &commit_mode])
        .await?
        >= SET_ASIDE_BATCH.unsigned_abs()
    {}
    Ok(())
}

/// Resumes; returns false if it was not paused.
pub async fn resume(client: &impl GenericClient, scope: &PauseScope) -> Result<bool, AdminError> {
    let (kind, queue, tenant) = resolve_scope(client, scope).await?;
    let deleted = client
        .execute(
            "delete from public.job_pauses where scope = $1 \
               and queue is not distinct from $2 and tenant_id is not distinct from $3",
            &[&kind, &queue, &tenant],
        )
        .await?;
    if deleted > 0 {
        if tenant.is_some() {
            set_aside(client, RELEASE_HELD_SQL).await?;
        }
        client
            .execute("select pg_notify($1, '')", &[&JOBS_CHANNEL])
            .await?;
    }
    Ok(deleted > 0)
}

async fn resolve_scope(
    client: &impl GenericClient,
    scope: &PauseScope,
) -> Result<(&'static str, Option<String>, Option<Uuid>), AdminError> {
    Ok(match scope {
        PauseScope::All => ("all", None, None),
        PauseScope::Queue(queue) => {
            if super::QueueName::parse(queue).is_none() {
                return Err(AdminError::InvalidQueue(queue.clone()));
            }
            ("queue", Some(queue.clone()), None)
        }
        PauseScope::Tenant(slug) => ("tenant", None, Some(tenant_id(client, slug).await?)),
    })
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub kind: String,
    pub state: String,
    pub jobs: i64,
}

#[derive(Debug, Serialize)]
pub struct Pause {
    pub scope: String,
    pub queue: Option<String>,
    pub tenant: Option<String>,
    pub paused_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    pub counts: Vec<Count>,
    /// How long the oldest available job has waited, in seconds.
    pub oldest_available_seconds: Option<f64>,
    pub paused: Vec<Pause>,
}

/// Jobs by kind and state: what `/metrics` exports.
pub const COUNTS_SQL: &str =
    "select kind, state, count(*) from public.jobs group by kind, state order by kind, state";

pub async fn counts(client: &impl GenericClient) -> Result<Vec<Count>, tokio_postgres::Error> {
    let rows = client.query(COUNTS_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|row| Count {
            kind: row.get(0),
            state: row.get(1),
            jobs: row.get(2),
        })
        .collect())
}

pub async fn stats(
    client: &impl GenericClient,
    tenant: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Stats, AdminError> {
    let tenant_id = match tenant {
        Some(slug) => Some(tenant_id(client, slug).await?),
        None => None,
    };
    let mut w = Conditions::new();
    w.push_some(tenant_id, |n| format!("tenant_id = ${n}"));
    let sql = format!(
        "select kind, state, count(*) from public.jobs{} \
         group by kind, state order by kind, state",
        w.where_clause()
    );
    let rows = client.query(&sql, &w.params()).await?;
    let counts = rows
        .iter()
        .map(|row| Count {
            kind: row.get(0),
            state: row.get(1),
            jobs: row.get(2),
        })
        .collect();
    let oldest: Option<DateTime<Utc>> = client
        .query_one(
            "select min(run_at) from public.jobs \
             where state = 'available' and ($1::uuid is null or tenant_id = $1)",
            &[&tenant_id],
        )
        .await?
        .get(0);
    let paused = client
        .query(
            "select p.scope, p.queue, t.slug, p.paused_at from public.job_pauses p \
             left join public.tenants t on t.id = p.tenant_id order by p.id",
            &[],
        )
        .await?
        .iter()
        .map(|row| Pause {
            scope: row.get(0),
            queue: row.get(1),
            tenant: row.get(2),
            paused_at: row.get(3),
        })
        .collect();
    Ok(Stats {
        counts,
        oldest_available_seconds: oldest
            .map(|at| ((now - at).num_milliseconds().max(0) as f64) / 1000.0),
        paused,
    })
}
