//! Invoices over HTTP: thin handlers that parse, call the service as the caller, and
//! answer.

use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::{mailing, pdf, service};
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::Created;
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/invoice-settings",
    tag = "invoices",
    responses(
        (status = 200, description = "How the tenant numbers and times its invoices", body = InvoiceSettings),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoice-settings")]
pub async fn get_settings(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<InvoiceSettings>, ApiError> {
    Ok(Json(service::settings(&db, &user.principal()).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/invoice-settings",
    tag = "invoices",
    request_body = InvoiceSettings,
    responses(
        (status = 200, description = "Saved (admins; audited with what changed). A new `reminder_days` moves the reminders of the invoices sent and not yet overdue, in the background", body = InvoiceSettings),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/invoice-settings")]
pub async fn put_settings(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<InvoiceSettings>,
) -> Result<Json<InvoiceSettings>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::set_settings(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

/// Which invoices a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilters {
    #[param(pattern = "^(draft|sent|partly_paid|paid|overdue|void)$")]
    status: Option<String>,
    account_id: Option<Uuid>,
    contract_id: Option<Uuid>,
}

impl InvoiceFilters {
    fn filter(&self) -> service::InvoiceFilter<'_> {
        service::InvoiceFilter {
            status: self.status.as_deref(),
            account_id: self.account_id,
            contract_id: self.contract_id,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "invoices",
    params(InvoiceFilters, PageQuery),
    responses(
        (status = 200, description = "Invoices, newest first", body = Page<InvoiceView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices")]
pub async fn list_invoices(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<InvoiceFilters>,
) -> Result<Json<Page<InvoiceView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        service::list(&db, &user.principal(), &query.filters.filter(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices",
    tag = "invoices",
    request_body = NewInvoice,
    responses(
        (status = 201, description = "A draft with the next number of its period and its lines", body = InvoiceView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices")]
pub async fn create_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewInvoice>,
) -> Result<Created<InvoiceView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice with its lines and payments", body = InvoiceView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices/{id}")]
pub async fn get_invoice(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/invoices/{id}",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = UpdateInvoice,
    responses(
        (status = 200, description = "Updated", body = InvoiceView),
        (status = 409, description = "invalid_status: only a draft changes", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/invoices/{id}")]
pub async fn update_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateInvoice>,
) -> Result<Json<InvoiceView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/send",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "Sent: read-only but for payments and voiding; its reminder and overdue mark wait as timers", body = InvoiceView),
        (status = 409, description = "invalid_status: only a draft is sent", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices/{id}/send")]
pub async fn send_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<Json<InvoiceView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::send(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice as application/pdf, named by its number"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices/{id}/pdf")]
pub async fn invoice_pdf(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (name, bytes) = pdf::for_reader(&db, &user.principal(), id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"{name}\""),
        ))
        .body(bytes))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/emails",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = NewInvoiceEmail,
    responses(
        (status = 201, description = "Queued: mailed with its PDF by a job that retries through mail server outages; a draft is sent first. An address the mail server refuses does not keep it from the others: see the email's `delivered` and `refused`", body = InvoiceEmailView),
        (status = 409, description = "invalid_status: a void invoice is not mailed; too_many_emails: 10 a day per invoice", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices/{id}/emails")]
pub async fn email_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<NewInvoiceEmail>,
) -> Result<Created<InvoiceEmailView>, ApiError> {
    let id = id.into_inner();
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        mailing::request(tx, actor, &origin, id, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out).at(format!("/api/v1/invoices/{id}/emails")))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/emails",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "The invoice's emails, newest first, each with where it stands", body = Page<InvoiceEmailView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices/{id}/emails")]
pub async fn list_invoice_emails(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<InvoiceEmailView>>, ApiError> {
    let page = query.parse()?;
    Ok(Json(
        mailing::list(&db, &user.principal(), id.into_inner(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/payments",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = NewPayment,
    responses(
        (status = 200, description = "The invoice with the payment counted: paid in full, it is paid", body = InvoiceView),
        (status = 409, description = "overpayment: more than the balance; invalid_status: not sent", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices/{id}/payments")]
pub async fn pay_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<NewPayment>,
) -> Result<Json<InvoiceView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::pay(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/void",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = VoidInvoice,
    responses(
        (status = 200, description = "Void, keeping its number", body = InvoiceView),
        (status = 409, description = "has_payments; invalid_status: paid or void already", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices/{id}/void")]
pub async fn void_invoice(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<VoidInvoice>,
) -> Result<Json<InvoiceView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::void(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Invoice id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<crate::comments::CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices/{id}/comments")]
pub async fn list_invoice_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<crate::comments::CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = crate::kernel::target::Target::new(&INVOICE_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body = crate::comments::NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = crate::comments::CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/invoices/{id}/comments")]
pub async fn create_invoice_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<crate::comments::NewComment>,
) -> Result<Created<crate::comments::CommentView>, ApiError> {
    let target = crate::kernel::target::Target::new(&INVOICE_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/export",
    tag = "invoices",
    params(InvoiceFilters),
    responses(
        (status = 200, description = "The invoices the list shows with the same filters, newest first, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/invoices/export")]
pub async fn export_invoices(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<InvoiceFilters>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let all = service::list(
        &db,
        &user.principal(),
        &query.filter(),
        &PageRequest::export(),
    )
    .await?
    .into_export()?;
    response(
        "invoices.csv",
        &[
            "id",
            "number",
            "account_id",
            "contract_id",
            "currency",
            "status",
            "issue_date",
            "due_date",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "paid",
            "balance",
            "sent_at",
            "paid_at",
            "voided_at",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.number),
                v.account_id.to_string(),
                opt(&v.contract_id),
                v.currency.clone(),
                v.status.clone(),
                v.issue_date.to_string(),
                v.due_date.to_string(),
                v.subtotal.clone(),
                v.discount_total.clone(),
                v.tax_total.clone(),
                v.total.clone(),
                v.paid.clone(),
                v.balance.clone(),
                opt(&v.sent_at.map(|t| t.to_rfc3339())),
                opt(&v.paid_at.map(|t| t.to_rfc3339())),
                opt(&v.voided_at.map(|t| t.to_rfc3339())),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}
