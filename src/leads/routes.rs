//! Leads over HTTP: thin handlers that parse, call the service as the caller, and
//! answer.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::service;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

/// Which leads a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadFilters {
    /// Part of the name, company or email, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    #[param(pattern = "^(new|contacted|qualified|lost|converted)$")]
    status: Option<String>,
    owner_id: Option<Uuid>,
    #[param(max_length = 50)]
    source: Option<String>,
}

impl LeadFilters {
    fn filter(&self) -> service::LeadFilter<'_> {
        service::LeadFilter {
            q: self.q.as_deref(),
            status: self.status.as_deref(),
            owner_id: self.owner_id,
            source: self.source.as_deref(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/leads",
    tag = "leads",
    params(LeadFilters, PageQuery),
    responses(
        (status = 200, description = "Leads, newest first", body = Page<LeadView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/leads")]
pub async fn list_leads(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<LeadFilters>,
) -> Result<Json<Page<LeadView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        service::list(&db, &user.principal(), &query.filters.filter(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/leads",
    tag = "leads",
    request_body = NewLead,
    responses(
        (status = 201, description = "Created", body = LeadView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/leads")]
pub async fn create_lead(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewLead>,
) -> Result<Created<LeadView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/leads/{id}",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses(
        (status = 200, description = "The lead", body = LeadView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/leads/{id}")]
pub async fn get_lead(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<LeadView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/leads/{id}",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = UpdateLead,
    responses(
        (status = 200, description = "Updated", body = LeadView),
        (status = 409, description = "lead_converted: a converted lead is read-only", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/leads/{id}")]
pub async fn update_lead(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateLead>,
) -> Result<Json<LeadView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/leads/{id}",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "lead_converted: a converted lead is read-only", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/leads/{id}")]
pub async fn delete_lead(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    post,
    path = "/api/v1/leads/{id}/convert",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = ConvertLead,
    responses(
        (status = 200, description = "Converted in one transaction: the account given, matched by domain or name, or created; the contact matched by email or created; the new opportunity", body = Converted),
        (status = 409, description = "lead_converted: converted already; lead_lost; ambiguous_account: several accounts share the lead's domain, details list them", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/leads/{id}/convert")]
pub async fn convert_lead(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<ConvertLead>,
) -> Result<Json<Converted>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::convert(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/leads/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Lead id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<crate::comments::CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/leads/{id}/comments")]
pub async fn list_lead_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<crate::comments::CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = crate::kernel::target::Target::new(&LEAD_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/leads/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = crate::comments::NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = crate::comments::CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/leads/{id}/comments")]
pub async fn create_lead_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<crate::comments::NewComment>,
) -> Result<Created<crate::comments::CommentView>, ApiError> {
    let target = crate::kernel::target::Target::new(&LEAD_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/leads/export",
    tag = "leads",
    params(LeadFilters),
    responses(
        (status = 200, description = "The leads the list shows with the same filters, newest first, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/leads/export")]
pub async fn export_leads(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<LeadFilters>,
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
        "leads.csv",
        &[
            "id",
            "name",
            "company",
            "email",
            "phone",
            "website",
            "source",
            "status",
            "lost_reason",
            "owner_id",
            "score",
            "converted_at",
            "account_id",
            "contact_id",
            "opportunity_id",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.name),
                opt(&v.company),
                opt(&v.email),
                opt(&v.phone),
                opt(&v.website),
                opt(&v.source),
                v.status.clone(),
                opt(&v.lost_reason),
                opt(&v.owner_id),
                v.score.to_string(),
                opt(&v.converted_at.map(|t| t.to_rfc3339())),
                opt(&v.account_id),
                opt(&v.contact_id),
                opt(&v.opportunity_id),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}
