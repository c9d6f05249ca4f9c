//! The queue's statements on `public.jobs`, each one message (Citus-safe), each
//! changing a bounded set of rows named by an array of ids.
//!
//! The runner's own changes (claims, completions, failures, releases, promotions,
//! rescues, pruning) name how their commit waits for the WAL through a last
//! parameter, joined as `commit_mode!`: `off` by default, so they do not wait for the
//! flush. Measured under 833 deadlines a second, most busy backends waited on that
//! flush, and these commits were a third of the waits (docs/benchmarks.md, "Approval
//! workflows"). A crash can
//! lose the last few of them and nothing else: a handler's own transaction commits
//! synchronously, and its flush carries every earlier record of the WAL with it, so
//! what a committed handler's claim wrote is kept; a lost completion or failure runs
//! the job again (jobs are at least once), a lost claim, promotion or release is made
//! again by the next claim or pass. `NULL` keeps the server's own setting.

/// A one-row `FROM` item that sets `synchronous_commit` for the statement's own
/// (implicit) transaction to parameter `$n`, or leaves it when that is `NULL`. Local to
/// the transaction, so safe behind a transaction pooler.
macro_rules! commit_mode {
    ($n:literal) => {
        concat!(
            "(select set_config('synchronous_commit', coalesce($",
            $n,
            "::text, current_setting('synchronous_commit')), true)) as commit_mode"
        )
    };
}

/// Claims up to `$2` jobs of queue `$1` that are due by the claimer's clock `$3` (a job
/// made available by an instance whose clock runs ahead waits for this one's to catch
/// up, so no timer fires early), passing over the tenants in `$4`: those holding their
/// whole share of this runner's workers (usually none; the scan then walks past their
/// backlog, so a hanging tenant's jobs ahead cannot hide another tenant's), and the
/// tenants whose schema is not at the runner's version (the parameter numbered by the
/// macro's argument): their jobs wait, no attempt spent, for a runner of their
/// schema's release or for the migration to reach them, as their requests do. The
/// tenant's status is a per-row subquery, not a join: a join lets the planner start
/// from `tenants` (or sort every available job) when its statistics are stale, while
/// this keeps one plan, the claim index in order, stopping at the first `$2` rows
/// (measured in `scripts/bench-jobs.sh`).
///
/// A paused or inactive tenant's jobs are set aside as `held` ([`HOLD_SQL`]), out of
/// the claim index; the per-row checks pass over what became available since they were
/// last set aside (at most a poll interval ago). A pause of everything or of the queue does not depend on the row,
/// so it is its own condition, which PostgreSQL checks once before reading any job.
macro_rules! claim_candidates {
    ($version:literal) => {
        concat!(
            "select j.id from public.jobs j \
             where j.state = 'available' and j.queue = $1 and j.run_at <= $3::timestamptz \
               and j.tenant_id <> all($4::uuid[]) \
               and not exists (select 1 from public.job_pauses p \
                               where p.scope = 'all' or (p.scope = 'queue' and p.queue = $1)) \
               and not exists (select 1 from public.job_pauses p \
                               where p.scope = 'tenant' and p.tenant_id = j.tenant_id) \
               and (select t.status = 'active' and t.schema_version = $",
            $version,
            "::int4 \
                    from public.tenants t where t.id = j.tenant_id) \
             order by j.priority, j.fair_at \
             limit $2 \
             for update of j skip locked"
        )
    };
}

/// The jobs a claim of up to `$2` jobs of queue `$1` due at `$3`, passing over the
/// tenants `$4` and those whose schema is not at version `$5`, takes (locked).
pub const CLAIM_CANDIDATES_SQL: &str = claim_candidates!(5);

/// Claims the candidates (tenants' schemas at version `$8`) for runner `$5`, with `$6`
/// ms of lease beyond each job's timeout, committing as `$7` says.
///
/// Every statement here that changes a bounded set of rows names them as
/// `id = any(array(<the bounded select>))`, never as a join with a `limit`ed CTE or an
/// `in (select ... limit n)`: planned generically, those are estimated at their limit
/// (5,000 rows for the promotion) and joined by hashing the whole table, so each call
/// read every row of `public.jobs` to change a few (18.9 ms a promotion in the SLA
/// benchmark, 15% of its statement time). An array of ids always goes through the
/// primary key. The tenant's schema is a subquery per claimed job for the same reason:
/// joined, the registry was hashed whole on every claim. `tests/api/jobs/fairness.rs`
/// checks the plans on a large table.
pub const CLAIM_SQL: &str = concat!(
    "update public.jobs j \
       set state = 'running', attempt = j.attempt + 1, attempted_at = $3::timestamptz, \
           attempted_by = $5, \
           lease_until = $3::timestamptz + (j.timeout_ms + $6::int8) * interval '1 millisecond' \
      from ",
    commit_mode!(7),
    " where j.id = any(array(",
    claim_candidates!(8),
    ")) \
    returning j.id, j.tenant_id, \
              (select t.schema_name from public.tenants t where t.id = j.tenant_id), j.kind, j.queue, j.args, j.attempt, \
              j.max_attempts, j.timeout_ms, j.run_at, \
              (select t.role_name from public.tenants t where t.id = j.tenant_id)"
);

