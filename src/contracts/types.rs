//! Contract types: eight built in, more per tenant, each with the clause categories
//! it requires.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service;
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::read_as;
use crate::kernel::Principal;
use crate::kernel::{DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::reply::Created;
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
) -> Result<Json<Page<ContractTypeView>>, DomainError> {
    Ok(Json(list(&db, &user.principal(), &query).await?))
}

/// A page of the tenant's contract types, by key.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &PageQuery,
) -> Result<Page<ContractTypeView>, DomainError> {
    let page = query.parse()?;
    let after: Option<String> = page.after()?;
    let (_, results) = read_as(
        db,
        principal,
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
    Ok(Page::keyset(types, &page, |t| t.key.clone()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContractType {
    /// `[a-z][a-z0-9_]{0,39}`, e.g. `reseller`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub(super) key: String,
    #[schema(min_length = 1, max_length = 100)]
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
) -> Result<Created<ContractTypeView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create_contract_type(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}
