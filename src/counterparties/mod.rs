//! Counterparties (organisations or people contracts are made with) and their contacts.

pub mod service;

use actix_web::{delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::{lock_row, read_as};
use crate::kernel::validate::{self, nullable};
use crate::kernel::Principal;
use crate::kernel::{Actor, Origin, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_counterparties)
        .service(create_counterparty)
        .service(get_counterparty)
        .service(update_counterparty)
        .service(delete_counterparty)
        .service(create_contact)
        .service(delete_contact);
}

const COLUMNS: &str =
    "id, name, kind, email, website, address, notes, created_by, created_at, updated_at";

#[derive(Serialize, ToSchema)]
pub struct CounterpartyView {
    id: Uuid,
    name: String,
    /// `organisation` or `individual`.
    kind: String,
    email: Option<String>,
    website: Option<String>,
    address: Option<String>,
    notes: Option<String>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Present when one counterparty is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    contacts: Option<Vec<ContactView>>,
}

impl From<&Row> for CounterpartyView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            kind: row.get(2),
            email: row.get(3),
            website: row.get(4),
            address: row.get(5),
            notes: row.get(6),
            created_by: row.get(7),
            created_at: row.get(8),
            updated_at: row.get(9),
            contacts: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    id: Uuid,
    counterparty_id: Uuid,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    title: Option<String>,
}

impl From<&Row> for ContactView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            counterparty_id: row.get(1),
            name: row.get(2),
            email: row.get(3),
            phone: row.get(4),
            title: row.get(5),
        }
    }
}

fn kind(value: &str) -> Result<String, DomainError> {
    match value {
        "organisation" | "individual" => Ok(value.to_owned()),
        _ => Err(DomainError::Validation(
            "kind must be organisation or individual".into(),
        )),
    }
}

fn email(value: Option<&str>) -> Result<Option<String>, DomainError> {
    validate::optional_text("email", value, 254)?
        .map(|e| {
            crate::tenancy::Email::parse(&e)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| DomainError::Validation(e.to_string()))
        })
        .transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    name: String,
    #[schema(pattern = "^(organisation|individual)$")]
    kind: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 500)]
    website: Option<String>,
    #[schema(max_length = 2000)]
    address: Option<String>,
    #[schema(max_length = 10000)]
    notes: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CounterpartyQuery {
    /// Part of the name or email, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/counterparties",
    tag = "counterparties",
    params(CounterpartyQuery),
    responses(
        (status = 200, description = "Counterparties by name", body = Page<CounterpartyView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/counterparties")]
pub async fn list_counterparties(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<CounterpartyQuery>,
) -> Result<Json<Page<CounterpartyView>>, DomainError> {
    Ok(Json(list(&db, &user.principal(), &query).await?))
}

/// A page of counterparties by name, optionally matching `q`, for anyone who may read.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &CounterpartyQuery,
) -> Result<Page<CounterpartyView>, DomainError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let (after_name, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let pattern = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) if q.chars().count() > 200 => {
            return Err(DomainError::Validation(
                "q is longer than 200 characters".into(),
            ))
        }
        // LIKE's own wildcards in the search text match themselves.
        Some(q) => Some(format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )),
    };
    let sql = format!(
        "select {COLUMNS}, lower(name) from counterparties \
         where ($1::text is null or name ilike $1 or email ilike $1) \
           and ($3::text is null or (lower(name), id) > ($3, $4::uuid)) \
         order by lower(name), id limit $2"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&pattern, &page.fetch(), &after_name, &after_id])],
    )
    .await?;
    let rows: Vec<(CounterpartyView, String)> = results[0]
        .iter()
        .map(|row| (CounterpartyView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, &page, |(view, key)| (key.clone(), view.id));
    Ok(page.map(|(view, _)| view))
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
    db: TenantDb,
    origin: Origin,
    body: Json<NewCounterparty>,
) -> Result<Created<CounterpartyView>, DomainError> {
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
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<Json<CounterpartyView>, DomainError> {
    Ok(Json(get(&db, &user.principal(), id.into_inner()).await?))
}

/// One counterparty with its contacts.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<CounterpartyView, DomainError> {
    let sql = format!("select {COLUMNS} from counterparties where id = $1");
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (&sql, &[&id]),
            (
                "select id, counterparty_id, name, email, phone, title from contacts \
                 where counterparty_id = $1 order by lower(name), id",
                &[&id],
            ),
        ],
    )
    .await?;
    let mut view = results[0]
        .first()
        .map(CounterpartyView::from)
        .ok_or(DomainError::Missing("counterparty"))?;
    view.contacts = Some(results[1].iter().map(ContactView::from).collect());
    Ok(view)
}

async fn lock(tx: &TenantTx, id: Uuid) -> Result<CounterpartyView, DomainError> {
    lock_row(
        tx,
        &format!("select {COLUMNS} from counterparties where id = $1 for update"),
        id,
        "counterparty",
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    name: Option<String>,
    #[schema(pattern = "^(organisation|individual)$")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 254)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    website: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 10000)]
    notes: Option<Option<String>>,
}

fn patch_text(
    field: &str,
    patch: &Option<Option<String>>,
    old: &Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match patch {
        None => Ok(old.clone()),
        Some(value) => validate::optional_text(field, value.as_deref(), max),
    }
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
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<UpdateCounterparty>,
) -> Result<Json<CounterpartyView>, DomainError> {
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
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
) -> Result<NoContent, DomainError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 50)]
    phone: Option<String>,
    #[schema(max_length = 200)]
    title: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/counterparties/{id}/contacts",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Counterparty id")),
    request_body = NewContact,
    responses(
        (status = 201, description = "Added", body = ContactView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/counterparties/{id}/contacts")]
pub async fn create_contact(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<NewContact>,
) -> Result<Created<ContactView>, DomainError> {
    let tx = db.begin().await?;
    let actor = Actor::resolve(&tx, &user.principal()).await?;
    let out =
        service::create_contact(&tx, &actor, &origin, id.into_inner(), body.into_inner()).await?;
    tx.commit().await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/contacts/{id}",
    tag = "counterparties",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Removed"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contacts/{id}")]
pub async fn delete_contact(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
) -> Result<NoContent, DomainError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete_contact(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}
