//! Pactum's reading of meaning, all local: a sentence-embedding model run in process
//! ([`model`]), texts cut into passages a model can read whole ([`passages`]), and
//! vector search ([`index`]) with a memory budget all tenants share ([`cache`]). No
//! database and no HTTP: the server's intelligence area stores what this computes in
//! each tenant's schema and keys every index it loads by tenant.

pub mod approximate;
pub mod cache;
pub mod index;
pub mod model;
pub mod passages;
pub mod synthetic;

pub use model::{Embedder, BATCH, DIMENSIONS};
