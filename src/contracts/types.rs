//! Contract types: eight built in, more per tenant, each with the clause categories
//! it requires.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::audit::{self, Entry};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::read_as;
use crate::kernel::validate::{self};
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

#[derive(Serialize, ToSchema)]
pub struct ContractTypeView {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) required_clause_categories: Vec<String>,
    pub(super) builtin: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/contract-types",
    tag = "contracts",
    params(PageQuery),
    responses(
        (status = 200, description = "This tenant's contract types, by key", body = Page<ContractTypeView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contract-types")]
pub async fn list_contract_types(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, DomainError> {
    let page = query.parse()?;
    let after: Option<String> = page.after()?;
    let (_, results) = read_as(
        &db,
        &user.principal(),
        Role::Viewer,
        &[(
            "select key, label, required_clause_categories, builtin from contract_types \
                 where $2::text is null or key > $2 order by key limit $1",
            &[&page.fetch(), &after],
        )],
    )
    .await?;
    let types: Vec<ContractTypeView> = results[0]
        .iter()
        .map(|row| ContractTypeView {
            key: row.get(0),
            label: row.get(1),
            required_clause_categories: row.get(2),
            builtin: row.get(3),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::keyset(types, &page, |t| t.key.clone())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContractType {
    /// `[a-z][a-z0-9_]{0,39}`, e.g. `reseller`.
    pub(super) key: String,
    pub(super) label: String,
    #[serde(default)]
    pub(super) required_clause_categories: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/contract-types",
    tag = "contracts",
    request_body = NewContractType,
    responses(
        (status = 201, description = "Added (admins: a tenant setting)", body = ContractTypeView),
        (status = 409, description = "duplicate key", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contract-types")]
pub async fn create_contract_type(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    body: Json<NewContractType>,
) -> Result<HttpResponse, DomainError> {
    let NewContractType {
        key,
        label,
        required_clause_categories,
    } = body.into_inner();
    let key_ok = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(DomainError::Validation(
            "key must be 1 to 40 of a-z, 0-9 and _, starting with a letter".into(),
        ));
    }
    let label = validate::text("label", &label, 100)?;
    let mut categories = Vec::new();
    for category in &required_clause_categories {
        categories.push(crate::clauses::category(category)?);
    }
    categories.sort();
    categories.dedup();
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Admin).await?;
    tx.execute(
        "insert into contract_types (key, label, required_clause_categories) values ($1, $2, $3)",
        &[&key, &label, &categories],
    )
    .await
    .map_err(DomainError::write)?;
    let view = ContractTypeView {
        key,
        label,
        required_clause_categories: categories,
        builtin: false,
    };
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "create",
            entity: "contract_type",
            entity_id: None,
            changes: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}
