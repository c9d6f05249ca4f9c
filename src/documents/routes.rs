//! The document routes: a contract as a PDF. The rendering lives in [`super::pdf`].

use actix_web::{get, web, HttpResponse};
use uuid::Uuid;

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