/// Claimed beyond a tenant's share in one batch, handed back untried: not counted as
/// an attempt, available at once.
pub(super) const GIVE_BACK_SQL: &str = concat!(
    "update public.jobs set state = 'available', attempt = attempt - 1, lease_until = null, \
            attempted_by = null \
       from ",
    commit_mode!(3),
    " where id = any($1) and state = 'running' and attempted_by = $2"
);

/// How many jobs of each of the tenants `$1` are running in the whole fleet, read after
/// a claim committed, so that claim's own among them. The tenants are named rather
/// than all running jobs counted: the partial index on running jobs keeps an entry
/// for every job that ran since the last vacuum, and a bitmap scan, which is what the
/// planner takes for the whole of it, never marks the dead ones (0.4 to 0.7 ms a count
/// after 30,000 jobs, against 0.04 to 0.2 ms for a batch's tenants).
pub const FLEET_RUNNING_SQL: &str = "select tenant_id, count(*) from public.jobs \
     where state = 'running' and tenant_id = any($1) group by tenant_id";

/// Completions are recorded in batches: one statement for every job that finished
/// since the last one.
pub(super) const COMPLETE_SQL: &str = concat!(
    "update public.jobs j set state = 'completed', finished_at = $3, lease_until = null \
       from unnest($1::int8[], $2::int4[]) as done(id, attempt), ",
    commit_mode!(5),
    " where j.id = done.id and j.attempt = done.attempt and j.state = 'running' \
        and j.attempted_by = $4"
);

pub(super) const FAIL_SQL: &str = concat!(
    "update public.jobs \
       set state = case when attempt >= max_attempts then 'discarded' else 'retryable' end, \
           run_at = case when attempt >= max_attempts then run_at else $5 end, \
           finished_at = case when attempt >= max_attempts then $2::timestamptz end, \
           lease_until = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $2::timestamptz, 'error', $6::text)) \
       from ",
    commit_mode!(7),
    " where id = $1 and state = 'running' and attempted_by = $3 and attempt = $4 \
     returning state"
);

pub(super) const CANCEL_SQL: &str = concat!(
    "update public.jobs set state = 'cancelled', finished_at = $2, lease_until = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $2::timestamptz, 'error', $5::text)) \
       from ",
    commit_mode!(6),
    " where id = $1 and state = 'running' and attempted_by = $3 and attempt = $4"
);

/// Put off by its handler before it tried anything: not counted as an attempt, due
/// again at `$4`.
pub(super) const DEFER_SQL: &str = concat!(
    "update public.jobs set state = 'retryable', attempt = attempt - 1, run_at = $4, \
           lease_until = null, attempted_by = null \
       from ",
    commit_mode!(5),
    " where id = $1 and state = 'running' and attempted_by = $2 and attempt = $3"
);

/// Makes job `$1`, deferred at attempt `$2` and not run since, available at `$3`:
/// the place it was deferred behind was given back (see `places`).
pub(super) const BRING_FORWARD_SQL: &str = concat!(
    "update public.jobs set state = 'available', run_at = $3 from ",
    commit_mode!(4),
    " where id = $1 and attempt = $2 and state = 'retryable' and attempted_by is null"
);

/// Locks place `$1` for the rest of the transaction (the second key keeps these locks
/// apart from the application's other advisory locks).
pub(super) const FLEET_PLACE_LOCK_SQL: &str =
    "select pg_advisory_xact_lock(hashtextextended($1, 16))";

/// Forgets the holds of place `$1` whose lease ended before `$2` (their process died).
pub(super) const FLEET_PLACE_EXPIRED_SQL: &str =
    "delete from public.job_places where place = $1 and until < $2";

/// Holds place `$1` for job `$2` until `$3` if fewer than `$4` hold it; a row when
/// it did. A job holding it already (run again after its process died) renews it.
pub(super) const FLEET_PLACE_HOLD_SQL: &str =
    "insert into public.job_places (place, job_id, until) \
     select $1, $2, $3 \
      where (select count(*) from public.job_places where place = $1 and job_id <> $2) < $4 \
     on conflict (place, job_id) do update set until = excluded.until \
     returning job_id";

/// Gives back job `$2`'s hold of place `$1`.
pub(super) const FLEET_PLACE_RELEASE_SQL: &str =
    "delete from public.job_places where place = $1 and job_id = $2";

/// Released at shutdown: not counted as an attempt, available to others at once.
pub(super) const RELEASE_SQL: &str = concat!(
    "update public.jobs set state = 'available', attempt = attempt - 1, lease_until = null, \
           attempted_by = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $3::timestamptz, 'error', 'released: its worker shut down')) \
       from ",
    commit_mode!(4),
    " where id = any($1) and state = 'running' and attempted_by = $2"
);

pub const PROMOTE_SQL: &str = concat!(
    "update public.jobs set state = 'available' from ",
    commit_mode!(2),
    " where id = any(array( \
        select id from public.jobs \
        where state in ('scheduled', 'retryable') and run_at <= $1 \
        order by run_at limit 5000 for update skip locked))"
);

