//! Invoices to accounts, usually for a contract: lines with exact decimal amounts,
//! numbers per tenant without gaps or duplicates, payments, voiding that keeps the
//! number, the PDF, mailing it to the customer, and the due date's reminder and overdue
//! mark as timers.

pub mod due;
pub mod mailing;
pub mod model;
pub mod numbering;
pub mod pdf;
pub mod routes;
pub mod service;

use routes::*;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // Exports before the routes with `{id}`, which would take `export` for an id.
    cfg.service(export_invoices)
        .service(get_settings)
        .service(put_settings)
        .service(list_invoices)
        .service(create_invoice)
        .service(get_invoice)
        .service(update_invoice)
        .service(invoice_pdf)
        .service(send_invoice)
        .service(list_invoice_emails)
        .service(email_invoice)
        .service(pay_invoice)
        .service(void_invoice)
        .service(list_invoice_comments)
        .service(create_invoice_comment);
}

/// The reactions of this area: reminders mailed to the customer.
pub fn react_to(reactions: &mut crate::kernel::unit::Reactions) {
    mailing::react_to(reactions);
    crate::kernel::jobs::walk::react_to::<due::InvoiceTimers>(reactions);
}
