//! What can be done to counterparties and their contacts, without HTTP: writes take a
//! tenant transaction, who acts and where from, and leave committing to their caller;
//! reads take the tenant's handle and the caller, and check the role in the same round
//! trip.

use serde_json::json;
use uuid::Uuid;

use super::model::*;
use crate::kernel::audit::{self, Entry};
use crate::kernel::letters::fold_case;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::{name_order, Filter};
use crate::kernel::reads::{lock_row, read_as};
use crate::kernel::validate;
use crate::kernel::Principal;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::scoped::TenantTx;

/// Creates a counterparty (members and up), owned by its creator unless another
/// active user is named. Audited.
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
    let billing =
        validate::optional_text("billing_address", body.billing_address.as_deref(), 2000)?;
    let shipping =
        validate::optional_text("shipping_address", body.shipping_address.as_deref(), 2000)?;
    let industry = validate::optional_text("industry", body.industry.as_deref(), 100)?;
    let tags = validate::tags(&body.tags)?;
    let notes = validate::optional_text("notes", body.notes.as_deref(), 10_000)?;
    actor.require(Role::Member)?;
    let owner = body.owner_id.or(actor.user_id());
    check_references(tx, None, owner, body.parent_id).await?;
    let row = tx
        .query_one(
            &format!(
                "insert into counterparties (name, kind, email, website, billing_address, \
                 shipping_address, industry, owner_id, tags, parent_id, notes, created_by) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {COLUMNS}"
            ),
            &[
                &name,
                &kind,
                &email,
                &website,
                &billing,
                &shipping,
                &industry,
                &owner,
                &tags,
                &body.parent_id,
                &notes,
                &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = CounterpartyView::from(&row);
    audit::record_whole(tx, actor, origin, "create", "counterparty", view.id, &view).await?;
    Ok(view)
}

/// Changes a counterparty: its owner or creator, or a manager. Audited with the
/// changed fields.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateCounterparty,
) -> Result<CounterpartyView, DomainError> {
    let patch = input;
    actor.require(Role::Member)?;
    if matches!(patch.parent_id, Some(Some(_))) {
        // Two accounts made each other's parent at the same moment would each pass
        // the tree check before the other committed (and then deadlock on the
        // foreign key's row locks): such changes take turns, before either locks
        // its row, and the second sees the first's parent.
        tx.execute(
            "select pg_advisory_xact_lock(hashtextextended(current_schema() || '.counterparties.parent_id', 0))",
            &[],
        )
        .await
        .map_err(DomainError::database)?;
    }
    let old = lock(tx, id).await?;
    if !old.held_by(actor) {
        return Err(DomainError::Forbidden(
            "members may change only counterparties they own or created".into(),
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
    let billing = patch_text(
        "billing_address",
        &patch.billing_address,
        &old.billing_address,
        2000,
    )?;
    let shipping = patch_text(
        "shipping_address",
        &patch.shipping_address,
        &old.shipping_address,
        2000,
    )?;
    let industry = patch_text("industry", &patch.industry, &old.industry, 100)?;
    let tags = match &patch.tags {
        Some(tags) => validate::tags(tags)?,
        None => old.tags.clone(),
    };
    let notes = patch_text("notes", &patch.notes, &old.notes, 10_000)?;
    let owner = patch.owner_id.unwrap_or(old.owner_id);
    let parent = patch.parent_id.unwrap_or(old.parent_id);
    check_references(
        tx,
        Some(old.id),
        owner.filter(|o| Some(*o) != old.owner_id),
        parent.filter(|p| Some(*p) != old.parent_id),
    )
    .await?;
    let row = tx
        .query_one(
            &format!(
                "update counterparties set name = $2, kind = $3, email = $4, website = $5, \
                 billing_address = $6, shipping_address = $7, industry = $8, owner_id = $9, \
                 tags = $10, parent_id = $11, notes = $12, updated_at = now() \
                 where id = $1 returning {COLUMNS}"
            ),
            &[
                &old.id, &name, &kind, &email, &website, &billing, &shipping, &industry, &owner,
                &tags, &parent, &notes,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let new = CounterpartyView::from(&row);
    audit::record_update(tx, actor, origin, "counterparty", new.id, &old, &new).await?;
    Ok(new)
}

/// Checks, in one round trip, that a named owner is an active user and a named parent
/// an account that is not `account` itself nor below it (so the tree stays a tree).
async fn check_references(
    tx: &TenantTx,
    account: Option<Uuid>,
    owner: Option<Uuid>,
    parent: Option<Uuid>,
) -> Result<(), DomainError> {
    let row = tx
        .query_one(
            "with recursive up (id, depth) as ( \
                 select parent_id, 1 from counterparties where id = $2 \
                 union all \
                 select c.parent_id, up.depth + 1 from counterparties c join up on c.id = up.id \
                 where up.depth < 100 \
             ) \
             select ($1::uuid is null or exists(select 1 from users where id = $1 and active)), \
                    ($2::uuid is null or exists(select 1 from counterparties where id = $2)), \
                    ($3::uuid is null or $2::uuid is null \
                     or ($2 <> $3 and not exists(select 1 from up where up.id = $3)))",
            &[&owner, &parent, &account],
        )
        .await
        .map_err(DomainError::database)?;
    if !row.get::<_, bool>(0) {
        return Err(DomainError::invalid(
            "owner_id is not an active user of this tenant",
        ));
    }
    if !row.get::<_, bool>(1) {
        return Err(DomainError::invalid("parent_id names no counterparty"));
    }
    if !row.get::<_, bool>(2) {
        return Err(DomainError::invalid(
            "parent_id may not be the account itself or one of the accounts below it",
        ));
    }
    Ok(())
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
    audit::record_whole(tx, actor, origin, "delete", "counterparty", old.id, &old).await?;
    Ok(())
}

/// Creates a contact (members and up) at the accounts named, and at `at_account`
/// when it is created from an account's own route. Audited.
pub async fn create_contact(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    at_account: Option<Uuid>,
    input: NewContact,
) -> Result<ContactView, DomainError> {
    let body = input;
    let name = validate::text("name", &body.name, 200)?;
    let emails = emails(&body.emails)?;
    let phones = phones(&body.phones)?;
    let title = validate::optional_text("title", body.title.as_deref(), 200)?;
    let role = validate::optional_text("role", body.role.as_deref(), 100)?;
    let mut accounts = body.account_ids;
    accounts.extend(at_account);
    let accounts = account_ids(&accounts)?;
    actor.require(Role::Member)?;
    if let Some(account) = at_account {
        lock(tx, account).await?;
    }
    let id: Uuid = tx
        .query_one(
            "insert into contacts (name, emails, email_keys, phones, title, role, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7) returning id",
            &[
                &name,
                &emails,
                &email_keys(&emails),
                &phones,
                &title,
                &role,
                &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?
        .get(0);
    link_accounts(tx, id, &accounts).await?;
    let view = read_contact(tx, id).await?;
    audit::record_whole(tx, actor, origin, "create", "contact", view.id, &view).await?;
    Ok(view)
}

/// Changes a contact: its creator, or a manager. A list given replaces the old one
/// (the accounts too). Audited with the changed fields.
pub async fn update_contact(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateContact,
) -> Result<ContactView, DomainError> {
    let patch = input;
    actor.require(Role::Member)?;
    let old = lock_contact(tx, id).await?;
    actor.require_owner_or_manager(old.created_by, "contacts")?;
    let name = match &patch.name {
        Some(n) => validate::text("name", n, 200)?,
        None => old.name.clone(),
    };
    let emails = match &patch.emails {
        Some(list) => emails(list)?,
        None => old.emails.clone(),
    };
    let phones = match &patch.phones {
        Some(list) => phones(list)?,
        None => old.phones.clone(),
    };
    let title = patch_text("title", &patch.title, &old.title, 200)?;
    let role = patch_text("role", &patch.role, &old.role, 100)?;
    tx.execute(
        "update contacts set name = $2, emails = $3, email_keys = $7, phones = $4, title = $5, \
         role = $6, updated_at = now() where id = $1",
        &[
            &old.id,
            &name,
            &emails,
            &phones,
            &title,
            &role,
            &email_keys(&emails),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    if let Some(accounts) = &patch.account_ids {
        let accounts = account_ids(accounts)?;
        tx.execute(
            "delete from account_contacts where contact_id = $1 and not (counterparty_id = any($2))",
            &[&old.id, &accounts],
        )
        .await
        .map_err(DomainError::write)?;
        link_accounts(tx, old.id, &accounts).await?;
    }
    let new = read_contact(tx, old.id).await?;
    audit::record_update(tx, actor, origin, "contact", new.id, &old, &new).await?;
    Ok(new)
}

/// Removes a contact from every account: its creator, or a manager. Audited.
pub async fn delete_contact(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Member)?;
    let view = lock_contact(tx, id).await?;
    actor.require_owner_or_manager(view.created_by, "contacts")?;
    tx.execute("delete from contacts where id = $1", &[&view.id])
        .await
        .map_err(DomainError::write)?;
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

/// Links a contact to each account (already linked ones stay), refusing ids that name
/// no account.
async fn link_accounts(tx: &TenantTx, contact: Uuid, accounts: &[Uuid]) -> Result<(), DomainError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let known: i64 = tx
        .query_one(
            "select count(*) from counterparties where id = any($1)",
            &[&accounts],
        )
        .await
        .map_err(DomainError::database)?
        .get(0);
    if known < accounts.len() as i64 {
        return Err(DomainError::invalid("account_ids names no counterparty"));
    }
    tx.execute(
        "insert into account_contacts (contact_id, counterparty_id) \
         select $1, unnest($2::uuid[]) on conflict do nothing",
        &[&contact, &accounts],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(())
}

/// One contact, inside a unit of work.
pub async fn read_contact(tx: &TenantTx, id: Uuid) -> Result<ContactView, DomainError> {
    let row = tx
        .query_one(
            &format!("select {CONTACT_COLUMNS} from contacts c where c.id = $1"),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?;
    Ok(ContactView::from(&row))
}

async fn lock_contact(tx: &TenantTx, id: Uuid) -> Result<ContactView, DomainError> {
    lock_row(
        tx,
        &format!("select {CONTACT_COLUMNS} from contacts c where c.id = $1 for update of c"),
        id,
        "contact",
    )
    .await
}

/// A page of contacts by name, optionally matching `q` (name or any email) and at one
/// account, for anyone who may read.
pub async fn list_contacts(
    db: &TenantDb,
    principal: &Principal,
    filter: &ContactFilter<'_>,
    page: &PageRequest,
) -> Result<Page<ContactView>, DomainError> {
    let mut w = Filter::new();
    w.push_some(validate::like_pattern(filter.q)?, |n| {
        format!(
            "(c.name ilike ${n} or exists(select 1 from unnest(c.emails) e where e ilike ${n}))"
        )
    });
    // The account's contacts as an array worked out first: as an `exists` per contact,
    // a plan made without the account (a cached statement's generic plan) walked every
    // contact in name order and probed each, so a small account read them all. Now
    // each page reads the account's contacts and sorts them: an account holds tens or
    // hundreds, not the tenant's thousands.
    w.push_some(filter.account_id, |n| {
        format!(
            "c.id = any(array(select a.contact_id from account_contacts a \
             where a.counterparty_id = ${n}))"
        )
    });
    let order = name_order("c.name", "c.id");
    w.after_name(&order, page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {CONTACT_COLUMNS}, lower(c.name) from contacts c{} \
         order by {order} limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    Ok(Page::<ContactView>::by_lowered_name(
        &results[0],
        page,
        |view| view.id,
    ))
}

/// What a contact list is narrowed to.
#[derive(Default)]
pub struct ContactFilter<'a> {
    pub q: Option<&'a str>,
    pub account_id: Option<Uuid>,
}

/// One contact with the accounts it belongs to.
pub async fn get_contact(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<ContactView, DomainError> {
    let sql = format!("select {CONTACT_COLUMNS} from contacts c where c.id = $1");
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &[&id])]).await?;
    results[0]
        .first()
        .map(ContactView::from)
        .ok_or(DomainError::Missing("contact"))
}

/// What a counterparty list is narrowed to.
#[derive(Default)]
pub struct CounterpartyFilter<'a> {
    /// Part of the name or email.
    pub q: Option<&'a str>,
    pub owner_id: Option<Uuid>,
    pub tag: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub parent_id: Option<Uuid>,
}

/// A page of counterparties by name, narrowed by `filter`, for anyone who may read.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    filter: &CounterpartyFilter<'_>,
    page: &PageRequest,
) -> Result<Page<CounterpartyView>, DomainError> {
    let mut w = Filter::new();
    w.push_some(validate::like_pattern(filter.q)?, |n| {
        format!("(name ilike ${n} or email ilike ${n})")
    });
    w.push_some(filter.owner_id, |n| format!("owner_id = ${n}"));
    w.push_some(filter.tag.map(|t| fold_case(t.trim())), |n| {
        format!("tags @> array[${n}]")
    });
    w.push_some(filter.industry.map(str::to_owned), |n| {
        format!("lower(industry) = lower(${n}::text)")
    });
    w.push_some(filter.parent_id, |n| format!("parent_id = ${n}"));
    let order = name_order("name", "id");
    w.after_name(&order, page.after()?);
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {COLUMNS}, lower(name) from counterparties{} \
         order by {order} limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Viewer, &[(&sql, &w.params())]).await?;
    Ok(Page::<CounterpartyView>::by_lowered_name(
        &results[0],
        page,
        |view| view.id,
    ))
}

/// One counterparty with its contacts (at most the first 200 by name; the contacts
/// list walks them all with `account_id`).
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<CounterpartyView, DomainError> {
    let sql = format!("select {COLUMNS} from counterparties where id = $1");
    let contacts = format!(
        "select {CONTACT_COLUMNS} from contacts c \
         join account_contacts l on l.contact_id = c.id and l.counterparty_id = $1 \
         order by {} limit 200",
        name_order("c.name", "c.id")
    );
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&id]), (&contacts, &[&id])],
    )
    .await?;
    let mut view = results[0]
        .first()
        .map(CounterpartyView::from)
        .ok_or(DomainError::Missing("counterparty"))?;
    view.contacts = Some(results[1].iter().map(ContactView::from).collect());
    Ok(view)
}

/// One counterparty (without its contacts), inside a unit of work.
pub async fn read(tx: &TenantTx, id: Uuid) -> Result<CounterpartyView, DomainError> {
    tx.query_opt(
        &format!("select {COLUMNS} from counterparties where id = $1"),
        &[&id],
    )
    .await
    .map_err(DomainError::database)?
    .map(|row| CounterpartyView::from(&row))
    .ok_or(DomainError::Missing("counterparty"))
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
