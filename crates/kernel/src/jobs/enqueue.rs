//! Putting jobs on the queue. From a tenant's transaction ([`enqueue`]) the job
//! commits or vanishes with the change that caused it; [`enqueue_with`] is for callers
//! holding a plain connection (operators, periodic jobs, benchmarks).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use super::{JobKind, JOBS_CHANNEL};
use crate::error::DomainError;
use crate::tenancy::scoped::{CollectionWrite, TenantTx};
use crate::tenancy::TenantId;
use crate::unit;

/// One job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub args: Value,
    /// When to run it; `None` is now.
    pub run_at: Option<DateTime<Utc>>,
    /// While a job of this kind and tenant with this key is pending or running, another
    /// one is not enqueued.
    pub unique_key: Option<String>,
}

impl NewJob {
    pub fn now(kind: JobKind, args: Value) -> Self {
        Self {
            kind,
            args,
            run_at: None,
            unique_key: None,
        }
    }

    pub fn at(kind: JobKind, args: Value, run_at: DateTime<Utc>) -> Self {
        Self {
            run_at: Some(run_at),
            ..Self::now(kind, args)
        }
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// `$1` tenant, `$2` now (the caller's clock), then one array per column. A job is
/// placed in claim order one second behind the tenant's last available job (or now),
/// so a tenant's burst queues behind itself; `ord` spreads a batch the same way.
/// One statement, so enqueueing costs one round trip however many jobs there are.
const ENQUEUE_SQL: &str = "\
    insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, \
        max_attempts, timeout_ms, unique_key, created_at) \
    select $1, k.kind, k.queue, k.args, k.priority, \
        case when k.run_at > coalesce($2, now()) then 'scheduled' else 'available' end, \
        coalesce(k.run_at, coalesce($2, now())), \
        greatest(coalesce(k.run_at, coalesce($2, now())), \
            coalesce((select max(fair_at) from public.jobs \
                      where tenant_id = $1 and state = 'available'), coalesce($2, now())) \
            + k.ord * interval '1 second'), \
        k.max_attempts, k.timeout_ms, k.unique_key, coalesce($2, now()) \
    from unnest($3::text[], $4::text[], $5::jsonb[], $6::int2[], $7::timestamptz[], \
        $8::int4[], $9::int4[], $10::text[]) \
        with ordinality as k(kind, queue, args, priority, run_at, max_attempts, timeout_ms, \
            unique_key, ord) \
    on conflict (tenant_id, kind, unique_key) \
        where unique_key is not null \
          and state in ('scheduled', 'available', 'held', 'running', 'retryable') \
        do nothing \
    returning id";

struct Columns {
    kinds: Vec<&'static str>,
    queues: Vec<&'static str>,
    args: Vec<Value>,
    priorities: Vec<i16>,
    run_ats: Vec<Option<DateTime<Utc>>>,
    max_attempts: Vec<i32>,
    timeouts: Vec<i32>,
    unique_keys: Vec<Option<String>>,
}

impl Columns {
    fn of(jobs: Vec<NewJob>) -> Self {
        let mut columns = Self {
            kinds: Vec::with_capacity(jobs.len()),
            queues: Vec::with_capacity(jobs.len()),
            args: Vec::with_capacity(jobs.len()),
            priorities: Vec::with_capacity(jobs.len()),
            run_ats: Vec::with_capacity(jobs.len()),
            max_attempts: Vec::with_capacity(jobs.len()),
            timeouts: Vec::with_capacity(jobs.len()),
            unique_keys: Vec::with_capacity(jobs.len()),
        };
        for job in jobs {
            columns.kinds.push(job.kind.name);
            columns.queues.push(job.kind.queue);
            columns.args.push(job.args);
            columns.priorities.push(job.kind.priority);
            columns.run_ats.push(job.run_at);
            columns.max_attempts.push(job.kind.max_attempts);
            columns
                .timeouts
                .push(i32::try_from(job.kind.timeout.as_millis()).unwrap_or(i32::MAX));
            columns.unique_keys.push(job.unique_key);
        }
        columns
    }

    /// `ENQUEUE_SQL`'s parameters, in order.
    fn params<'a>(
        &'a self,
        tenant: &'a uuid::Uuid,
        now: &'a Option<DateTime<Utc>>,
    ) -> [&'a (dyn ToSql + Sync); 10] {
        [
            tenant,
            now,
            &self.kinds,
            &self.queues,
            &self.args,
            &self.priorities,
            &self.run_ats,
            &self.max_attempts,
            &self.timeouts,
            &self.unique_keys,
        ]
    }
}

/// Enqueues `jobs` for the transaction's tenant; they become visible to workers when
/// it commits. Returns the ids of the jobs written (a unique key may suppress some).
pub async fn enqueue(tx: &TenantTx, jobs: Vec<NewJob>) -> Result<Vec<i64>, DomainError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let columns = Columns::of(jobs);
    // The clock of the unit of work decides what is due, as it decided the run-at
    // times: PostgreSQL's own clock may disagree with it (a skewed host, a test's
    // moved clock), and a deadline computed ahead of it would fire at once.
    let now = Some(unit::now(tx));
    let rows = tx
        .query(ENQUEUE_SQL, &columns.params(&tx.tenant_id().0, &now))
        .await?;
    tx.notify_after_commit(JOBS_CHANNEL);
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// One job per transaction and kind collecting `items`, written right before the
/// transaction commits (`TenantTx::collect_before_commit`) as `{"items": [...]}`. An
/// event-driven consumer (the notifier) thereby costs one job row and one statement
/// per unit of work, not an upsert of the row per event (measured at 0.3-0.5 ms each,
/// several per deadline when a tenant's deadlines run together). `$8` is the items.
const ENQUEUE_COLLECTED_SQL: &str = "\
    insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, \
        max_attempts, timeout_ms, created_at) \
    select $1::uuid, $2::text, $3::text, jsonb_build_object('items', $8::jsonb), $4::int2, \
        'available', $7::timestamptz, \
        greatest($7::timestamptz, coalesce((select max(fair_at) from public.jobs \
                 where tenant_id = $1::uuid and state = 'available'), $7::timestamptz)), \
        $5::int4, $6::int4, $7::timestamptz";

/// Adds `item` to this transaction's job of `kind` (see `ENQUEUE_COLLECTED_SQL`); the
/// handler reads `args.items`. Nothing is written if the transaction rolls back. An
/// item added inside a savepoint rolled back later stays in the job: the handler
/// skips what names nothing.
pub fn enqueue_collecting(tx: &TenantTx, kind: JobKind, item: Value) {
    let write = || -> CollectionWrite {
        let timeout = i32::try_from(kind.timeout.as_millis()).unwrap_or(i32::MAX);
        let now = unit::now(tx);
        (
            ENQUEUE_COLLECTED_SQL,
            vec![
                Box::new(tx.tenant_id().0),
                Box::new(kind.name),
                Box::new(kind.queue),
                Box::new(kind.priority),
                Box::new(kind.max_attempts),
                Box::new(timeout),
                Box::new(now),
            ],
        )
    };
    tx.collect_before_commit(kind.name, write, item);
    tx.notify_after_commit(JOBS_CHANNEL);
}

/// Cancels this tenant's pending jobs of `kind` whose unique key starts with
/// `key_prefix`, in the caller's transaction: timers that no longer apply (a contract's
/// reminders when its dates move). Returns how many.
pub async fn cancel_pending(
    tx: &TenantTx,
    kind: JobKind,
    key_prefix: &str,
) -> Result<u64, DomainError> {
    cancel_pending_any(tx, kind, &[key_prefix]).await
}

/// [`cancel_pending`] for every job whose unique key starts with one of `key_prefixes`,
/// in one statement: each start is a range of the keys in byte order (`[prefix,
/// after_prefix)`), read from an index that holds the pending keys so (see
/// [`CANCEL_SQL`]), so a walk over thousands of records cancels in time proportional to
/// what it cancels, not to the tenant's pending jobs.
pub async fn cancel_pending_any(
    tx: &TenantTx,
    kind: JobKind,
    key_prefixes: &[&str],
) -> Result<u64, DomainError> {
    if key_prefixes.is_empty() {
        return Ok(0);
    }
    let (tenant, now) = (tx.tenant_id().0, unit::now(tx));
    let ends: Vec<String> = key_prefixes.iter().map(|p| after_prefix(p)).collect();
    Ok(tx
        .execute(
            CANCEL_SQL,
            &[&tenant, &kind.name, &key_prefixes, &now, &ends],
        )
        .await?)
}

/// Cancels the pending (not running: a running one finishes, and its handler re-checks
/// that it still applies) jobs of tenant `$1` and kind `$2` whose key starts with one of
/// `$3`, the range of each ending before the same element of `$5`, at `$4`. Each start
/// is looked up on its own (`lateral`, kept from being flattened by `offset 0`) as a
/// range of `jobs_unique_key_prefix`, and the jobs found are then named by id: whatever
/// a generic plan guesses of how many starts and jobs there are, no plan can read all
/// of the tenant's pending jobs once per start. `starts_with` keeps it exact. The
/// update re-checks the state as the states it may not take, rather than as the pending
/// ones: written as those, the planner reads the tenant's pending jobs through the
/// index on tenant and state (`jobs_tenant_idx`) instead of reaching the ids found.
pub const CANCEL_SQL: &str = "update public.jobs set state = 'cancelled', finished_at = $4, \
         lease_until = null \
     where id = any(array( \
         select found.id from unnest($3::text[], $5::text[]) as p(low, high), \
         lateral (select j.id from public.jobs j \
                  where j.tenant_id = $1 and j.kind = $2 and j.unique_key is not null \
                    and j.state in ('scheduled', 'available', 'held', 'retryable') \
                    and j.unique_key ~>=~ p.low and j.unique_key ~<~ p.high \
                    and starts_with(j.unique_key, p.low) \
                  offset 0) found)) \
       and state <> all(array['running', 'completed', 'cancelled', 'discarded'])";

/// The least text greater, byte by byte, than every text that starts with `prefix`:
/// the prefix with its last character made the next one (UTF-8 keeps the order of code
/// points). A last character with no next one (U+10FFFF) is followed by U+10FFFF
/// instead, which leaves out only keys that go on with that noncharacter.
pub fn after_prefix(prefix: &str) -> String {
    let mut chars = prefix.chars();
    let next = chars.next_back().and_then(|last| {
        let code = u32::from(last) + 1;
        // After the last code point before the surrogates comes the first after them.
        char::from_u32(code).or_else(|| char::from_u32(0xE000).filter(|_| code == 0xD800))
    });
    match next {
        Some(next) => format!("{}{next}", chars.as_str()),
        None => format!("{prefix}{}", char::MAX),
    }
}

/// Enqueues `jobs` for `tenant` on a plain connection, with `now` from the caller's
/// clock.
pub async fn enqueue_with(
    client: &impl GenericClient,
    tenant: TenantId,
    now: DateTime<Utc>,
    jobs: Vec<NewJob>,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let columns = Columns::of(jobs);
    let rows = client
        .query(ENQUEUE_SQL, &columns.params(&tenant.0, &Some(now)))
        .await?;
    // In the caller's transaction if it has one (then at its commit, serialised with
    // other notifying commits: fine for tools and tests, not for the hot paths, which
    // use `enqueue`).
    client
        .execute("select pg_notify($1, '')", &[&JOBS_CHANNEL])
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::after_prefix;

    #[test]
    fn a_prefix_ends_before_the_first_text_that_does_not_start_with_it() {
        assert_eq!(after_prefix("reminder:abc:"), "reminder:abc;");
        assert_eq!(after_prefix("é"), "ê");
        assert_eq!(after_prefix("a\u{D7FF}"), "a\u{E000}");
        assert_eq!(after_prefix("a\u{10FFFF}"), "a\u{10FFFF}\u{10FFFF}");
        assert_eq!(after_prefix(""), "\u{10FFFF}");
        // Every text that starts with the prefix sorts (by bytes) inside the range, and
        // the first one that does not, at its end.
        for (prefix, inside, outside) in [
            ("reminder:abc:", "reminder:abc:expiring:90", "reminder:abc;"),
            ("task:é", "task:é\u{10FFFF}x", "task:ê"),
            ("x\u{D7FF}", "x\u{D7FF}\u{10FFFF}", "x\u{E000}"),
        ] {
            let end = after_prefix(prefix);
            assert!(prefix.as_bytes() <= inside.as_bytes());
            assert!(inside.as_bytes() < end.as_bytes(), "{inside:?} < {end:?}");
            assert!(end.as_bytes() <= outside.as_bytes());
        }
    }
}
