//! Cases and their SLA policies over HTTP: thin handlers that parse, call the service
//! as the caller, and answer.

use actix_web::{delete, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::policies;
use super::service::{self, CaseFilter};
use crate::comments::{CommentView, NewComment};
use crate::kernel::actor::me_or_user;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::target::Target;
use crate::kernel::validate::priority;
use crate::web::error::{ApiError, AuthedRouteErrors};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

/// Which cases a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseFilters {
    /// `active` (new, open or pending), or one status.
    #[param(pattern = "^(active|new|open|pending|resolved|closed)$")]
    status: Option<String>,
    #[param(pattern = "^(low|normal|high|urgent)$")]
    priority: Option<String>,
    /// `me`, or a user's id.
    assignee: Option<String>,
    account_id: Option<Uuid>,
    contract_id: Option<Uuid>,
    /// Only cases that breached an SLA clock (true) or none (false).
    breached: Option<bool>,
}

impl CaseFilters {
    fn parse(&self, user: &AuthUser) -> Result<CaseFilter, ApiError> {
        let statuses = match self.status.as_deref() {
            None => None,
            Some("active") => Some(["new", "open", "pending"].map(String::from).to_vec()),
            Some(one) => Some(vec![status(one)?]),
        };
        Ok(CaseFilter {
            statuses,
            priority: self.priority.as_deref().map(priority).transpose()?,
            assignee_id: self
                .assignee
                .as_deref()
                .map(|text| me_or_user("assignee", text, user.principal().user_id()))
                .transpose()?,
            account_id: self.account_id,
            contract_id: self.contract_id,
            breached: self.breached,
        })
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    params(CaseFilters, PageQuery),
    responses(
        (status = 200, description = "Cases, newest first", body = Page<CaseView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/cases")]
pub async fn list_cases(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<CaseFilters>,
) -> Result<Json<Page<CaseView>>, ApiError> {
    let filter = query.filters.parse(&user)?;
    let page = query.page.parse()?;
    Ok(Json(
        service::list(&db, &user.principal(), &filter, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases",
    tag = "cases",
    request_body = NewCase,
    responses(
        (status = 201, description = "Opened with its first-response and resolution deadlines counted in the business calendar from now", body = CaseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/cases")]
pub async fn create_case(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewCase>,
) -> Result<Created<CaseView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/export",
    tag = "cases",
    params(CaseFilters),
    responses(
        (status = 200, description = "The cases the list shows with the same filters, newest first, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/cases/export")]
pub async fn export_cases(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<CaseFilters>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| opt(&t.map(|t| t.to_rfc3339()));
    let filter = query.parse(&user)?;
    let all = service::list(&db, &user.principal(), &filter, &PageRequest::export())
        .await?
        .into_export()?;
    response(
        "cases.csv",
        &[
            "id",
            "number",
            "subject",
            "account_id",
            "contract_id",
            "contact_id",
            "priority",
            "status",
            "assignee_id",
            "first_response_due_at",
            "first_responded_at",
            "first_response_breached_at",
            "resolution_due_at",
            "resolved_at",
            "resolution_breached_at",
            "escalated_at",
            "created_by",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                v.number.to_string(),
                cell(&v.subject),
                opt(&v.account_id),
                opt(&v.contract_id),
                opt(&v.contact_id),
                v.priority.clone(),
                v.status.clone(),
                opt(&v.assignee_id),
                v.first_response_due_at.to_rfc3339(),
                time(&v.first_responded_at),
                time(&v.first_response_breached_at),
                v.resolution_due_at.to_rfc3339(),
                time(&v.resolved_at),
                time(&v.resolution_breached_at),
                time(&v.escalated_at),
                opt(&v.created_by),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    tag = "cases",
    params(("id" = Uuid, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case with its SLA clocks", body = CaseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/cases/{id}")]
pub async fn get_case(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/cases/{id}",
    tag = "cases",
    params(("id" = Uuid, Path, description = "Case id")),
    request_body = UpdateCase,
    responses(
        (status = 200, description = "Changed by who opened it or its assignee or a manager", body = CaseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/cases/{id}")]
pub async fn update_case(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateCase>,
) -> Result<Json<CaseView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/cases/{id}",
    tag = "cases",
    params(("id" = Uuid, Path, description = "Case id")),
    responses(
        (status = 204, description = "Deleted by a manager with its comments and files and tasks and activities"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/cases/{id}")]
pub async fn delete_case(
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
    get,
    path = "/api/v1/cases/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Case id"), PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/cases/{id}/comments")]
pub async fn list_case_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = Target::new(&CASE_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Case id")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted; from anyone but who opened the case it is the first response", body = CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/cases/{id}/comments")]
pub async fn create_case_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<NewComment>,
) -> Result<Created<CommentView>, ApiError> {
    let target = Target::new(&CASE_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/case-sla-policies",
    tag = "cases",
    responses(
        (status = 200, description = "The SLA policy of each priority in business hours", body = SlaPolicies),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/case-sla-policies")]
pub async fn get_case_sla_policies(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<SlaPolicies>, ApiError> {
    Ok(Json(SlaPolicies {
        policies: policies::get(&db, &user.principal()).await?,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/case-sla-policies",
    tag = "cases",
    request_body = SlaPolicies,
    responses(
        (status = 200, description = "Replaced by an admin: one policy per priority; open cases keep their deadlines", body = SlaPolicies),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/case-sla-policies")]
pub async fn put_case_sla_policies(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<SlaPolicies>,
) -> Result<Json<SlaPolicies>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        policies::put(tx, actor, &origin, body.into_inner().policies).await
    })
    .await?;
    Ok(Json(SlaPolicies { policies: out }))
}
