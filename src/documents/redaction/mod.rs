//! Redaction of a contract's text: `service` finds what is sensitive (with the
//! kernel's pure finder, `sensitive`), previews, applies and keeps redacted copies and
//! the tenant's own patterns, `routes` serves them (the copy also as a PDF, rendered
//! from the redacted text alone), `language` keeps a copy stemmed in its contract's
//! language.

pub mod language;
pub mod routes;
pub mod service;
