//! Notifications: the in-app inbox ([`inbox`], `/api/v1/notifications`) filled by the
//! [`notifier`] from events, of the [`kinds`] a user chooses channels for; email and chat [`delivery`] by job, shaped by each user's
//! [`preferences`] (critical types, quiet hours, digests); a live [`stream`] (SSE) fed
//! through Redis or PostgreSQL pub/sub; contract [`reminders`] as timers.

pub mod delivery;
mod email_batch;
pub mod inbox;
pub mod kinds;
pub mod mail;
pub mod notifier;
pub mod outlets;
pub mod preferences;
pub mod reminders;
pub mod routes;
pub mod smtp;
pub mod stream;

pub use routes::configure;

/// The reactions of this area: the notifier, and contract reminders rescheduled when
/// dates change.
pub fn react_to(reactions: &mut crate::kernel::unit::Reactions) {
    notifier::react_to(reactions);
    reminders::react_to(reactions);
}
