//! Notifications (issue 14, in progress): the in-app inbox ([`inbox`],
//! `/api/v1/notifications`) filled by the [`notifier`] from events. Email, chat,
//! preferences, digests, real time and reminders come next.

pub mod inbox;
pub mod notifier;
pub mod routes;

pub use notifier::react_to;
pub use routes::configure;
