//! Documents made from contracts: the PDF export.

pub mod pdf;

pub use pdf::configure;
