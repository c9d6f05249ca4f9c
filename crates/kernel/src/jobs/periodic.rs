//! Periodic jobs: a cron expression in a time zone, per tenant, stored in
//! `public.periodic_jobs` with the next time it is due. Whichever instance's
//! maintenance sees a definition due moves `next_run_at` forward with a
//! compare-and-set and, in the same statement, enqueues the period's job under a
//! unique key naming the period: two instances that both think they lead still enqueue
//! it once. Periods missed while every instance was down collapse into one run, the
//! latest, on start.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use tokio_postgres::GenericClient;

use super::JobKind;
use crate::tenancy::connection::{PooledConnection, Scope};
use crate::tenancy::{TenancyError, TenantId};

/// A schedule: a cron expression and the time zone its fields are read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    zone: Tz,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("invalid cron expression {0:?}: {1}")]
    Cron(String, String),
    #[error("unknown time zone {0:?}")]
    Zone(String),
}

impl Schedule {
    /// Five fields (minute hour day month weekday) or six with seconds first.
    pub fn parse(expression: &str, zone: &str) -> Result<Self, ScheduleError> {
        let fields = expression.split_whitespace().count();
        let full = if fields == 5 {
            format!("0 {expression}")
        } else {
            expression.to_owned()
        };
        let cron = cron::Schedule::from_str(&full)
            .map_err(|e| ScheduleError::Cron(expression.to_owned(), e.to_string()))?;
        let zone = Tz::from_str(zone).map_err(|_| ScheduleError::Zone(zone.to_owned()))?;
        Ok(Self { cron, zone })
    }

    /// The first period starting strictly after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&at.with_timezone(&self.zone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest period starting at or before `now`, looking no further back than
    /// `since` (the period that was due).
    pub fn latest_due(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut latest = since;
        let start = since.with_timezone(&self.zone);
        // Bounded: a per-second schedule down for a day is 86,400 steps.
        for period in self.cron.after(&start).take(1_000_000) {
            let period = period.with_timezone(&Utc);
            if period > now {
                break;
            }
            latest = period;
        }
        latest
    }
}

/// A periodic job to define for a tenant.
pub struct PeriodicJob<'a> {
    pub tenant: TenantId,
    pub name: &'a str,
    pub schedule: &'a str,
    pub timezone: &'a str,
    pub kind: JobKind,
    pub args: Value,
}

/// Defines (or redefines) a periodic job; its next run is the first period after
/// `now`.
pub async fn define(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    job: PeriodicJob<'_>,
) -> Result<DateTime<Utc>, DefineError> {
    let schedule = Schedule::parse(job.schedule, job.timezone)?;
    let next = schedule
        .next_after(now)
        .ok_or_else(|| ScheduleError::Cron(job.schedule.to_owned(), "never fires".into()))?;
    let timeout = i32::try_from(job.kind.timeout.as_millis()).unwrap_or(i32::MAX);
    client
        .execute(
            "insert into public.periodic_jobs (tenant_id, name, cron, timezone, kind, queue, \
                 args, priority, max_attempts, timeout_ms, next_run_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             on conflict (tenant_id, name) do update set cron = excluded.cron, \
                 timezone = excluded.timezone, kind = excluded.kind, queue = excluded.queue, \
                 args = excluded.args, priority = excluded.priority, \
                 max_attempts = excluded.max_attempts, timeout_ms = excluded.timeout_ms, \
                 next_run_at = excluded.next_run_at",
            &[
                &job.tenant.0,
                &job.name,
                &job.schedule,
                &job.timezone,
                &job.kind.name,
                &job.kind.queue,
                &job.args,
                &job.kind.priority,
                &job.kind.max_attempts,
                &timeout,
                &next,
            ],
        )
        .await?;
    Ok(next)
}

#[derive(Debug, thiserror::Error)]
pub enum DefineError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

const DUE_SQL: &str = "\
    select id, name, cron, timezone, next_run_at from public.periodic_jobs \
    where next_run_at <= $1 order by next_run_at limit 100";