/// How many jobs [`HOLD_SQL`] and [`RELEASE_HELD_SQL`] change a statement, and how
/// many statements of each a maintenance pass runs at most (the rest wait a pass).
pub const SET_ASIDE_BATCH: i64 = 10_000;
pub const MOST_SET_ASIDE_BATCHES: usize = 50;

/// Sets aside (as `held`) up to `$1` available jobs of tenants that are paused or not
/// active (suspended, being deleted), committing as `$2` says. Claims walk the
/// available jobs in claim order, so a paused tenant's backlog ahead of everyone
/// else's was walked by every claim of every runner: 300,000 held back made each claim
/// read them all (docs/benchmarks.md, "A paused tenant's backlog"). Held, they keep
/// their place (`fair_at`) and their unique key; [`RELEASE_HELD_SQL`] gives them back.
/// The tenants' own jobs are found through `jobs_tenant_idx`, the tenants through the
/// pauses and `tenants_inactive_idx`.
pub const HOLD_SQL: &str = concat!(
    "update public.jobs set state = 'held' from ",
    commit_mode!(2),
    " where id = any(array( \
        select j.id from public.jobs j \
        where j.tenant_id = any(array( \
                select p.tenant_id from public.job_pauses p where p.scope = 'tenant' \
                union all \
                select t.id from public.tenants t where t.status <> 'active')) \
          and j.state = 'available' \
        limit $1 for update skip locked))"
);

/// Makes up to `$1` held jobs of tenants no longer paused and active again available,
/// committing as `$2` says. The tenants holding jobs are found by skipping through
/// `jobs_held_idx` one tenant at a time (a recursive query), so the pass costs a probe
/// per such tenant, not a read of every held job, however long a pause lasts.
pub const RELEASE_HELD_SQL: &str = concat!(
    "update public.jobs set state = 'available' from ",
    commit_mode!(2),
    " where id = any(array( \
        select j.id from public.jobs j \
        where j.state = 'held' and j.tenant_id = any(array( \
            with recursive holding(tenant_id) as ( \
                (select h.tenant_id from public.jobs h where h.state = 'held' \
                 order by h.tenant_id limit 1) \
                union all \
                select (select h.tenant_id from public.jobs h \
                        where h.state = 'held' and h.tenant_id > holding.tenant_id \
                        order by h.tenant_id limit 1) \
                from holding where holding.tenant_id is not null) \
            select holding.tenant_id from holding \
            where holding.tenant_id is not null \
              and (select t.status = 'active' from public.tenants t \
                   where t.id = holding.tenant_id) \
              and not exists (select 1 from public.job_pauses p \
                              where p.scope = 'tenant' and p.tenant_id = holding.tenant_id))) \
        limit $1 for update skip locked))"
);

pub const RESCUE_SQL: &str = concat!(
    "update public.jobs j \
       set state = case when j.attempt >= j.max_attempts then 'discarded' else 'available' end, \
           finished_at = case when j.attempt >= j.max_attempts then $1::timestamptz end, \
           lease_until = null, \
           errors = j.errors || jsonb_build_array(jsonb_build_object( \
               'attempt', j.attempt, 'at', $1::timestamptz, \
               'error', 'rescued: the lease expired; worker ' || coalesce(j.attempted_by, '?') \
                        || ' stopped answering')) \
       from ",
    commit_mode!(2),
    " where j.id = any(array( \
        select id from public.jobs \
        where state = 'running' and lease_until < $1 \
        order by lease_until limit 1000 for update skip locked)) \
     returning j.kind"
);

pub const PRUNE_SQL: &str = concat!(
    "delete from public.jobs using ",
    commit_mode!(2),
    " where id = any(array( \
        select id from public.jobs \
        where state in ('completed', 'cancelled', 'discarded') and finished_at < $1 \
        limit 10000))"
);

pub(super) const NEXT_TIMER_SQL: &str = "\
    select least((select min(run_at) from public.jobs where state in ('scheduled', 'retryable')), \
                 (select min(next_run_at) from public.periodic_jobs))";

#[cfg(test)]
mod tests {
    /// Every statement here that changes the queue says how it commits: one added
    /// without `commit_mode!` would wait for the flush again, unnoticed.
    #[test]
    fn every_change_to_the_queue_names_its_commit_mode() {
        let source = include_str!("sql.rs");
        let source = &source[..source.find("#[cfg(test)]").expect("the tests")];
        let mut changes = 0;
        for statement in source.split("const ").skip(1) {
            let name = statement.split(':').next().unwrap_or_default();
            let body = statement.split(";\n").next().unwrap_or_default();
            let changes_jobs = ["update public.jobs", "delete from public.jobs"]
                .iter()
                .any(|shape| body.contains(shape));
            if changes_jobs {
                changes += 1;
                assert!(
                    body.contains("commit_mode!("),
                    "{name} changes public.jobs without naming its commit mode"
                );
            }
        }
        assert!(
            changes >= 10,
            "the check found the queue's changes: {changes}"
        );
    }
}
