//! Webhooks: tenant admins register endpoints (a URL, the event types wanted, a
//! secret), and every matching event is delivered to each as a job: a JSON POST signed
//! the Standard Webhooks way, retried with backoff, logged per endpoint; an endpoint
//! that keeps failing is disabled until an admin enables it again. Destinations are
//! checked after DNS resolution, at delivery time, so a name that resolves to a
//! loopback, private, link-local or metadata address is refused unless the operator
//! allows it (`PACTUM_WEBHOOK_ALLOW_PRIVATE`).

pub mod delivery;
pub mod model;
pub mod routes;
pub mod service;
pub mod signature;

pub use delivery::{deliver_job, Deliverer};
pub use model::{CreateWebhook, CreatedWebhook, DeliveryView, UpdateWebhook, WebhookView};
pub use routes::configure;
