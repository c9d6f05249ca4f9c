//! Workflow definitions, without HTTP: saved (admins) as versions, so a run keeps the
//! version it started from, listed and read. Matching them against a contract or a
//! draft is in `matching`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{self, ApproverRef, DefinitionBody, StageBody, MAX_DEFINITIONS};
use super::rules::{self};
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::Page;
use crate::kernel::query::name_order;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, OnConstraint, Origin, Refusal, Role};
use crate::tenancy::scoped::TenantTx;

pub const COLUMNS: &str =
    "id, name, description, trigger_conditions, stages, priority, is_active, \
    allow_self_approval, version, created_at, updated_at";

/// A saved definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefinitionView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub trigger_conditions: Value,
    pub stages: Vec<StageBody>,
    pub priority: i32,
    pub is_active: bool,
    pub allow_self_approval: bool,
    /// Goes up by one with every save; runs keep the version they started from.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DefinitionView {
    pub fn from_row(row: &Row) -> Result<Self, DomainError> {
        let stages: Value = row.get("stages");
        Ok(Self {
            id: row.get("id"),
            name: row.get("name"),
            description: row.get("description"),
            trigger_conditions: row.get("trigger_conditions"),
            stages: serde_json::from_value(stages)
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("stored stages: {e}")))?,
            priority: row.get("priority"),
            is_active: row.get("is_active"),
            allow_self_approval: row.get("allow_self_approval"),
            version: row.get("version"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
        })
    }

    fn audit_json(&self) -> Value {
        json!({
            "name": self.name, "description": self.description,
            "trigger_conditions": self.trigger_conditions, "stages": self.stages,
            "priority": self.priority, "is_active": self.is_active,
            "allow_self_approval": self.allow_self_approval, "version": self.version,
        })
    }
}

fn name_taken() -> DomainError {
    DomainError::Conflict(
        "name_taken",
        "a workflow definition with this name already exists".into(),
    )
}

fn priority_taken(other: Option<String>) -> DomainError {
    DomainError::refused(
        Refusal::Conflict,
        "priority_taken",
        format!(
            "another active definition{} has this priority; the highest-priority match must be unambiguous",
            other
                .as_deref()
                .map(|n| format!(" ({:?})", validate::truncate(n, 60)))
                .unwrap_or_default()
        ),
        json!({ "other": other }),
    )
}

