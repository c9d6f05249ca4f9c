//! Jobs deferred behind a place that was taken (a webhook destination with its share of
//! deliveries in flight), brought forward when this process gives such a place back.
//!
//! A deferred job waits a delay long enough for a hanging receiver to time out, so
//! that it does not go round the queue every few milliseconds while the place stays
//! taken. A receiver that is only slow gives its places back well before that: without
//! this, its deliveries queued behind the share waited seconds while the places they
//! waited for stood free. Each place given back makes the oldest job this process
//! deferred behind it available at once; the delay stays the latest it runs (a job
//! deferred by another process, or behind a place another process holds).
//!
//! A place can also be held across the whole fleet ([`Places::hold_in_fleet`]): a row
//! in `public.job_places` per holder, with a lease, taken under a transaction's
//! advisory lock on the place so that two processes cannot both take the last one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::sql::{
    BRING_FORWARD_SQL, FLEET_PLACE_EXPIRED_SQL, FLEET_PLACE_HOLD_SQL, FLEET_PLACE_LOCK_SQL,
    FLEET_PLACE_RELEASE_SQL,
};
use crate::clock::SharedClock;
use crate::tenancy::connection::{RequestPool, Scope};
use crate::tenancy::TenancyError;

/// The most jobs remembered behind one place: beyond, the oldest are left to their
/// delay, so a place that stays taken for hours costs bounded memory.
const MOST_WAITING_PER_PLACE: usize = 10_000;

/// What a handler gives back a place through; cloned into every job's context.
#[derive(Clone)]
pub struct Places(Arc<Inner>);

struct Inner {
    /// Per place, the jobs deferred behind it (id and the attempt they were deferred
    /// at, so that a job that ran again meanwhile is not brought forward).
    waiting: Mutex<HashMap<String, VecDeque<(i64, i32)>>>,
    pool: RequestPool,
    clock: SharedClock,
    commit_mode: Option<&'static str>,
    wake: Arc<Notify>,
    /// The runner's worker id: a place this process gives back across the fleet is
    /// announced with it, so that its own listener passes the announcement by.
    worker_id: String,
}

/// How an announcement that a place held across the fleet was given back starts (on
/// the job channel, whose other notifications are empty): then the worker id that gave
/// it back and the place, split by a unit separator.
const PLACE_FREED: &str = "place freed\u{1f}";

impl Places {
    pub(super) fn new(
        pool: RequestPool,
        clock: SharedClock,
        commit_mode: Option<&'static str>,
        (wake, worker_id): (Arc<Notify>, String),
    ) -> Self {
        Self(Arc::new(Inner {
            waiting: Mutex::default(),
            pool,
            clock,
            commit_mode,
            wake,
            worker_id,
        }))
    }

