//! Timers worked out from a tenant's settings (09:00 in its time zone, so many days
//! before a date) go stale when the settings change: those already scheduled keep the
//! old time, and a day newly wanted is never added. A [`Walk`] names the settings its
//! timers follow and how to work out again the timers of a batch of its records; when
//! an event says one of those settings changed, [`Walking`] goes through every record
//! that may have timers, a batch to a transaction, each batch a job of its own, so a
//! tenant with a million records never holds one long transaction.

use std::future::Future;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{enqueue, BackgroundJob, JobContext, JobError, JobKind, NewJob};
use crate::actor::{Actor, Origin};
use crate::error::DomainError;
use crate::tenancy::scoped::TenantTx;
use crate::unit::{ReactionFuture, Reactions, Recorded};

/// Records whose timers follow some of the tenant's settings.
pub trait Walk: Send + Sync + 'static {
    /// The kind of the job that walks them (its name says whose timers it redoes).
    const KIND: JobKind;

    /// The settings the timers follow: each event that says some changed, with the
    /// fields of its `changes` that move a timer. Any other change starts no walk.
    const SETTINGS: &'static [(&'static str, &'static [&'static str])];

    /// Records one run works out.
    const BATCH: i64 = 500;

    /// The ids of the records that may have timers, in id order: those after `$2` (the
    /// nil id for the first batch, so that the bound is a range of the primary key in
    /// any plan, where `$2 is null or id > $2` reads from the first record every
    /// time), at most `$3`, with `$1` [`Self::STATUSES`].
    const IDS_SQL: &'static str;

    /// The statuses `IDS_SQL` takes as `$1` (those with timers, or those without).
    const STATUSES: &'static [&'static str];

    /// Cancels the pending timers of `ids` and schedules those that apply now.
    fn redo<'a>(
        tx: &'a TenantTx,
        ids: &'a [Uuid],
    ) -> impl Future<Output = Result<(), DomainError>> + Send + 'a;
}

/// One batch of a walk over `W`'s records; it enqueues the next batch in its own
/// transaction, so a walk that stops half-way resumes where it stopped.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "")]
pub struct Walking<W> {
    /// The last record the batch before this one reached.
    pub after: Option<Uuid>,
    #[serde(skip)]
    walk: PhantomData<fn() -> W>,
}

impl<W: Walk> Walking<W> {
    /// The batch after `after` (the first when `None`).
    pub fn after(after: Option<Uuid>) -> Self {
        Self {
            after,
            walk: PhantomData,
        }
    }

    /// The walk from the first record. Each change starts a walk of its own (one under
    /// way may have read the settings before the change), and walks do the same work
    /// however many there are, so they need no unique key.
    pub fn from_the_start() -> NewJob {
        Self::after(None).now()
    }
}

impl<W: Walk> BackgroundJob for Walking<W> {
    const KIND: JobKind = W::KIND;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let tx = ctx.db.begin().await?;
        let statuses: Vec<&str> = W::STATUSES.to_vec();
        let batch: Vec<Uuid> = tx
            .query(
                W::IDS_SQL,
                &[&statuses, &self.after.unwrap_or(Uuid::nil()), &W::BATCH],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        W::redo(&tx, &batch).await?;
        if let Some(&last) = batch.last().filter(|_| batch.len() as i64 == W::BATCH) {
            enqueue(&tx, vec![Self::after(Some(last)).now()]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Starts a walk over `W`'s records after each change of a setting its timers follow.
pub fn react_to<W: Walk>(reactions: &mut Reactions) {
    for (event_type, _) in W::SETTINGS {
        reactions.on(event_type, settings_changed::<W>);
    }
}

/// Whether `changes` (of an event of `event_type`) name a field that moves `W`'s
/// timers.
pub fn moves_timers<W: Walk>(event_type: &str, changes: &serde_json::Value) -> bool {
    W::SETTINGS
        .iter()
        .filter(|(listed, _)| *listed == event_type)
        .flat_map(|(_, fields)| fields.iter())
        .any(|field| changes.get(*field).is_some())
}

fn settings_changed<'a, W: Walk>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        if moves_timers::<W>(event.event_type, event.changes) {
            enqueue(tx, vec![Walking::<W>::from_the_start()]).await?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dated;

    impl Walk for Dated {
        const KIND: JobKind = super::super::NOOP;
        const SETTINGS: &'static [(&'static str, &'static [&'static str])] = &[
            ("defaults.updated", &["days", "zone"]),
            ("calendar.updated", &["zone"]),
        ];

        const IDS_SQL: &'static str = "select id from dated";
        const STATUSES: &'static [&'static str] = &[];

        async fn redo(_: &TenantTx, _: &[Uuid]) -> Result<(), DomainError> {
            Ok(())
        }
    }

    #[test]
    fn only_a_listed_field_of_a_listed_event_moves_timers() {
        let days = serde_json::json!({"days": {"old": [7], "new": [3]}});
        let brand = serde_json::json!({"brand": {"old": "a", "new": "b"}});
        assert!(moves_timers::<Dated>("defaults.updated", &days));
        assert!(!moves_timers::<Dated>("defaults.updated", &brand));
        assert!(!moves_timers::<Dated>("calendar.updated", &days));
        assert!(moves_timers::<Dated>(
            "calendar.updated",
            &serde_json::json!({"zone": {"old": "UTC", "new": "Europe/Paris"}})
        ));
        assert!(!moves_timers::<Dated>("contract.updated", &days));
    }

    #[test]
    fn a_batch_is_stored_as_where_it_resumes() {
        let second = Walking::<Dated>::after(Some(Uuid::nil()));
        let stored = second.args();
        assert_eq!(stored, serde_json::json!({"after": Uuid::nil()}));
        let back: Walking<Dated> = serde_json::from_value(stored).unwrap();
        assert_eq!(back.after, Some(Uuid::nil()));
        assert!(serde_json::from_value::<Walking<Dated>>(
            serde_json::json!({"after": null, "x": 1})
        )
        .is_err());
    }
}
