//! Contract templates with named `{{variables}}`, and generating contracts from them.

pub mod service;

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::contracts::{self, CreateContract};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::reads::{read_as, read_one_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Origin, Refusal, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_templates)
        .service(create_template)
        .service(get_template)
        .service(update_template)
        .service(delete_template)
        .service(generate_contract);
}

const COLUMNS: &str =
    "id, name, contract_type, body, variables, created_by, created_at, updated_at";
const MAX_VARIABLES: usize = 200;
const MAX_VALUE_CHARS: usize = 10_000;

/// One piece of a template body.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits a body into text and `{{name}}` placeholders (`name`: a letter or `_`,
/// then letters, digits or `_`, at most 40; spaces inside the braces allowed).
fn parse(body: &str) -> Result<Vec<Piece<'_>>, DomainError> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            DomainError::Validation("a {{ in the template body is never closed with }}".into())
        })?;
        let name = after[..close].trim();
        let valid = (1..=40).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(DomainError::Validation(format!(
                "{{{{{}}}}} is not a valid variable name (letters, digits and _, up to 40)",
                validate::truncate(name, 40)
            )));
        }
        pieces.push(Piece::Variable(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

fn variables(pieces: &[Piece<'_>]) -> Vec<String> {
    let set: BTreeSet<&str> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Variable(name) => Some(*name),
            Piece::Text(_) => None,
        })
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

/// The variables a template body names, within the limit on their number.
fn template_variables(body: &str) -> Result<Vec<String>, DomainError> {
    let names = variables(&parse(body)?);
    if names.len() > MAX_VARIABLES {
        return Err(DomainError::Validation(format!(
            "a template names at most {MAX_VARIABLES} variables"
        )));
    }
    Ok(names)
}

/// Fills every placeholder, or lists what is missing and what was not asked for.
fn fill(body: &str, values: &BTreeMap<String, String>) -> Result<String, DomainError> {
    let pieces = parse(body)?;
    let wanted = variables(&pieces);
    let missing: Vec<&String> = wanted.iter().filter(|v| !values.contains_key(*v)).collect();
    let unknown: Vec<&String> = values.keys().filter(|k| !wanted.contains(k)).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "template_variables",
            format!(
                "template variables do not match: missing [{}], unknown [{}]",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                unknown
                    .iter()
                    .map(|s| validate::truncate(s, 40))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"missing": missing, "unknown": unknown}),
        ));
    }
    let mut out = String::with_capacity(body.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => out.push_str(&values[name]),
        }
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct TemplateView {
    id: Uuid,
    name: String,
    contract_type: String,
    body: String,
    /// The variables the body names, sorted.
    variables: Vec<String>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Row> for TemplateView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            contract_type: row.get(2),
            body: row.get(3),
            variables: row.get(4),
            created_by: row.get(5),
            created_at: row.get(6),
            updated_at: row.get(7),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/templates",
    tag = "templates",
    params(PageQuery),
    responses(
        (status = 200, description = "Templates by name", body = Page<TemplateView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/templates")]
pub async fn list_templates(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<TemplateView>>, DomainError> {
    Ok(Json(list(&db, &user.principal(), &query).await?))
}

/// A page of templates by name.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &PageQuery,
) -> Result<Page<TemplateView>, DomainError> {
    let page = query.parse()?;
    let (after_name, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let sql = format!(
        "select {COLUMNS}, lower(name) from templates \
         where $2::text is null or (lower(name), id) > ($2, $3::uuid) \
         order by lower(name), id limit $1"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&page.fetch(), &after_name, &after_id])],
    )
    .await?;
    let rows: Vec<(TemplateView, String)> = results[0]
        .iter()
        .map(|row| (TemplateView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, &page, |(view, name)| (name.clone(), view.id));
    Ok(page.map(|(view, _)| view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    contract_type: String,
    /// Text with `{{variable}}` placeholders.
    #[schema(max_length = 1000000)]
    body: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/templates",
    tag = "templates",
    request_body = NewTemplate,
    responses(
        (status = 201, description = "Created (managers)", body = TemplateView),
        (status = 409, description = "duplicate name", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/templates")]
pub async fn create_template(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    body: Json<NewTemplate>,
) -> Result<Created<TemplateView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = TemplateView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/templates/{id}")]
pub async fn get_template(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<Json<TemplateView>, DomainError> {
    Ok(Json(get(&db, &user.principal(), id.into_inner()).await?))
}

/// One template.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<TemplateView, DomainError> {
    let sql = format!("select {COLUMNS} from templates where id = $1");
    let view: TemplateView = read_one_as(db, principal, Role::Viewer, &sql, id, "template").await?;
    Ok(view)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    contract_type: Option<String>,
    /// New text; its variables are worked out again.
    #[schema(max_length = 1000000)]
    body: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = UpdateTemplate,
    responses(
        (status = 409, description = "duplicate name", body = ErrorBody),
        (status = 200, description = "Updated (managers)", body = TemplateView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/templates/{id}")]
pub async fn update_template(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<UpdateTemplate>,
) -> Result<Json<TemplateView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 204, description = "Deleted (managers)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/templates/{id}")]
pub async fn delete_template(
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
pub struct GenerateRequest {
    /// A value for every variable the template names, and nothing else.
    variables: BTreeMap<String, String>,
    /// The new contract's fields, as for `POST /api/v1/contracts`; `contract_type`
    /// defaults to the template's and `body` comes from the template.
    contract: CreateContract,
}

#[utoipa::path(
    post,
    path = "/api/v1/templates/{id}/generate",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = GenerateRequest,
    responses(
        (status = 201, description = "The generated contract", body = contracts::ContractView),
        (status = 400, description = "template_variables: details.missing and details.unknown", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/templates/{id}/generate")]
pub async fn generate_contract(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<GenerateRequest>,
) -> Result<Created<contracts::ContractView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::generate(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(contracts::created(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_filled_and_checked() {
        let body = "This agreement between {{ party }} and {{company}} ({{party}}).";
        assert_eq!(variables(&parse(body).unwrap()), ["company", "party"]);
        let values = BTreeMap::from([
            ("party".to_string(), "Acme".to_string()),
            ("company".to_string(), "Globex".to_string()),
        ]);
        assert_eq!(
            fill(body, &values).unwrap(),
            "This agreement between Acme and Globex (Acme)."
        );
        let partial = BTreeMap::from([
            ("party".to_string(), "Acme".to_string()),
            ("extra".to_string(), String::new()),
        ]);
        match fill(body, &partial).unwrap_err() {
            DomainError::Refused { code, details, .. } => {
                assert_eq!(code, "template_variables");
                assert_eq!(
                    details,
                    json!({"missing": ["company"], "unknown": ["extra"]})
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_placeholders_are_refused() {
        assert!(parse("{{ unclosed").is_err());
        assert!(parse("{{ two words }}").is_err());
        assert!(parse("{{}}").is_err());
        assert!(parse("{{1abc}}").is_err());
        assert_eq!(
            parse("no variables").unwrap(),
            [Piece::Text("no variables")]
        );
    }
}
