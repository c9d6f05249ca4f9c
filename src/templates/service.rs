//! What can be done with templates without HTTP: writes take a tenant transaction, who
//! acts and where from, and leave committing to their caller; reads take the tenant's
//! handle and the caller, and check the role in the same round trip.

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use crate::contracts;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::name_order;
use crate::kernel::reads::{delete_row, lock_row};
use crate::kernel::reads::{read_as, read_one_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::scoped::TenantTx;

/// Adds a template (managers). Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewTemplate,
) -> Result<TemplateView, DomainError> {
    let body = input;
    let name = validate::text("name", &body.name, 200)?;
    let text = validate::body("body", &body.body, contracts::MAX_BODY_CHARS)?;
    let names = template_variables(&text)?;
    actor.require(Role::Manager)?;
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
            &[&name, &body.contract_type, &text, &names, &actor.user_id()],
        )
        .await
        .map_err(DomainError::write)?;
    let view = TemplateView::from(&row);
    audit::record(tx, actor, origin,
        Entry {
            action: "create",
            entity: "template",
            entity_id: Some(view.id),
            changes: json!({"name": view.name, "contract_type": view.contract_type, "variables": view.variables}),
        },
    ).await?;
    Ok(view)
}

/// Changes a template (managers). Audited with the changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateTemplate,
) -> Result<TemplateView, DomainError> {
    let patch = input;
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
    actor.require(Role::Manager)?;
    let old: TemplateView = lock_row(
        tx,
        &format!("select {COLUMNS} from templates where id = $1 for update"),
        id,
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
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "template",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    Ok(new)
}

/// Deletes a template (managers). Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Manager)?;
    let row = delete_row(
        tx,
        "delete from templates where id = $1 returning id, name",
        id,
        "template",
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "template",
            entity_id: Some(row.get(0)),
            changes: json!({"name": row.get::<_, String>(1)}),
        },
    )
    .await?;
    Ok(())
}

/// Creates a contract from a template with its variables filled in (members and up). Audited on the new contract, as created and as generated.
pub async fn generate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: GenerateRequest,
) -> Result<contracts::ContractView, DomainError> {
    generate_with(tx, actor, origin, id, &BTreeMap::new(), input).await
}

/// [`generate`], with `known` values (a record's fields) for the variables the
/// template names and the request leaves out; the request's own win.
pub async fn generate_with(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    known: &BTreeMap<String, String>,
    input: GenerateRequest,
) -> Result<contracts::ContractView, DomainError> {
    let GenerateRequest {
        mut variables,
        mut contract,
    } = input;
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
    actor.require(Role::Member)?;
    let template = tx
        .query_opt(
            "select contract_type, body, id from templates where id = $1",
            &[&id],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("template"))?;
    let (template_type, template_body, template_id): (String, String, Uuid) =
        (template.get(0), template.get(1), template.get(2));
    for wanted in template_variables(&template_body)? {
        if let (false, Some(value)) = (variables.contains_key(&wanted), known.get(&wanted)) {
            variables.insert(wanted, value.clone());
        }
    }
    contract.body = fill(&template_body, &variables)?;
    if contract.body.chars().count() > contracts::MAX_BODY_CHARS {
        return Err(DomainError::Validation(
            "the filled template is longer than a contract body may be".into(),
        ));
    }
    if contract.contract_type.trim().is_empty() {
        contract.contract_type = template_type;
    }
    let created = contracts::insert_contract(tx, &actor.principal(), origin, contract).await?;
    audit::record(tx, actor, origin,
        Entry {
            action: "generate",
            entity: "contract",
            entity_id: Some(created.id),
            changes: json!({"template_id": template_id, "variables": variables.keys().collect::<Vec<_>>()}),
        },
    ).await?;
    Ok(created)
}

/// A page of templates by name.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    page: &PageRequest,
) -> Result<Page<TemplateView>, DomainError> {
    let (after_name, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let order = name_order("name", "id");
    let sql = format!(
        "select {COLUMNS}, lower(name) from templates \
         where ({order}) > (coalesce($2::text, ''), coalesce($3::uuid, '00000000-0000-0000-0000-000000000000')) \
         order by {order} limit $1"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&page.fetch(), &after_name, &after_id])],
    )
    .await?;
    Ok(Page::<TemplateView>::by_lowered_name(
        &results[0],
        page,
        |view| view.id,
    ))
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