    /// What a notification on the job channel means for this process: `Some(place)`
    /// when another process gave back a place held across the fleet (a job this
    /// process put off behind it may run now), `None` when it is anything else (new
    /// jobs), or this process's own announcement.
    pub(super) fn freed_elsewhere<'a>(&self, payload: &'a str) -> Option<Option<&'a str>> {
        freed_elsewhere(payload, &self.0.worker_id)
    }

    /// Job `id`, deferred behind `place` with `attempt` attempts spent, waits for it.
    pub(super) fn wait(&self, place: String, id: i64, attempt: i32) {
        let mut waiting = self.0.waiting.lock().expect("jobs waiting for places");
        let queue = waiting.entry(place).or_default();
        if queue.len() >= MOST_WAITING_PER_PLACE {
            queue.pop_front();
        }
        queue.push_back((id, attempt));
    }

    /// One place at `place` was given back: the oldest job deferred behind it that is
    /// still waiting becomes available, and the runner is woken to claim it. Runs in
    /// the background (it is called where a place is dropped); a failure leaves the
    /// job to its delay.
    pub fn given_back(&self, place: &str) {
        if !self
            .0
            .waiting
            .lock()
            .expect("jobs waiting for places")
            .contains_key(place)
        {
            return;
        }
        let places = self.clone();
        let place = place.to_owned();
        tokio::spawn(async move {
            if let Err(error) = places.bring_forward(&place).await {
                tracing::warn!(%place, error = %error, "bringing a deferred job forward failed; it runs after its delay");
            }
        });
    }

    /// Takes one of `cap` places at `place` across every process for job `job_id`,
    /// until `lease` from now at the latest; `None` when all `cap` are held. The place
    /// is given back when the [`FleetHold`] is dropped.
    pub async fn hold_in_fleet(
        &self,
        place: &str,
        job_id: i64,
        cap: usize,
        lease: std::time::Duration,
    ) -> Result<Option<FleetHold>, TenancyError> {
        // Its own task: a handler cut off while it waits (a timeout, a shutdown) must
        // not hand its connection back to the pool inside the transaction, holding
        // the place's lock. A hold taken for a handler already gone ends with its lease.
        let task = tokio::spawn(Self::take_in_fleet(
            self.clone(),
            place.to_owned(),
            job_id,
            (i64::try_from(cap).unwrap_or(i64::MAX), lease),
        ));
        let held = task
            .await
            .map_err(|error| TenancyError::Other(anyhow::anyhow!("taking a place: {error}")))??;
        Ok(held.then(|| FleetHold {
            places: self.clone(),
            place: place.to_owned(),
            job_id,
        }))
    }

    async fn take_in_fleet(
        self,
        place: String,
        job_id: i64,
        (cap, lease): (i64, std::time::Duration),
    ) -> Result<bool, TenancyError> {
        let conn = self.0.pool.get(None).await?;
        let now = self.0.clock.now();
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::hours(1));
        let in_transaction = Scope::public_transaction();
        conn.batch_execute("begin").await?;
        let held = async {
            // Serialised per place: the count below sees every hold committed before.
            conn.execute(in_transaction, FLEET_PLACE_LOCK_SQL, &[&place])
                .await?;
            conn.execute(in_transaction, FLEET_PLACE_EXPIRED_SQL, &[&place, &now])
                .await?;
            let taken = conn
                .query(
                    in_transaction,
                    FLEET_PLACE_HOLD_SQL,
                    &[&place, &job_id, &until, &cap],
                )
                .await?;
            Ok::<_, tokio_postgres::Error>(!taken.is_empty())
        }
        .await;
        let ended = conn
            .batch_execute(if held.is_ok() { "commit" } else { "rollback" })
            .await;
        let held = held?;
        ended?;
        Ok(held)
    }

    async fn bring_forward(&self, place: &str) -> Result<(), TenancyError> {
        let conn = self.0.pool.get(None).await?;
        loop {
            let next = {
                let mut waiting = self.0.waiting.lock().expect("jobs waiting for places");
                let Some(queue) = waiting.get_mut(place) else {
                    return Ok(());
                };
                let next = queue.pop_front();
                if queue.is_empty() {
                    waiting.remove(place);
                }
                next
            };
            let Some((id, attempt)) = next else {
                return Ok(());
            };
            let moved = conn
                .execute(
                    Scope::standalone(),
                    BRING_FORWARD_SQL,
                    &[&id, &attempt, &self.0.clock.now(), &self.0.commit_mode],
                )
                .await?;
            // A job already promoted by its delay, or claimed again, is passed by.
            if moved > 0 {
                self.0.wake.notify_one();
                return Ok(());
            }
        }
    }
}

/// See [`Places::freed_elsewhere`]; `own` is this process's worker id.
fn freed_elsewhere<'a>(payload: &'a str, own: &str) -> Option<Option<&'a str>> {
    let rest = payload.strip_prefix(PLACE_FREED)?;
    let (worker, place) = rest.split_once('\u{1f}')?;
    Some((worker != own).then_some(place))
}

fn announcement(worker_id: &str, place: &str) -> String {
    format!("{PLACE_FREED}{worker_id}\u{1f}{place}")
}

/// One place held across the fleet; given back when dropped: the row deleted and the
/// release announced on the job channel, for every other process to bring forward a
/// job it put off behind the place, then this process's own brought forward. A
/// process that dies holding it leaves the row to its lease.
pub struct FleetHold {
    places: Places,
    place: String,
    job_id: i64,
}

impl Drop for FleetHold {
    fn drop(&mut self) {
        let (places, place, job_id) = (self.places.clone(), self.place.clone(), self.job_id);
        tokio::spawn(async move {
            let released = async {
                let conn = places.0.pool.get(None).await?;
                let gone = conn
                    .execute(
                        Scope::standalone(),
                        FLEET_PLACE_RELEASE_SQL,
                        &[&place, &job_id],
                    )
                    .await?;
                // Once the delete committed, as a statement of its own: a notification
                // in a writing transaction holds a database-wide lock until its commit
                // is flushed, which would make every release wait for the others.
                if gone > 0 {
                    let announcement = announcement(&places.0.worker_id, &place);
                    conn.execute(
                        Scope::standalone(),
                        "select pg_notify($1, $2)",
                        &[&super::JOBS_CHANNEL, &announcement],
                    )
                    .await?;
                }
                Ok::<_, TenancyError>(())
            }
            .await;
            if let Err(error) = released {
                tracing::warn!(%place, error = %error, "giving back a place held across the fleet failed; it is held until its lease ends");
            }
            places.given_back(&place);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_given_back_elsewhere_is_told_from_new_jobs_and_from_ones_own() {
        let place = "webhook destination https://hooks.example:443";
        let said = announcement("worker-a", place);
        assert_eq!(freed_elsewhere(&said, "worker-b"), Some(Some(place)));
        assert_eq!(freed_elsewhere(&said, "worker-a"), Some(None), "its own");
        assert_eq!(freed_elsewhere("", "worker-b"), None, "new jobs");
        // A worker id cannot hold the separator, so a place may hold anything.
        let odd = announcement("worker-a", "a\u{1f}b");
        assert_eq!(freed_elsewhere(&odd, "worker-b"), Some(Some("a\u{1f}b")));
    }
}