/// Refuses approvers and escalation teams that name no team or user of the tenant.
async fn check_references(tx: &TenantTx, body: &DefinitionBody) -> Result<(), DomainError> {
    let mut teams = Vec::new();
    let mut emails = Vec::new();
    for stage in &body.stages {
        for approver in &stage.approvers {
            match ApproverRef::parse(approver) {
                Some(ApproverRef::Team(name)) => teams.push(name),
                Some(ApproverRef::User(email)) => emails.push(email),
                _ => {}
            }
        }
        if let Some(escalation) = &stage.escalation {
            teams.push(escalation.team.clone());
        }
    }
    let row = tx
        .query_one(
            "select array(select name from teams where name = any($1)), \
                    array(select lower(email) from users where lower(email) = any($2) and active)",
            &[&teams, &emails],
        )
        .await?;
    let (known_teams, known_users): (Vec<String>, Vec<String>) = (row.get(0), row.get(1));
    let unknown = |path: String, what: String| {
        DomainError::refused(
            Refusal::Invalid,
            "invalid_input",
            format!("{path}: {what}"),
            json!({ "path": path }),
        )
    };
    for (i, stage) in body.stages.iter().enumerate() {
        for (j, approver) in stage.approvers.iter().enumerate() {
            let path = format!("stages[{i}].approvers[{j}]");
            match ApproverRef::parse(approver) {
                Some(ApproverRef::Team(name)) if !known_teams.contains(&name) => {
                    return Err(unknown(
                        path,
                        format!("no team named {name:?} (create it under /api/v1/teams, or name a user by email or a role)"),
                    ))
                }
                Some(ApproverRef::User(email)) if !known_users.contains(&email) => {
                    return Err(unknown(path, format!("no active user {email:?}")))
                }
                _ => {}
            }
        }
        if let Some(escalation) = &stage.escalation {
            if !known_teams.contains(&escalation.team) {
                return Err(unknown(
                    format!("stages[{i}].escalation.team"),
                    format!("no team named {:?}", escalation.team),
                ));
            }
        }
    }
    // An SLA is business time in the tenant's calendar: one the calendar cannot give
    // (a minute of work a week, holidays over decades) has no deadline to set.
    if body.stages.iter().any(|stage| stage.sla_hours.is_some()) {
        let business = crate::sla::calendar::load(tx).await?;
        let now = crate::kernel::unit::now(tx);
        for (i, stage) in body.stages.iter().enumerate() {
            if let Some(hours) = stage.sla_hours {
                if let Err(error) = crate::sla::calendar::deadline(&business, now, hours) {
                    return Err(unknown(
                        format!("stages[{i}].sla_hours"),
                        format!("the business calendar gives no deadline for it: {error}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

async fn check_priority(
    tx: &TenantTx,
    body: &DefinitionBody,
    except: Option<Uuid>,
) -> Result<(), DomainError> {
    if !body.is_active {
        return Ok(());
    }
    let other = tx
        .query_opt(
            "select name from workflow_definitions where priority = $1 and is_active \
             and ($2::uuid is null or id <> $2)",
            &[&body.priority, &except],
        )
        .await?;
    match other {
        Some(row) => Err(priority_taken(Some(row.get(0)))),
        None => Ok(()),
    }
}

/// The saved row, or the refusal a unique index gave (a race the checks before missed).
fn saved(result: Result<Row, tokio_postgres::Error>) -> Result<Row, DomainError> {
    result
        .on_constraint("workflow_definitions_name_key", name_taken)
        .map_err(|e| match e {
            DomainError::Conflict("duplicate", _) => priority_taken(None),
            other => other,
        })
}

async fn save_version(
    tx: &TenantTx,
    view: &DefinitionView,
    by: Option<Uuid>,
) -> Result<(), DomainError> {
    tx.execute(
        "insert into workflow_definition_versions (definition_id, version, snapshot, saved_by) \
         values ($1, $2, $3, $4)",
        &[&view.id, &view.version, &view.audit_json(), &by],
    )
    .await?;
    Ok(())
}

fn stages_json(body: &DefinitionBody) -> Value {
    serde_json::to_value(&body.stages).unwrap_or_default()
}

pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: DefinitionBody,
) -> Result<DefinitionView, DomainError> {
    let body = model::check(body)?;
    actor.require(Role::Admin)?;
    let count: i64 = tx
        .query_one("select count(*) from workflow_definitions", &[])
        .await?
        .get(0);
    if count >= MAX_DEFINITIONS {
        return Err(DomainError::Conflict(
            "too_many_definitions",
            format!("a tenant may have at most {MAX_DEFINITIONS} workflow definitions"),
        ));
    }
    check_references(tx, &body).await?;
    check_priority(tx, &body, None).await?;
    write(tx, actor, origin, None, body).await
}

/// Replaces a definition with a new version. Runs already started keep theirs.
pub async fn replace(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    body: DefinitionBody,
) -> Result<DefinitionView, DomainError> {
    let body = model::check(body)?;
    actor.require(Role::Admin)?;
    let old = lock(tx, id).await?;
    check_references(tx, &body).await?;
    check_priority(tx, &body, Some(id)).await?;
    write(tx, actor, origin, Some(old), body).await
}

/// Stores a checked definition, new (`old` is `None`) or as the next version of `old`,
/// with its version snapshot and its event.
async fn write(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    old: Option<DefinitionView>,
    body: DefinitionBody,
) -> Result<DefinitionView, DomainError> {
    let sql = if old.is_some() {
        "update workflow_definitions set name = $2, description = $3, trigger_conditions = $4, \
         stages = $5, priority = $6, is_active = $7, allow_self_approval = $8, updated_by = $9, \
         match_types = $10, match_min_value = $11::text::numeric, \
         version = version + 1, updated_at = now() where id = $1"
    } else {
        "insert into workflow_definitions (id, name, description, trigger_conditions, stages, priority, \
         is_active, allow_self_approval, created_by, updated_by, match_types, match_min_value) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11::text::numeric)"
    };
    let facts = rules::necessary_facts(&body.trigger_conditions);
    let id = old.as_ref().map_or_else(Uuid::new_v4, |old| old.id);
    let row = tx
        .query_one(
            &format!("{sql} returning {COLUMNS}"),
            &[
                &id,
                &body.name,
                &body.description.clone().unwrap_or_default(),
                &body.trigger_conditions,
                &stages_json(&body),
                &body.priority,
                &body.is_active,
                &body.allow_self_approval,
                &actor.user_id(),
                &facts.types,
                &facts.min_value,
            ],
        )
        .await;
    let view = DefinitionView::from_row(&saved(row)?)?;
    save_version(tx, &view, actor.user_id()).await?;
    let (action, changes) = match &old {
        None => ("create", view.audit_json()),
        Some(old) => (
            "update",
            changed_fields(&old.audit_json(), &view.audit_json(), &[]),
        ),
    };
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action,
            entity: "workflow",
            entity_id: Some(view.id),
            changes,
        },
    )
    .await?;
    Ok(view)
}

async fn lock(tx: &TenantTx, id: Uuid) -> Result<DefinitionView, DomainError> {
    let row = tx
        .query_opt(
            &format!("select {COLUMNS} from workflow_definitions where id = $1 for update"),
            &[&id],
        )
        .await?
        .ok_or(DomainError::Missing("workflow definition"))?;
    DefinitionView::from_row(&row)
}

/// Deletes a definition. Runs it started go on from their own copy.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    let old = lock(tx, id).await?;
    tx.execute("delete from workflow_definitions where id = $1", &[&id])
        .await
        .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "workflow",
            entity_id: Some(id),
            changes: old.audit_json(),
        },
    )
    .await
}

pub async fn list(tx: &TenantTx, actor: &Actor) -> Result<Page<DefinitionView>, DomainError> {
    actor.require(Role::Viewer)?;
    let rows = tx
        .query(
            &format!(
                "select {COLUMNS} from workflow_definitions order by is_active desc, priority desc, {}",
                name_order("name", "id")
            ),
            &[],
        )
        .await?;
    let items = rows
        .iter()
        .map(DefinitionView::from_row)
        .collect::<Result<_, _>>()?;
    Ok(Page::whole(items))
}

pub async fn get(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<DefinitionView, DomainError> {
    actor.require(Role::Viewer)?;
    let row = tx
        .query_opt(
            &format!("select {COLUMNS} from workflow_definitions where id = $1"),
            &[&id],
        )
        .await?
        .ok_or(DomainError::Missing("workflow definition"))?;
    DefinitionView::from_row(&row)
}

/// One saved version of a definition, as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionVersion {
    pub version: i32,
    #[schema(value_type = Object)]
    pub snapshot: Value,
    pub saved_by: Option<Uuid>,
    pub saved_at: DateTime<Utc>,
}

pub async fn versions(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<Page<DefinitionVersion>, DomainError> {
    actor.require(Role::Viewer)?;
    let rows = tx
        .query(
            "select version, snapshot, saved_by, saved_at from workflow_definition_versions \
             where definition_id = $1 order by version desc",
            &[&id],
        )
        .await?;
    if rows.is_empty() {
        return Err(DomainError::Missing("workflow definition"));
    }
    Ok(Page::whole(
        rows.iter()
            .map(|r| DefinitionVersion {
                version: r.get(0),
                snapshot: r.get(1),
                saved_by: r.get(2),
                saved_at: r.get(3),
            })
            .collect(),
    ))
}
