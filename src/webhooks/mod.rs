//! Webhooks: tenant admins register endpoints (a URL, the event types wanted, a
//! secret), and every matching event (this area's reaction to every event, in the
//! transaction that records it) is delivered to each as a job: a JSON POST signed
//! the Standard Webhooks way, retried on a schedule that spans about a day, logged
//! per endpoint. Every event an endpoint wants is kept as a message: an endpoint that
//! has failed for days (5 by default) is disabled, its messages wait and are sent when
//! an admin enables it again, and the recover API sends again what ran out of
//! attempts. Destinations are checked at save and again after DNS resolution at
//! delivery time, with no proxy in between, so a name that resolves to a loopback,
//! private, link-local or metadata address is refused unless the operator allows it
//! (`PACTUM_WEBHOOK_ALLOW_PRIVATE`).

pub mod delivery;
pub mod model;
pub mod resend;
pub mod routes;
pub mod service;
pub mod signature;

pub use delivery::{delivery_job, Deliverer, WebhookDelivery, WEBHOOK_DELIVERY};
pub use model::{CreateWebhook, CreatedWebhook, DeliveryView, UpdateWebhook, WebhookView};
pub use resend::ResendBatch;
pub use routes::configure;
pub use service::react_to;
