//! What can be done to teams, without HTTP: each function takes a tenant transaction,
//! who acts and where from, checks the role, audits, and leaves committing to its
//! caller. Reading is for everyone in the tenant; changing is for admins.

use serde_json::json;
use uuid::Uuid;

use super::model::{CreateTeam, MemberView, TeamName, TeamView, UpdateTeam, COLUMNS};
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::Page;
use crate::kernel::reads::delete_row;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, OnConstraint, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// Teams a tenant may have.
pub const MAX_TEAMS: i64 = 500;

fn name_taken() -> DomainError {
    DomainError::Conflict("name_taken", "a team with this name already exists".into())
}

fn audit_json(view: &TeamView) -> serde_json::Value {
    json!({"name": view.name, "description": view.description})
}

pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: CreateTeam,
) -> Result<TeamView, DomainError> {
    let name = TeamName::parse(&input.name)?;
    let description = validate::optional_text("description", input.description.as_deref(), 500)?
        .unwrap_or_default();
    actor.require(Role::Admin)?;
    let count: i64 = tx
        .query_one("select count(*) from teams", &[])
        .await?
        .get(0);
    if count >= MAX_TEAMS {
        return Err(DomainError::Conflict(
            "too_many_teams",
            format!("a tenant may have at most {MAX_TEAMS} teams"),
        ));
    }
    let row = tx
        .query_one(
            "with t as (insert into teams (name, description) values ($1, $2) \
                 returning id, name, description, created_at, updated_at) \
             select t.id, t.name, t.description, t.created_at, t.updated_at, 0::int8 from t",
            &[&name.as_str(), &description],
        )
        .await
        .on_constraint("teams_name_key", name_taken)?;
    let view = TeamView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "team",
            entity_id: Some(view.id),
            changes: audit_json(&view),
        },
    )
    .await?;
    Ok(view)
}

pub async fn list(tx: &TenantTx, actor: &Actor) -> Result<Page<TeamView>, DomainError> {
    actor.require(Role::Viewer)?;
    let rows = tx
        .query(
            &format!("select {COLUMNS} from teams t order by t.name"),
            &[],
        )
        .await?;
    Ok(Page::whole(rows.iter().map(TeamView::from).collect()))
}

/// One team with its members.
pub async fn get(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<TeamView, DomainError> {
    actor.require(Role::Viewer)?;
    let mut view = tx
        .query_opt(
            &format!("select {COLUMNS} from teams t where t.id = $1"),
            &[&id],
        )
        .await?
        .map(|row| TeamView::from(&row))
        .ok_or(DomainError::Missing("team"))?;
    let members = tx
        .query(
            "select u.id, u.email, u.display_name, m.added_at from team_members m \
             join users u on u.id = m.user_id where m.team_id = $1 order by u.email",
            &[&id],
        )
        .await?;
    view.members = Some(members.iter().map(MemberView::from).collect());
    Ok(view)
}

pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateTeam,
) -> Result<TeamView, DomainError> {
    let name = input.name.as_deref().map(TeamName::parse).transpose()?;
    let name = name.as_ref().map(TeamName::as_str);
    let description = match input.description.as_deref() {
        Some(text) => {
            Some(validate::optional_text("description", Some(text), 500)?.unwrap_or_default())
        }
        None => None,
    };
    actor.require(Role::Admin)?;
    let old = get(tx, actor, id).await?;
    tx.execute(
        "update teams set name = coalesce($2, name), description = coalesce($3, description), \
             updated_at = now() where id = $1",
        &[&id, &name, &description],
    )
    .await
    .on_constraint("teams_name_key", name_taken)?;
    let new = get(tx, actor, id).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "team",
            entity_id: Some(id),
            changes: changed_fields(&audit_json(&old), &audit_json(&new), &[]),
        },
    )
    .await?;
    Ok(new)
}

pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    // Only what the audit row needs; the memberships go with the team.
    let old = delete_row(
        tx,
        "delete from teams where id = $1 returning name, description",
        id,
        "team",
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "team",
            entity_id: Some(id),
            changes: json!({"name": old.get::<_, &str>(0), "description": old.get::<_, &str>(1)}),
        },
    )
    .await
}

/// Adds a user to a team; adding a member again changes nothing and records nothing.
pub async fn add_member(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    user: Uuid,
) -> Result<TeamView, DomainError> {
    actor.require(Role::Admin)?;
    get(tx, actor, id).await?;
    let known = tx
        .query_opt("select 1 from users where id = $1", &[&user])
        .await?;
    if known.is_none() {
        return Err(DomainError::Missing("user"));
    }
    let added = tx
        .execute(
            "insert into team_members (team_id, user_id) values ($1, $2) on conflict do nothing",
            &[&id, &user],
        )
        .await?;
    if added == 1 {
        audit::record(
            tx,
            actor,
            origin,
            Entry {
                action: "member_added",
                entity: "team",
                entity_id: Some(id),
                changes: json!({"user_id": user}),
            },
        )
        .await?;
    }
    get(tx, actor, id).await
}

pub async fn remove_member(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    user: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    let removed = tx
        .execute(
            "delete from team_members where team_id = $1 and user_id = $2",
            &[&id, &user],
        )
        .await?;
    if removed == 0 {
        return Err(DomainError::Missing("team member"));
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "member_removed",
            entity: "team",
            entity_id: Some(id),
            changes: json!({"user_id": user}),
        },
    )
    .await
}
