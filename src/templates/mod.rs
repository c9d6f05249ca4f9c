//! Contract templates with named `{{variables}}`, and generating contracts from them.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::contracts::{self, CreateContract};
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::{delete_row, lock_row, read_as, read_one_as};
use crate::kernel::validate;
use crate::kernel::{Actor, Origin, Refusal, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
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
) -> Result<HttpResponse, DomainError> {
    let page = query.parse()?;
    let (after_name, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let sql = format!(
        "select {COLUMNS}, lower(name) from templates \
         where $2::text is null or (lower(name), id) > ($2, $3::uuid) \
         order by lower(name), id limit $1"
    );
    let (_, results) = read_as(
        &db,
        &user.principal(),
        Role::Viewer,
        &[(&sql, &[&page.fetch(), &after_name, &after_id])],
    )
    .await?;
    let rows: Vec<(TemplateView, String)> = results[0]
        .iter()
        .map(|row| (TemplateView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, &page, |(view, name)| (name.clone(), view.id));
    Ok(HttpResponse::Ok().json(page.map(|(view, _)| view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    name: String,
    contract_type: String,
    /// Text with `{{variable}}` placeholders.
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
) -> Result<HttpResponse, DomainError> {
    let body = body.into_inner();
    let name = validate::text("name", &body.name, 200)?;
    let text = validate::body("body", &body.body, contracts::MAX_BODY_CHARS)?;
    let names = template_variables(&text)?;
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Manager).await?;
    tx.query_opt(
        "select 1 from contract_types where key = $1",
        &[&body.contract_type],
    )
    .await
    .map_err(DomainError::database)?
    .ok_or_else(|| DomainError::Validation("contract_type is not defined".into()))?;
    let row = tx
        .query_one(
            &format!(
                "insert into templates (name, contract_type, body, variables, created_by) \
                 values ($1, $2, $3, $4, $5) returning {COLUMNS}"
            ),
            &[&name, &body.contract_type, &text, &names, &user.claims.sub],
        )
        .await
        .map_err(DomainError::write)?;
    let view = TemplateView::from(&row);
    audit::record_and_commit(tx, &actor, &origin,
        Entry {
            action: "create",
            entity: "template",
            entity_id: Some(view.id),
            changes: json!({"name": view.name, "contract_type": view.contract_type, "variables": view.variables}),
        },
    ).await?;
    Ok(HttpResponse::Created().json(view))
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
) -> Result<HttpResponse, DomainError> {
    let sql = format!("select {COLUMNS} from templates where id = $1");
    let view: TemplateView = read_one_as(
        &db,
        &user.principal(),
        Role::Viewer,
        &sql,
        id.into_inner(),
        "template",
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    name: Option<String>,
    contract_type: Option<String>,
    /// New text; its variables are worked out again.
    body: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = UpdateTemplate,
    responses(
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
) -> Result<HttpResponse, DomainError> {
    let patch = body.into_inner();
    let name = patch
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 200))
        .transpose()?;
    let text = patch
        .body
        .as_deref()
        .map(|b| validate::body("body", b, contracts::MAX_BODY_CHARS))
        .transpose()?;
    let names = text.as_deref().map(template_variables).transpose()?;
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Manager).await?;
    let old: TemplateView = lock_row(
        &tx,
        &format!("select {COLUMNS} from templates where id = $1 for update"),
        id.into_inner(),
        "template",
    )
    .await?;
    if let Some(kind) = &patch.contract_type {
        tx.query_opt("select 1 from contract_types where key = $1", &[kind])
            .await
            .map_err(DomainError::database)?
            .ok_or_else(|| DomainError::Validation("contract_type is not defined".into()))?;
    }
    let row = tx
        .query_one(
            &format!(
                "update templates set name = coalesce($2, name), contract_type = coalesce($3, contract_type), \
                 body = coalesce($4, body), variables = coalesce($5, variables), updated_at = now() \
                 where id = $1 returning {COLUMNS}"
            ),
            &[&old.id, &name, &patch.contract_type, &text, &names],
        )
        .await
        .map_err(DomainError::write)?;
    let new = TemplateView::from(&row);
    let mut changes = changed_fields(&json!(old), &json!(new), &["updated_at", "body"]);
    if new.body != old.body {
        changes["body"] = json!({"old": format!("({} characters)", old.body.chars().count()),
            "new": format!("({} characters)", new.body.chars().count())});
    }
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "update",
            entity: "template",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(new))
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
) -> Result<HttpResponse, DomainError> {
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Manager).await?;
    let row = delete_row(
        &tx,
        "delete from templates where id = $1 returning id, name",
        id.into_inner(),
        "template",
    )
    .await?;
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "delete",
            entity: "template",
            entity_id: Some(row.get(0)),
            changes: json!({"name": row.get::<_, String>(1)}),
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
) -> Result<HttpResponse, DomainError> {
    let GenerateRequest {
        variables,
        mut contract,
    } = body.into_inner();
    if !contract.body.is_empty() {
        return Err(DomainError::Validation(
            "contract.body comes from the template; leave it out".into(),
        ));
    }
    if variables.len() > MAX_VARIABLES
        || variables
            .values()
            .any(|v| v.chars().count() > MAX_VALUE_CHARS || v.contains('\0'))
    {
        return Err(DomainError::Validation(format!(
            "at most {MAX_VARIABLES} variables of at most {MAX_VALUE_CHARS} characters each"
        )));
    }
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Member).await?;
    let template = tx
        .query_opt(
            "select contract_type, body, id from templates where id = $1",
            &[&id.into_inner()],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("template"))?;
    let (template_type, template_body, template_id): (String, String, Uuid) =
        (template.get(0), template.get(1), template.get(2));
    contract.body = fill(&template_body, &variables)?;
    if contract.body.chars().count() > contracts::MAX_BODY_CHARS {
        return Err(DomainError::Validation(
            "the filled template is longer than a contract body may be".into(),
        ));
    }
    if contract.contract_type.trim().is_empty() {
        contract.contract_type = template_type;
    }
    let created = contracts::insert_contract(&tx, &user.principal(), &origin, contract).await?;
    audit::record_and_commit(tx, &actor, &origin,
        Entry {
            action: "generate",
            entity: "contract",
            entity_id: Some(created.id),
            changes: json!({"template_id": template_id, "variables": variables.keys().collect::<Vec<_>>()}),
        },
    ).await?;
    Ok(contracts::created(&created))
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
