//! Redaction of a contract's text: `find` finds what is sensitive (pure), `service`
//! previews, applies and keeps redacted copies and the tenant's own patterns, `routes`
//! serves them (the copy also as a PDF, rendered from the redacted text alone).

pub mod find;
pub mod routes;
pub mod service;
