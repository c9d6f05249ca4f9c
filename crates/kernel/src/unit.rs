//! What a unit of work carries besides its transaction: the clock every deadline is
//! judged by, and the reactions that run when an event is recorded. The server and the
//! job runner attach one [`Unit`] to every tenant handle they make; services read it
//! back from the transaction, so a request, a job and a timer see the same time and the
//! same reactions, and a test moves the one clock.
//!
//! A reaction is how one area answers another's event inside the same transaction
//! (a contract submitted for review starts its workflow; a material edit voids the
//! round), without the area that records the event knowing who listens. A reaction that
//! fails fails the change that caused it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::actor::{Actor, Origin};
use super::clock::{self, SharedClock};
use super::error::DomainError;
use crate::tenancy::scoped::{TenantDb, TenantTx, UnitContext};

/// An event as its reactions see it, in the transaction that records it.
#[derive(Debug)]
pub struct Recorded<'a> {
    pub id: i64,
    /// `contract.status_changed`, `contract.updated`, ...
    pub event_type: &'a str,
    /// When it was recorded (the audit row's time).
    pub at: DateTime<Utc>,
    pub entity_id: Option<Uuid>,
    pub changes: &'a Value,
}

pub type ReactionFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DomainError>> + Send + 'a>>;

/// Reacts to one recorded event, in its transaction, as the actor who caused it.
pub type Reaction =
    for<'a> fn(&'a TenantTx, &'a Actor, &'a Origin, &'a Recorded<'a>) -> ReactionFuture<'a>;

/// Reactions by event type, and those to every event (which run first).
#[derive(Clone, Default)]
pub struct Reactions {
    by_type: HashMap<&'static str, Vec<Reaction>>,
    every: Vec<Reaction>,
}

impl Reactions {
    pub fn on(&mut self, event_type: &'static str, reaction: Reaction) -> &mut Self {
        self.by_type.entry(event_type).or_default().push(reaction);
        self
    }

    /// A reaction to every event, whatever its type (webhooks fan each event out to the
    /// endpoints that want it).
    pub fn on_every(&mut self, reaction: Reaction) -> &mut Self {
        self.every.push(reaction);
        self
    }

    fn to<'s>(&'s self, event_type: &str) -> impl Iterator<Item = &'s Reaction> {
        self.every.iter().chain(
            self.by_type
                .get(event_type)
                .map_or(&[][..], Vec::as_slice)
                .iter(),
        )
    }
}

/// The clock and reactions of a process.
pub struct Unit {
    pub clock: SharedClock,
    pub reactions: Reactions,
}

impl Unit {
    pub fn new(clock: SharedClock, reactions: Reactions) -> Arc<Self> {
        Arc::new(Self { clock, reactions })
    }

    /// `db`, carrying this unit into every transaction it opens.
    pub fn attach(self: &Arc<Self>, db: TenantDb) -> TenantDb {
        db.with_context(self.clone() as UnitContext)
    }
}

fn of(tx: &TenantTx) -> Option<&Unit> {
    unit_in(tx.context())
}

fn unit_in(context: Option<&UnitContext>) -> Option<&Unit> {
    context.and_then(|context| context.downcast_ref::<Unit>())
}

/// The unit's clock; the system's for a handle nothing was attached to (tools, tests of
/// the tenancy layer).
pub fn clock(tx: &TenantTx) -> SharedClock {
    of(tx).map_or_else(clock::system, |unit| unit.clock.clone())
}

/// "Now", by the unit's clock.
pub fn now(tx: &TenantTx) -> DateTime<Utc> {
    now_by(of(tx))
}

/// "Now", by the clock of the unit `db` carries into its transactions: for a statement
/// sent before any transaction is open (a read's role check).
pub fn now_for(db: &TenantDb) -> DateTime<Utc> {
    now_by(unit_in(db.context()))
}

fn now_by(unit: Option<&Unit>) -> DateTime<Utc> {
    unit.map_or_else(Utc::now, |unit| unit.clock.now())
}

/// Runs the reactions to `event`, one after another, in its transaction.
pub async fn react(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    event: &Recorded<'_>,
) -> Result<(), DomainError> {
    let Some(unit) = of(tx) else {
        return Ok(());
    };
    for reaction in unit.reactions.to(event.event_type) {
        reaction(tx, actor, origin, event).await?;
    }
    Ok(())
}
