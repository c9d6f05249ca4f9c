//! The clause library: reusable clauses by category, attached to contracts; similar
//! clauses by trigram similarity; and the check that a contract carries every clause
//! category its type requires.

pub mod service;

use actix_web::{delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::contracts::{lock_editable_contract, read_contract_rows};
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::{read_as, read_one_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_clauses)
        .service(create_clause)
        .service(get_clause)
        .service(update_clause)
        .service(delete_clause)
        .service(similar_clauses)
        .service(contract_clauses)
        .service(attach_clause)
        .service(detach_clause)
        .service(validate_clauses);
}

pub const CATEGORIES: [&str; 12] = [
    "payment",
    "liability",
    "confidentiality",
    "termination",
    "indemnity",
    "governing_law",
    "intellectual_property",
    "warranty",
    "force_majeure",
    "data_protection",
    "dispute_resolution",
    "other",
];

pub fn category(value: &str) -> Result<String, DomainError> {
    CATEGORIES
        .iter()
        .find(|c| **c == value)
        .map(|c| (*c).to_owned())
        .ok_or_else(|| {
            DomainError::Validation(format!(
                "category {:?} is not one of {}",
                validate::truncate(value, 40),
                CATEGORIES.join(", ")
            ))
        })
}

const COLUMNS: &str = "id, title, category, body, created_by, created_at, updated_at";
const MAX_CLAUSE_CHARS: usize = 100_000;

