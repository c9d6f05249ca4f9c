//! What can be done to counterparties and their contacts, without HTTP: writes take a
//! tenant transaction, who acts and where from, and leave committing to their caller;
//! reads take the tenant's handle and the caller, and check the role in the same round
//! trip.

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::delete_row;
use crate::kernel::reads::{lock_row, read_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::scoped::TenantTx;

/// Creates a counterparty (members and up). Audited.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewCounterparty,
) -> Result<CounterpartyView, DomainError> {
    let body = input;
    let name = validate::text("name", &body.name, 300)?;
    let kind = kind(body.kind.as_deref().unwrap_or("organisation"))?;
    let email = email(body.email.as_deref())?;
    let website = validate::optional_text("website", body.website.as_deref(), 500)?;
    let address = validate::optional_text("address", body.address.as_deref(), 2000)?;
    let notes = validate::optional_text("notes", body.notes.as_deref(), 10_000)?;
    actor.require(Role::Member)?;
    let row = tx
        .query_one(
            &format!(
                "insert into counterparties (name, kind, email, website, address, notes, created_by) \
                 values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}"
            ),
            &[&name, &kind, &email, &website, &address, &notes, &actor.user_id()],
        )
        .await
        .map_err(DomainError::write)?;
    let view = CounterpartyView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "counterparty",
            entity_id: Some(view.id),
            changes: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(view)
}

/// Changes a counterparty: its creator, or a manager. Audited with the changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateCounterparty,
) -> Result<CounterpartyView, DomainError> {
    let patch = input;
    actor.require(Role::Member)?;
    let old = lock(tx, id).await?;
    if !actor.may_edit(old.created_by) {
        return Err(DomainError::Forbidden(
            "members may change only counterparties they created".into(),
        ));
    }
    let name = match &patch.name {
        Some(n) => validate::text("name", n, 300)?,
        None => old.name.clone(),
    };
    let kind = match &patch.kind {
        Some(k) => kind(k)?,
        None => old.kind.clone(),
    };
    let email = match &patch.email {
        None => old.email.clone(),
        Some(e) => email(e.as_deref())?,
    };
    let website = patch_text("website", &patch.website, &old.website, 500)?;
    let address = patch_text("address", &patch.address, &old.address, 2000)?;
    let notes = patch_text("notes", &patch.notes, &old.notes, 10_000)?;
    let row = tx
        .query_one(
            &format!(
                "update counterparties set name = $2, kind = $3, email = $4, website = $5, address = $6, \
                 notes = $7, updated_at = now() where id = $1 returning {COLUMNS}"
            ),
            &[&old.id, &name, &kind, &email, &website, &address, &notes],
        )
        .await
        .map_err(DomainError::write)?;
    let new = CounterpartyView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "counterparty",
            entity_id: Some(new.id),
            changes: changed_fields(
                &serde_json::to_value(&old).unwrap_or_default(),
                &serde_json::to_value(&new).unwrap_or_default(),
                &["updated_at"],
            ),
        },
    )
    .await?;
    Ok(new)
}

/// Deletes a counterparty no contract names (managers). Audited.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Manager)?;
    let old = lock(tx, id).await?;
    tx.execute("delete from counterparties where id = $1", &[&old.id])
        .await
        .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "counterparty",
            entity_id: Some(old.id),
            changes: serde_json::to_value(&old).unwrap_or_default(),
        },
    )
    .await?;
    Ok(())
}

/// Adds a contact person to a counterparty: its creator, or a manager. Audited.
pub async fn create_contact(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: NewContact,
) -> Result<ContactView, DomainError> {
    let body = input;
    let name = validate::text("name", &body.name, 200)?;
    let email = email(body.email.as_deref())?;
    let phone = validate::optional_text("phone", body.phone.as_deref(), 50)?;
    let title = validate::optional_text("title", body.title.as_deref(), 200)?;
    actor.require(Role::Member)?;
    let counterparty = lock(tx, id).await?;
    let row = tx
        .query_one(
            "insert into contacts (counterparty_id, name, email, phone, title) values ($1, $2, $3, $4, $5) \
             returning id, counterparty_id, name, email, phone, title",
            &[&counterparty.id, &name, &email, &phone, &title],
        )
        .await
        .map_err(DomainError::write)?;
    let view = ContactView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "contact",
            entity_id: Some(view.id),
            changes: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(view)
}

/// Removes a contact person: the counterparty's creator, or a manager. Audited.
pub async fn delete_contact(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Member)?;
    let view = ContactView::from(
        &delete_row(
            tx,
            "delete from contacts where id = $1 returning id, counterparty_id, name, email, phone, title",
            id,
            "contact",
        )
        .await?,
    );
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "contact",
            entity_id: Some(view.id),
            changes: json!(view),
        },
    )
    .await?;
    Ok(())
}

/// A page of counterparties by name, optionally matching `q`, for anyone who may read.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    q: Option<&str>,
    page: &PageRequest,
) -> Result<Page<CounterpartyView>, DomainError> {
    let (after_name, after_id) = page.after::<(String, Uuid)>()?.unzip();
    let pattern = match q.map(str::trim) {
        None | Some("") => None,
        Some(q) if q.chars().count() > 200 => {
            return Err(DomainError::Validation(
                "q is longer than 200 characters".into(),
            ))
        }
        // LIKE's own wildcards in the search text match themselves.
        Some(q) => Some(format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )),
    };
    let sql = format!(
        "select {COLUMNS}, lower(name) from counterparties \
         where ($1::text is null or name ilike $1 or email ilike $1) \
           and ($3::text is null or (lower(name), id) > ($3, $4::uuid)) \
         order by lower(name), id limit $2"
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&pattern, &page.fetch(), &after_name, &after_id])],
    )
    .await?;
    let rows: Vec<(CounterpartyView, String)> = results[0]
        .iter()
        .map(|row| (CounterpartyView::from(row), row.get(row.len() - 1)))
        .collect();
    let page = Page::keyset(rows, page, |(view, key)| (key.clone(), view.id));
    Ok(page.map(|(view, _)| view))
}

/// One counterparty with its contacts.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<CounterpartyView, DomainError> {
    let sql = format!("select {COLUMNS} from counterparties where id = $1");
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (&sql, &[&id]),
            (
                "select id, counterparty_id, name, email, phone, title from contacts \
                 where counterparty_id = $1 order by lower(name), id",
                &[&id],
            ),
        ],
    )
    .await?;
    let mut view = results[0]
        .first()
        .map(CounterpartyView::from)
        .ok_or(DomainError::Missing("counterparty"))?;
    view.contacts = Some(results[1].iter().map(ContactView::from).collect());
    Ok(view)
}

async fn lock(tx: &TenantTx, id: Uuid) -> Result<CounterpartyView, DomainError> {
    lock_row(
        tx,
        &format!("select {COLUMNS} from counterparties where id = $1 for update"),
        id,
        "counterparty",
    )
    .await
}
