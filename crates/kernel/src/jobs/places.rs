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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::sql::BRING_FORWARD_SQL;
use crate::clock::SharedClock;
use crate::tenancy::connection::{RequestPool, Scope};

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
}

impl Places {
    pub(super) fn new(
        pool: RequestPool,
        clock: SharedClock,
        commit_mode: Option<&'static str>,
        wake: Arc<Notify>,
    ) -> Self {
        Self(Arc::new(Inner {
            waiting: Mutex::default(),
            pool,
            clock,
            commit_mode,
            wake,
        }))
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

    async fn bring_forward(&self, place: &str) -> Result<(), crate::tenancy::TenancyError> {
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