#[derive(Serialize, ToSchema)]
pub struct ClauseView {
    id: Uuid,
    title: String,
    category: String,
    body: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Row> for ClauseView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            title: row.get(1),
            category: row.get(2),
            body: row.get(3),
            created_by: row.get(4),
            created_at: row.get(5),
            updated_at: row.get(6),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClauseQuery {
    /// Only clauses of this category.
    category: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses",
    tag = "clauses",
    params(ClauseQuery),
    responses(
        (status = 200, description = "Clauses by category and title", body = Page<ClauseView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses")]
pub async fn list_clauses(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<ClauseQuery>,
) -> Result<Json<Page<ClauseView>>, DomainError> {
    Ok(Json(list(&db, &user.principal(), &query).await?))
}

/// A page of the clause library, by category and title.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &ClauseQuery,
) -> Result<Page<ClauseView>, DomainError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let (after_category, after_title, after_id) = match page.after::<(String, String, Uuid)>()? {
        Some((category, title, id)) => (Some(category), Some(title), Some(id)),
        None => (None, None, None),
    };
    let category = query.category.as_deref().map(category).transpose()?;
    let sql = format!(
        "select {COLUMNS}, lower(title) from clauses \
         where ($1::text is null or category = $1) \
           and ($3::text is null or (category, lower(title), id) > ($3, $4, $5::uuid)) \
         order by category, lower(title), id limit $2"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(
            &sql,
            &[
                &category,
                &page.fetch(),
                &after_category,
                &after_title,
                &after_id,
            ],
        )],
    )
    .await?;
    let rows: Vec<(ClauseView, String)> = results[0]
        .iter()
        .map(|row| (ClauseView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, &page, |(view, title)| {
        (view.category.clone(), title.clone(), view.id)
    });
    Ok(page.map(|(view, _)| view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClause {
    #[schema(min_length = 1, max_length = 300)]
    title: String,
    category: String,
    #[schema(min_length = 1, max_length = 100000)]
    body: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/clauses",
    tag = "clauses",
    request_body = NewClause,
    responses(
        (status = 201, description = "Added to the library", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/clauses")]
pub async fn create_clause(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    body: Json<NewClause>,
) -> Result<Created<ClauseView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    responses(
        (status = 200, description = "The clause", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}")]
pub async fn get_clause(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<Json<ClauseView>, DomainError> {
    Ok(Json(get(&db, &user.principal(), id.into_inner()).await?))
}

/// One clause of the library.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<ClauseView, DomainError> {
    let sql = format!("select {COLUMNS} from clauses where id = $1");
    let view: ClauseView = read_one_as(db, principal, Role::Viewer, &sql, id, "clause").await?;
    Ok(view)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClause {
    #[schema(min_length = 1, max_length = 300)]
    title: Option<String>,
    category: Option<String>,
    #[schema(min_length = 1, max_length = 100000)]
    body: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    request_body = UpdateClause,
    responses(
        (status = 200, description = "Updated (its author, or a manager)", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/clauses/{id}")]
pub async fn update_clause(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<UpdateClause>,
) -> Result<Json<ClauseView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    responses(
        (status = 204, description = "Removed from the library"),
        (status = 409, description = "in_use: attached to contracts", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/clauses/{id}")]
pub async fn delete_clause(
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

#[derive(Serialize, ToSchema)]
pub struct SimilarClause {
    id: Uuid,
    title: String,
    category: String,
    /// Trigram similarity, 0 to 1.
    similarity: f32,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// Lowest similarity to report (default 0.3).
    #[param(minimum = 0.1, maximum = 1.0)]
    threshold: Option<f32>,
    /// Page size (default 10).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}/similar",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id"), SimilarQuery),
    responses(
        (status = 200, description = "Other clauses with similar text, most similar first", body = Page<SimilarClause>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}/similar")]
pub async fn similar_clauses(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<Page<SimilarClause>>, DomainError> {
    Ok(Json(
        similar(&db, &user.principal(), id.into_inner(), &query).await?,
    ))
}

/// Other clauses whose text is like this one's, most similar first.
pub async fn similar(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    query: &SimilarQuery,
) -> Result<Page<SimilarClause>, DomainError> {
    let threshold = query.threshold.unwrap_or(0.3);
    if !(0.1..=1.0).contains(&threshold) {
        return Err(DomainError::Validation("threshold must be 0.1 to 1".into()));
    }
    // Ranked by similarity: paged by offset.
    let page = PageRequest::parse(query.limit.or(Some(10)), query.cursor.as_deref(), 50)?;
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from clauses where id = $1", &[&id]),
            (
                "select c.id, c.title, c.category, similarity(c.body, me.body) as score \
                 from clauses me join clauses c on c.id <> me.id \
                 where me.id = $1 and similarity(c.body, me.body) >= $2 \
                 order by score desc, c.id limit $3 offset $4",
                &[&id, &threshold, &page.fetch(), &page.offset()?],
            ),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("clause"));
    }
    let similar: Vec<SimilarClause> = results[1]
        .iter()
        .map(|row| SimilarClause {
            id: row.get(0),
            title: row.get(1),
            category: row.get(2),
            similarity: row.get(3),
        })
        .collect();
    Ok(Page::offset(similar, &page))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "Clauses attached to the contract, in order", body = Page<ClauseView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/clauses")]
pub async fn contract_clauses(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<ClauseView>>, DomainError> {
    Ok(Json(
        on_contract(&db, &user.principal(), id.into_inner(), &query).await?,
    ))
}

/// The clauses attached to a contract, in order.
pub async fn on_contract(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    query: &PageQuery,
) -> Result<Page<ClauseView>, DomainError> {
    // By position, which clients choose and may repeat: paged by offset.
    let page = query.parse()?;
    let rows = read_contract_rows(
        db,
        principal,
        id,
        "select c.id, c.title, c.category, c.body, c.created_by, c.created_at, c.updated_at \
                 from contract_clauses cc join clauses c on c.id = cc.clause_id \
                 where cc.contract_id = $1 order by cc.position, cc.added_at, c.id \
                 limit $2 offset $3",
        &[&page.fetch(), &page.offset()?],
    )
    .await?;
    let list: Vec<ClauseView> = rows.iter().map(ClauseView::from).collect();
    Ok(Page::offset(list, &page))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachClause {
    clause_id: Uuid,
    /// Order within the contract (default: after the others).
    #[schema(minimum = 0, maximum = 10000)]
    position: Option<i32>,
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = AttachClause,
    responses(
        (status = 204, description = "Attached (idempotent)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/clauses")]
pub async fn attach_clause(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<AttachClause>,
) -> Result<NoContent, DomainError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::attach(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    delete,
    path = "/api/v1/contracts/{id}/clauses/{clause_id}",
    tag = "clauses",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("clause_id" = Uuid, Path, description = "Clause id")
    ),
    responses(
        (status = 204, description = "Detached"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contracts/{id}/clauses/{clause_id}")]
pub async fn detach_clause(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<NoContent, DomainError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::detach(tx, actor, &origin, path.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[derive(Serialize, ToSchema)]
pub struct ClauseValidation {
    contract_type: String,
    required: Vec<String>,
    present: Vec<String>,
    missing: Vec<String>,
    /// True when nothing is missing.
    complete: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/validate-clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "Required clause categories and which are missing", body = ClauseValidation),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/validate-clauses")]
pub async fn validate_clauses(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<Json<ClauseValidation>, DomainError> {
    Ok(Json(
        validate(&db, &user.principal(), id.into_inner()).await?,
    ))
}

/// Which clause categories the contract's type requires, and which it lacks.
pub async fn validate(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<ClauseValidation, DomainError> {
    let (_, results) = read_as(db, principal, Role::Viewer, &[(
                "select t.key, t.required_clause_categories from contracts c \
                 join contract_types t on t.key = c.contract_type where c.id = $1",
                &[&id],
            ),
            (
                "select distinct cl.category from contract_clauses cc join clauses cl on cl.id = cc.clause_id \
                 where cc.contract_id = $1 order by 1",
                &[&id],
            )]).await?;
    let row = results[0].first().ok_or(DomainError::Missing("contract"))?;
    let (contract_type, required): (String, Vec<String>) = (row.get(0), row.get(1));
    let present: Vec<String> = results[1].iter().map(|r| r.get(0)).collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|c| !present.contains(c))
        .cloned()
        .collect();
    Ok(ClauseValidation {
        complete: missing.is_empty(),
        contract_type,
        required,
        present,
        missing,
    })
}
