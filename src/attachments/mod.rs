//! Files attached to any record an area lets people attach files to (contracts, the
//! CRM's records):
//! they point at a `(kind, id)` target, never at an area. Bytes live in the kernel's
//! `storage::Store`: on local disk at `<PACTUM_UPLOAD_DIR>/<tenant id>/<attachment id>`
//! or in a bucket under `tenants/<tenant id>/`. The tenant comes from the request's
//! host and the name from a row of that tenant's own schema, so no path or id sent by a
//! client can reach another tenant's file. The client's file name is kept in the
//! database only.
//!
//! `model` is the data, `upload` receives the bytes, `service` the logic (no HTTP),
//! `text` reads a file's text and `reading` runs it as a job and serves the result,
//! `scan` asks ClamAV about each upload, `removal` removes deleted files by a job, `ocr` reads scans page by page (`files` names what it makes beside the original), `settings` holds the tenant's document settings, `language` the language a file's pages are stemmed in, `originals` who reads a redacted contract's original,
//! `routes` what belongs to attachments alone (download, text, change, delete),
//! `record_routes` files on any record named by kind and id (the CRM's records).

pub mod attach;
pub mod files;
pub mod language;
pub mod model;
pub mod ocr;
pub mod originals;
pub mod outcome;
pub mod reading;
pub mod record_routes;
pub mod removal;
pub mod routes;
pub mod scan;
pub mod service;
pub mod settings;
pub mod text;
pub mod upload;

pub use model::AttachmentView;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(record_routes::list_record_attachments)
        .service(record_routes::upload_record_attachment)
        .service(routes::download_attachment)
        .service(routes::download_searchable_pdf)
        .service(routes::attachment_link)
        .service(routes::get_document_settings)
        .service(routes::put_document_settings)
        .service(routes::attachment_text)
        .service(routes::attachment_text_pages)
        .service(routes::update_attachment)
        .service(routes::delete_attachment);
}
