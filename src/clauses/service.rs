//! What can be done with clauses without HTTP: each function takes a tenant
//! transaction, who acts and where from, and leaves committing to its caller.

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::reads::{delete_row, lock_row};
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// Adds a clause to the library (members and up). Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewClause,
) -> Result<ClauseView, DomainError> {
    let body = input;
    let title = validate::text("title", &body.title, 300)?;
    let category = category(&body.category)?;
    let text = validate::text("body", &body.body, MAX_CLAUSE_CHARS)?;
    actor.require(Role::Member)?;
    let row = tx
        .query_one(
            &format!(
                "insert into clauses (title, category, body, created_by) values ($1, $2, $3, $4) returning {COLUMNS}"
            ),
            &[&title, &category, &text, &actor.user_id()],
        )
        .await
        .map_err(DomainError::write)?;
    let view = ClauseView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "clause",
            entity_id: Some(view.id),
            changes: json!({"title": view.title, "category": view.category}),
        },
    )
    .await?;
    Ok(view)
}

/// Changes a clause: its author, or a manager. Audited with the changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateClause,
) -> Result<ClauseView, DomainError> {
    let patch = input;
    let title = patch
        .title
        .as_deref()
        .map(|t| validate::text("title", t, 300))
        .transpose()?;
    let category = patch.category.as_deref().map(category).transpose()?;
    let text = patch
        .body
        .as_deref()
        .map(|b| validate::text("body", b, MAX_CLAUSE_CHARS))
        .transpose()?;
    actor.require(Role::Member)?;
    let old: ClauseView = lock_row(
        tx,
        &format!("select {COLUMNS} from clauses where id = $1 for update"),
        id,
        "clause",
    )
    .await?;
    if !actor.may_edit(old.created_by) {
        return Err(DomainError::Forbidden(
            "members may change only clauses they added".into(),
        ));
    }
    let row = tx
        .query_one(
            &format!(
                "update clauses set title = coalesce($2, title), category = coalesce($3, category), \
                 body = coalesce($4, body), updated_at = now() where id = $1 returning {COLUMNS}"
            ),
            &[&old.id, &title, &category, &text],
        )
        .await
        .map_err(DomainError::write)?;
    let new = ClauseView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "clause",
            entity_id: Some(new.id),
            changes: changed_fields(&json!(old), &json!(new), &["updated_at"]),
        },
    )
    .await?;
    Ok(new)
}

/// Removes a clause from the library (managers). Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Manager)?;
    let row = delete_row(
        tx,
        "delete from clauses where id = $1 returning id, title, category",
        id,
        "clause",
    )
    .await?;
    let clause_id: Uuid = row.get(0);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "clause",
            entity_id: Some(clause_id),
            changes: json!({"title": row.get::<_, String>(1), "category": row.get::<_, String>(2)}),
        },
    )
    .await?;
    Ok(())
}

/// Attaches a library clause to a contract the actor may change, at a position (default: after the others). Audited on the contract.
pub async fn attach(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract_id: Uuid,
    input: AttachClause,
) -> Result<(), DomainError> {
    let AttachClause {
        clause_id,
        position,
    } = input;
    if position.is_some_and(|p| !(0..=10_000).contains(&p)) {
        return Err(DomainError::Validation(
            "position must be 0 to 10000".into(),
        ));
    }
    let contract = lock_editable_contract(tx, actor, contract_id).await?;
    tx.query_opt("select 1 from clauses where id = $1", &[&clause_id])
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("clause"))?;
    // The next position is read first rather than by a subquery inside the VALUES:
    // Citus refuses subqueries there. The contract row is locked above, so two
    // attaches to one contract cannot read the same position.
    let position = match position {
        Some(position) => position,
        None => tx
            .query_one(
                "select coalesce(max(position) + 1, 0) from contract_clauses where contract_id = $1",
                &[&contract.id],
            )
            .await?
            .get(0),
    };
    let inserted = tx
        .execute(
            "insert into contract_clauses (contract_id, clause_id, position) values ($1, $2, $3) \
             on conflict (contract_id, clause_id) do nothing",
            &[&contract.id, &clause_id, &position],
        )
        .await
        .map_err(DomainError::write)?;
    if inserted > 0 {
        audit::record(
            tx,
            actor,
            origin,
            Entry {
                action: "attach_clause",
                entity: "contract",
                entity_id: Some(contract.id),
                changes: json!({"clause_id": clause_id}),
            },
        )
        .await?;
    }
    Ok(())
}

/// Takes a clause off a contract the actor may change. Audited on the contract.
pub async fn detach(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    path: (Uuid, Uuid),
) -> Result<(), DomainError> {
    let (contract_id, clause_id) = path;
    let contract = lock_editable_contract(tx, actor, contract_id).await?;
    let removed = tx
        .execute(
            "delete from contract_clauses where contract_id = $1 and clause_id = $2",
            &[&contract.id, &clause_id],
        )
        .await
        .map_err(DomainError::write)?;
    if removed == 0 {
        return Err(DomainError::Missing("attached clause"));
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "detach_clause",
            entity: "contract",
            entity_id: Some(contract.id),
            changes: json!({"clause_id": clause_id}),
        },
    )
    .await?;
    Ok(())
}
