//! The document routes: a contract, and an invoice, as a PDF. The rendering lives in [`super::pdf`].

use actix_web::{get, web, HttpResponse};
use uuid::Uuid;

use super::invoice_pdf::invoice_pdf_bytes;
use super::pdf::contract_pdf_bytes;
use crate::web::error::ApiError;
use crate::web::error::AuthedRouteErrors;
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/pdf",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract as application/pdf"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/pdf")]
pub async fn contract_pdf(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let bytes = contract_pdf_bytes(&db, &user.principal(), id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"contract-{id}.pdf\""),
        ))
        .body(bytes))
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice as application/pdf"),
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
    let bytes = invoice_pdf_bytes(&db, &user.principal(), id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("content-disposition", "inline; filename=\"invoice.pdf\""))
        .body(bytes))
}
