//! Every integration test in one binary: linking the whole crate once instead of once
//! per file is most of what an integration build costs on two cores.
//!
//! `support` is the database harness (shared with `tenantctl`'s CLI tests); `app` spawns
//! real servers on random ports and holds the typed request helpers; `clamav` a real
//! ClamAV daemon, `s3` a real S3-compatible server.

#[path = "support/app.rs"]
mod app;
#[path = "support/clamav.rs"]
mod clamav;
#[path = "support/s3.rs"]
mod s3;
mod support;

mod approvals;
mod auth;
mod contracts;
mod dependencies;
mod hostile;
mod intelligence;
mod jobs;
mod layers;
mod notifications;
mod openapi;
mod originals;
mod paging;
mod pooler;
mod proxy;
mod races;
mod scoped;
pub(crate) mod server;
mod services;
mod shared_redis;
mod teams;
mod tenancy;
mod users;
mod webhooks;
mod workflows;
