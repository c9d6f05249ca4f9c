//! A job's due siblings done in its own unit of work: the other jobs of its tenant and
//! kind that are due, taken in the handler's transaction and finished by its commit.
//!
//! Deadline timers are the reason. When many fall due at once (a burst of approvals
//! over a thousand tenants), a runner that is behind holds several due timers of each
//! tenant, and a transaction per timer pays for its schema switch, its catalog entries
//! on that connection, its commit and its own notifier job each time. Done together,
//! they pay once, and the further behind the runner is, the more each transaction
//! does: a backlog drains faster the larger it grows.
//!
//! Taking a sibling marks it completed by this worker inside the handler's
//! transaction, under the row lock the claim takes (`SKIP LOCKED`: one being claimed
//! or run elsewhere is passed over). So the siblings finish exactly when the work
//! commits, and a rollback (a failed handler, a lost connection, a crash before the
//! commit) leaves them as they were, not an attempt spent. What a handler does not do
//! it hands back in the same transaction: [`Sibling::put_back`] untried, or
//! [`Sibling::fail`] as a failed attempt retried on the queue's schedule. These
//! statements commit with the handler's transaction, as it commits (a redoable unit's
//! commit does not wait for the flush: a crash that loses it loses the work and the
//! completion together, and the jobs run again).
//!
//! Pauses are not read here (a tenant's role cannot read them): the siblings join a
//! unit of work whose job was claimed under them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{backoff, JobContext};
use crate::actor::Origin;
use crate::error::DomainError;
use crate::tenancy::scoped::TenantTx;

/// The most siblings one unit of work takes unless the runner is told otherwise
/// (`RunnerConfig::together`): enough to drain a backlog quickly, few enough that the
/// transaction (and the subjects' row locks) stays short.
pub const MOST_TOGETHER: usize = 32;

/// Takes up to `$6` of tenant `$1`'s jobs of kind `$2` in queue `$3` that are due by
/// `$4` (waiting, made available, or due for a retry), other than `$7`, completing them
/// for worker `$5`. Named through an array of ids (see `sql`: a `limit`ed join would
/// be planned at its limit); the tenant's index on `(tenant_id, state, fair_at)` finds
/// them, oldest place in the queue first.
const TAKE_SQL: &str = "\
    update public.jobs j \
       set state = 'completed', attempt = j.attempt + 1, attempted_at = $4::timestamptz, \
           attempted_by = $5, finished_at = $4::timestamptz, lease_until = null \
     where j.id = any(array( \
           select s.id from public.jobs s \
            where s.tenant_id = $1 and s.kind = $2 and s.queue = $3 \
              and s.state in ('available', 'scheduled', 'retryable') \
              and s.run_at <= $4::timestamptz and s.id <> $7 \
            order by s.fair_at \
            limit $6 \
            for update skip locked)) \
    returning j.id, j.args, j.attempt";

/// Untried: back in the queue at once, the attempt not spent.
const PUT_BACK_SQL: &str = "\
    update public.jobs set state = 'available', attempt = attempt - 1, finished_at = null, \
           attempted_by = null \
     where id = $1 and state = 'completed' and attempted_by = $2";

/// A failed attempt: retried at `$3`, or discarded when it was the last.
const FAIL_SQL: &str = "\
    update public.jobs \
       set state = case when attempt >= max_attempts then 'discarded' else 'retryable' end, \
           run_at = case when attempt >= max_attempts then run_at else $3 end, \
           finished_at = case when attempt >= max_attempts then $4::timestamptz end, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $4::timestamptz, 'error', $5::text)) \
     where id = $1 and state = 'completed' and attempted_by = $2";

/// A due job of the same tenant and kind, taken into a handler's unit of work.
#[derive(Debug, Clone)]
pub struct Sibling {
    pub id: i64,
    pub args: Value,
    /// 1 on its first run.
    pub attempt: i32,
    kind: String,
    worker: String,
}

impl JobContext {
    /// Takes due jobs of this job's tenant and kind into `tx`, this job's unit of work,
    /// each completed by its commit (see the module); as many as the runner's
    /// `together` setting allows, none when it is 0.
    pub async fn take_due_siblings(&self, tx: &TenantTx) -> Result<Vec<Sibling>, DomainError> {
        if self.together == 0 {
            return Ok(Vec::new());
        }
        let most = i64::try_from(self.together).unwrap_or(i64::MAX);
        let rows = tx
            .query(
                TAKE_SQL,
                &[
                    &self.job.tenant.0,
                    &self.job.kind,
                    &self.job.queue,
                    &self.clock.now(),
                    &self.worker_id,
                    &most,
                    &self.job.id,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| Sibling {
                id: row.get(0),
                args: row.get(1),
                attempt: row.get(2),
                kind: self.job.kind.clone(),
                worker: self.worker_id.clone(),
            })
            .collect())
    }

    /// Counts siblings that finished with this job's committed unit of work, in the
    /// runner's metrics (call after the commit).
    pub fn count_done_together(&self, done: usize) {
        self.metrics
            .finished
            .with_label_values(&[&self.job.kind, "completed"])
            .inc_by(done as u64);
    }
}

impl Sibling {
    /// The origin to audit what is done for this job under.
    pub fn origin(&self) -> Origin {
        Origin::job(self.id, self.kind.clone())
    }

    /// Hands it back untried (it was not due by its own arguments, or cannot be read
    /// here): available at once, the attempt not spent.
    pub async fn put_back(&self, tx: &TenantTx) -> Result<(), DomainError> {
        tx.execute(PUT_BACK_SQL, &[&self.id, &self.worker]).await?;
        Ok(())
    }

    /// Records a failed attempt (its work was rolled back to a savepoint): retried on
    /// the queue's schedule, discarded after its last attempt.
    pub async fn fail(
        &self,
        tx: &TenantTx,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<(), DomainError> {
        let delay = chrono::Duration::from_std(backoff::next_delay(self.attempt))
            .unwrap_or_else(|_| chrono::Duration::hours(6));
        let error = crate::validate::truncate(error, 2000);
        tx.execute(
            FAIL_SQL,
            &[&self.id, &self.worker, &(now + delay), &now, &error],
        )
        .await?;
        Ok(())
    }
}
