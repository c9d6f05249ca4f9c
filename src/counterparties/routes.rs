//! Counterparties over HTTP: thin handlers that parse, call the service as the caller,
//! and answer.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::service;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

/// Which counterparties a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CounterpartyFilters {
    /// Part of the name or email, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only the accounts this user owns.
    owner_id: Option<Uuid>,
    /// Only the accounts with this tag.
    #[param(max_length = 50)]
    tag: Option<String>,
    /// Only the accounts of this industry, case aside.
    #[param(max_length = 100)]
    industry: Option<String>,
    /// Only the accounts directly below this one.
    parent_id: Option<Uuid>,
}

impl CounterpartyFilters {
    fn filter(&self) -> service::CounterpartyFilter<'_> {
        service::CounterpartyFilter {
            q: self.q.as_deref(),
            owner_id: self.owner_id,
            tag: self.tag.as_deref(),
            industry: self.industry.as_deref(),
            parent_id: self.parent_id,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties",
    tag = "counterparties",
    params(CounterpartyFilters, PageQuery),
    responses(
        (status = 200, description = "Counterparties by name", body = Page<CounterpartyView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties")]
pub async fn list_counterparties(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<CounterpartyFilters>,
) -> Result<Json<Page<CounterpartyView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        service::list(&db, &user.principal(), &query.filters.filter(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/counterparties",
    tag = "counterparties",
    request_body = NewCounterparty,
    responses(
        (status = 201, description = "Created", body = CounterpartyView),
        (status = 409, description = "duplicate name", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/counterparties")]
pub async fn create_counterparty(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewCounterparty>,
) -> Result<Created<CounterpartyView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    responses(
        (status = 200, description = "The counterparty with its contacts", body = CounterpartyView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties/{id}")]
pub async fn get_counterparty(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<CounterpartyView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/counterparties/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    request_body = UpdateCounterparty,
    responses(
        (status = 409, description = "duplicate name", body = ErrorBody),
        (status = 200, description = "Updated", body = CounterpartyView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/counterparties/{id}")]
pub async fn update_counterparty(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateCounterparty>,
) -> Result<Json<CounterpartyView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/counterparties/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    responses(
        (status = 204, description = "Deleted, with its contacts"),
        (status = 409, description = "in_use: contracts name it", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/counterparties/{id}")]
pub async fn delete_counterparty(
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
    path = "/api/v1/counterparties/{id}/contacts",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    request_body = NewContact,
    responses(
        (status = 201, description = "A new contact, at this account and any others named", body = ContactView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/counterparties/{id}/contacts")]
pub async fn create_contact(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<NewContact>,
) -> Result<Created<ContactView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create_contact(tx, actor, &origin, Some(id.into_inner()), body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/contacts/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Removed, from every account it belonged to"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contacts/{id}")]
pub async fn delete_contact(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete_contact(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

/// Which contacts a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    /// Part of the name or of any email, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only the contacts of this account.
    account_id: Option<Uuid>,
}

impl ContactFilters {
    fn filter(&self) -> service::ContactFilter<'_> {
        service::ContactFilter {
            q: self.q.as_deref(),
            account_id: self.account_id,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/contacts",
    tag = "counterparties",
    params(ContactFilters, PageQuery),
    responses(
        (status = 200, description = "Contacts by name", body = Page<ContactView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contacts")]
pub async fn list_contacts(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<ContactFilters>,
) -> Result<Json<Page<ContactView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        service::list_contacts(&db, &user.principal(), &query.filters.filter(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contacts",
    tag = "counterparties",
    request_body = NewContact,
    responses(
        (status = 201, description = "Created, at the accounts named", body = ContactView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contacts")]
pub async fn create_standalone_contact(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewContact>,
) -> Result<Created<ContactView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create_contact(tx, actor, &origin, None, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/contacts/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 200, description = "The contact with the accounts it belongs to", body = ContactView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contacts/{id}")]
pub async fn get_contact(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ContactView>, ApiError> {
    Ok(Json(
        service::get_contact(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/contacts/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body = UpdateContact,
    responses(
        (status = 200, description = "Updated", body = ContactView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/contacts/{id}")]
pub async fn update_contact(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateContact>,
) -> Result<Json<ContactView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update_contact(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Counterparty id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<crate::comments::CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties/{id}/comments")]
pub async fn list_counterparty_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<crate::comments::CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = crate::kernel::target::Target::new(&COUNTERPARTY_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/counterparties/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    request_body = crate::comments::NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = crate::comments::CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/counterparties/{id}/comments")]
pub async fn create_counterparty_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<crate::comments::NewComment>,
) -> Result<Created<crate::comments::CommentView>, ApiError> {
    let target = crate::kernel::target::Target::new(&COUNTERPARTY_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/contacts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contact id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<crate::comments::CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contacts/{id}/comments")]
pub async fn list_contact_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<crate::comments::CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = crate::kernel::target::Target::new(&CONTACT_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body = crate::comments::NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = crate::comments::CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contacts/{id}/comments")]
pub async fn create_contact_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<crate::comments::NewComment>,
) -> Result<Created<crate::comments::CommentView>, ApiError> {
    let target = crate::kernel::target::Target::new(&CONTACT_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties/export",
    tag = "counterparties",
    params(CounterpartyFilters),
    responses(
        (status = 200, description = "The counterparties the list shows with the same filters, by name, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties/export")]
pub async fn export_counterparties(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<CounterpartyFilters>,
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
        "counterparties.csv",
        &[
            "id",
            "name",
            "kind",
            "email",
            "website",
            "billing_address",
            "shipping_address",
            "industry",
            "owner_id",
            "tags",
            "parent_id",
            "notes",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.name),
                v.kind.clone(),
                opt(&v.email),
                opt(&v.website),
                opt(&v.billing_address),
                opt(&v.shipping_address),
                opt(&v.industry),
                opt(&v.owner_id),
                cell(&v.tags.join(";")),
                opt(&v.parent_id),
                opt(&v.notes),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/contacts/export",
    tag = "counterparties",
    params(ContactFilters),
    responses(
        (status = 200, description = "The contacts the list shows with the same filters, by name, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contacts/export")]
pub async fn export_contacts(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ContactFilters>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let all = service::list_contacts(
        &db,
        &user.principal(),
        &query.filter(),
        &PageRequest::export(),
    )
    .await?
    .into_export()?;
    response(
        "contacts.csv",
        &[
            "id",
            "name",
            "emails",
            "phones",
            "title",
            "role",
            "account_ids",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.name),
                cell(&v.emails.join(";")),
                cell(&v.phones.join(";")),
                opt(&v.title),
                opt(&v.role),
                v.account_ids
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(";"),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}
