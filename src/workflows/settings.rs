//! The tenant's workflow setting, and out-of-office delegates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::audit::{self, Entry};
use crate::kernel::{unit, Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// What submitting a contract no definition matches does.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// `manager_approval` (default: a manager approves it directly, as without
    /// workflows) or `refuse` (the submission is refused with 409 `no_workflow_matches`).
    pub unmatched: String,
}

pub async fn unmatched(tx: &TenantTx) -> Result<String, DomainError> {
    Ok(tx
        .query_opt("select unmatched from workflow_settings", &[])
        .await?
        .map_or_else(|| "manager_approval".to_owned(), |r| r.get(0)))
}

pub async fn get(tx: &TenantTx, actor: &Actor) -> Result<WorkflowSettings, DomainError> {
    actor.require(Role::Viewer)?;
    Ok(WorkflowSettings {
        unmatched: unmatched(tx).await?,
    })
}

pub async fn put(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: WorkflowSettings,
) -> Result<WorkflowSettings, DomainError> {
    if !["manager_approval", "refuse"].contains(&body.unmatched.as_str()) {
        return Err(DomainError::Validation(
            "unmatched: manager_approval or refuse".into(),
        ));
    }
    actor.require(Role::Admin)?;
    let old = unmatched(tx).await?;
    tx.execute(
        "insert into workflow_settings (unmatched, updated_at) values ($1, $2) \
         on conflict (id) do update set unmatched = excluded.unmatched, updated_at = excluded.updated_at",
        &[&body.unmatched, &unit::now(tx)],
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "workflow_settings",
            entity_id: None,
            changes: json!({"unmatched": {"old": old, "new": body.unmatched}}),
        },
    )
    .await?;
    Ok(body)
}

/// Who approves in a user's place while they are away.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutOfOffice {
    pub delegate_id: Uuid,
    #[serde(deserialize_with = "crate::kernel::validate::rfc3339")]
    pub starts_at: DateTime<Utc>,
    #[serde(deserialize_with = "crate::kernel::validate::rfc3339")]
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

pub async fn get_out_of_office(
    tx: &TenantTx,
    actor: &Actor,
) -> Result<Option<OutOfOffice>, DomainError> {
    actor.require(Role::Viewer)?;
    Ok(tx
        .query_opt(
            "select delegate_id, starts_at, ends_at, note from out_of_office where user_id = $1",
            &[&actor.user_id()],
        )
        .await?
        .map(|r| OutOfOffice {
            delegate_id: r.get(0),
            starts_at: r.get(1),
            ends_at: r.get(2),
            note: Some(r.get(3)),
        }))
}

/// Sets the caller's out-of-office span and delegate. Approvals created during it go
/// to the delegate, recorded as delegated.
pub async fn put_out_of_office(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: OutOfOffice,
) -> Result<OutOfOffice, DomainError> {
    let note = crate::kernel::validate::optional_text("note", body.note.as_deref(), 500)?
        .unwrap_or_default();
    if body.ends_at <= body.starts_at {
        return Err(DomainError::Validation(
            "ends_at must be after starts_at".into(),
        ));
    }
    actor.require(Role::Member)?;
    let Some(user) = actor.user_id() else {
        return Err(DomainError::Forbidden(
            "out of office is a user's own".into(),
        ));
    };
    if body.delegate_id == user {
        return Err(DomainError::Validation(
            "delegate_id must be someone else".into(),
        ));
    }
    let eligible: bool = tx
        .query_one(
            "select exists (select 1 from users where id = $1 and active and role <> 'viewer')",
            &[&body.delegate_id],
        )
        .await?
        .get(0);
    if !eligible {
        return Err(DomainError::Validation(
            "delegate_id must be an active user of this tenant who may act (member or above)"
                .into(),
        ));
    }
    tx.execute(
        "insert into out_of_office (user_id, delegate_id, starts_at, ends_at, note, updated_at) values ($1, $2, $3, $4, $5, $6) \
         on conflict (user_id) do update set delegate_id = excluded.delegate_id, starts_at = excluded.starts_at, \
             ends_at = excluded.ends_at, note = excluded.note, updated_at = excluded.updated_at",
        &[&user, &body.delegate_id, &body.starts_at, &body.ends_at, &note, &unit::now(tx)],
    )
    .await
    .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "out_of_office",
            entity_id: Some(user),
            changes: json!({"delegate_id": body.delegate_id, "starts_at": body.starts_at,
                            "ends_at": body.ends_at, "note": note}),
        },
    )
    .await?;
    Ok(OutOfOffice {
        note: Some(note),
        ..body
    })
}

pub async fn clear_out_of_office(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
) -> Result<(), DomainError> {
    actor.require(Role::Viewer)?;
    let removed = tx
        .execute(
            "delete from out_of_office where user_id = $1",
            &[&actor.user_id()],
        )
        .await?;
    if removed == 0 {
        return Err(DomainError::Missing("out-of-office setting"));
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "out_of_office",
            entity_id: actor.user_id(),
            changes: json!({}),
        },
    )
    .await
}
