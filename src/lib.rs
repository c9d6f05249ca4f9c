//! Pactum: a multi-tenant contract lifecycle management server, one PostgreSQL schema
//! per tenant. The server binary and `tenantctl` are thin layers over this library.

pub mod auth;
pub mod clm;
pub mod config;
pub mod db;
pub mod http;
pub mod shared;
pub mod telemetry;
pub mod tenancy;
