//! What can be done with clauses without HTTP: writes take a tenant transaction, who
//! acts and where from, and leave committing to their caller; reads take the tenant's
//! handle and the caller, and check the role in the same round trip.

use serde_json::json;
use uuid::Uuid;

use super::model::{self, *};
use crate::contracts::{lock_editable_contract, read_contract_rows};
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::{name_order, Filter};
use crate::kernel::reads::{delete_row, lock_row};
use crate::kernel::reads::{read_as, read_one_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
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

/// A page of the clause library, by category and title.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    category: Option<&str>,
    page: &PageRequest,
) -> Result<Page<ClauseView>, DomainError> {
    let (after_category, after_title, after_id) = match page.after::<(String, String, Uuid)>()? {
        Some((category, title, id)) => (Some(category), Some(title), Some(id)),
        None => (None, None, None),
    };
    let mut w = Filter::new();
    w.push_some(category.map(model::category).transpose()?, |n| {
        format!("category = ${n}")
    });
    let (category, title, id) = (
        w.bind(after_category),
        w.bind(after_title),
        w.bind(after_id),
    );
    let order = format!("category, {}", name_order("title", "id"));
    w.require(format!(
        "({order}) > (coalesce(${category}::text, ''), \
         coalesce(${title}::text, ''), \
         coalesce(${id}::uuid, '00000000-0000-0000-0000-000000000000'))"
    ));
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS}, lower(title) from clauses{} \
         order by {order} limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    let rows: Vec<(ClauseView, String)> = results[0]
        .iter()
        .map(|row| (ClauseView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, page, |(view, title)| {
        (view.category.clone(), title.clone(), view.id)
    });
    Ok(page.map(|(view, _)| view))
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

/// Other clauses whose text is like this one's, most similar first.
pub async fn similar(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    threshold: Option<f32>,
    page: &PageRequest,
) -> Result<Page<SimilarClause>, DomainError> {
    let threshold = threshold.unwrap_or(0.3);
    if !(0.1..=1.0).contains(&threshold) {
        return Err(DomainError::Validation("threshold must be 0.1 to 1".into()));
    }
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
    Ok(Page::offset(similar, page))
}

/// The clauses attached to a contract, in order.
pub async fn on_contract(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    page: &PageRequest,
) -> Result<Page<ClauseView>, DomainError> {
    // By position, which clients choose and may repeat: paged by offset.
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
    Ok(Page::offset(list, page))
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