/// Moves the definition on (only if nobody else has) and enqueues this period's job,
/// in one statement.
const FIRE_SQL: &str = "\
    with moved as ( \
        update public.periodic_jobs set next_run_at = $2, last_period = $3 \
        where id = $1 and next_run_at = $4 \
        returning tenant_id, kind, queue, args, priority, max_attempts, timeout_ms, name) \
    insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, \
        max_attempts, timeout_ms, unique_key, created_at) \
    select tenant_id, kind, queue, args, priority, 'available', $5, $5, max_attempts, \
        timeout_ms, 'periodic:' || name || ':' || $6::text, $5 \
    from moved \
    on conflict (tenant_id, kind, unique_key) \
        where unique_key is not null \
          and state in ('scheduled', 'available', 'held', 'running', 'retryable') \
        do nothing \
    returning id";

/// Moves a definition whose schedule cannot be read out of the way (only if nobody else
/// has moved it).
const PARK_SQL: &str = "\
    update public.periodic_jobs set next_run_at = $2 where id = $1 and next_run_at = $3";

/// Where a definition that cannot fire is parked: far enough ahead never to come due.
fn parked_after(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::days(365 * 100)
}

/// Fires every periodic job due at `now`; returns how many jobs it enqueued.
pub async fn fire_due(conn: &PooledConnection, now: DateTime<Utc>) -> Result<u64, TenancyError> {
    let due = conn.query(Scope::standalone(), DUE_SQL, &[&now]).await?;
    let mut enqueued = 0;
    for row in due {
        let id: i64 = row.get(0);
        let name: &str = row.get(1);
        let due_at: DateTime<Utc> = row.get(4);
        let schedule = match Schedule::parse(row.get(2), row.get(3)) {
            Ok(schedule) => schedule,
            Err(error) => {
                // Parked like a schedule that never fires again: left due, it would keep
                // the maintenance loop's next timer in the past and the loop passing
                // every few milliseconds. Defining the job again with a valid schedule
                // sets a new time.
                tracing::error!(id, name, %error, "periodic job has an invalid schedule; parked until it is defined again");
                conn.execute(
                    Scope::standalone(),
                    PARK_SQL,
                    &[&id, &parked_after(now), &due_at],
                )
                .await?;
                continue;
            }
        };
        let period = schedule.latest_due(due_at, now);
        // A schedule that never fires again is parked far in the future.
        let next = schedule
            .next_after(now)
            .unwrap_or_else(|| parked_after(now));
        let key = period.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let fired = conn
            .query(
                Scope::standalone(),
                FIRE_SQL,
                &[&id, &next, &period, &due_at, &now, &key],
            )
            .await?;
        enqueued += fired.len() as u64;
    }
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_field_cron_runs_at_second_zero_in_its_time_zone() {
        let schedule = Schedule::parse("30 9 * * *", "Europe/Paris").unwrap();
        // 2026-11-30 is winter time in Paris: 09:30 there is 08:30 UTC.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        assert_eq!(
            schedule.next_after(at).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 8, 30, 0).unwrap()
        );
        // And in summer, 07:30 UTC.
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        assert_eq!(
            schedule.next_after(at).unwrap(),
            Utc.with_ymd_and_hms(2026, 7, 1, 7, 30, 0).unwrap()
        );
    }

    #[test]
    fn missed_periods_collapse_into_the_latest() {
        let schedule = Schedule::parse("0 * * * *", "UTC").unwrap();
        let due = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 5, 30, 0).unwrap();
        assert_eq!(
            schedule.latest_due(due, now),
            Utc.with_ymd_and_hms(2026, 11, 30, 5, 0, 0).unwrap()
        );
        assert_eq!(schedule.latest_due(due, due), due);
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert!(matches!(
            Schedule::parse("not cron", "UTC"),
            Err(ScheduleError::Cron(..))
        ));
        assert_eq!(
            Schedule::parse("* * * * *", "Mars/Olympus").unwrap_err(),
            ScheduleError::Zone("Mars/Olympus".into())
        );
    }
}
