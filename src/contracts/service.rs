//! What can be done to a contract, without HTTP: each function takes a tenant
//! transaction, who acts and where from, and leaves committing to its caller, so a
//! job or another area can call it inside its own unit of work.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use super::model::*;
use crate::attachments;
use crate::attachments::originals::{self, Guard};
use crate::comments;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::concurrency;
use crate::kernel::language::TextLanguage;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::target::Target;
use crate::kernel::validate;
use crate::kernel::validate::{Amount, Currency};
use crate::kernel::{Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};
use serde_json::json;

pub(super) fn not_yours() -> DomainError {
    DomainError::Forbidden(
        "members may change only what they own; this needs the manager role".into(),
    )
}

/// Loads a contract for change, locking its row.
pub(super) async fn lock_contract(tx: &TenantTx, id: Uuid) -> Result<ContractView, DomainError> {
    let row = tx
        .query_opt(
            &format!("select {CONTRACT_COLUMNS} from contracts where id = $1 for update"),
            &[&id],
        )
        .await
        .map_err(DomainError::database)?
        .ok_or(DomainError::Missing("contract"))?;
    ContractView::from_row(&row)
}

/// One contract, with its text, for anyone who may read it: the redacted copy's text
/// for a reader its restricted original is kept from.
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<ContractView, DomainError> {
    let sql = format!("select {CONTRACT_COLUMNS} from contracts where id = $1");
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&sql, &[&id]), (originals::CONTRACT_GUARD_SQL, &[&id])],
    )
    .await?;
    let view = ContractView::from_row(results[0].first().ok_or(DomainError::Missing("contract"))?)?;
    Ok(view.shielded(Guard::from_rows(&results[1]).as_ref(), &actor))
}

/// `view` (just written by `actor`) as they may read it: the redacted copy's text in
/// place of a restricted original they may not read.
pub(super) async fn shield(
    tx: &TenantTx,
    actor: &Actor,
    view: ContractView,
) -> Result<ContractView, DomainError> {
    if !view.original_restricted {
        return Ok(view);
    }
    let rows = tx.query(originals::CONTRACT_GUARD_SQL, &[&view.id]).await?;
    Ok(view.shielded(Guard::from_rows(&rows).as_ref(), actor))
}

/// A 403 unless `actor` may read `contract`'s original (a write that shows or takes
/// its text needs it).
pub async fn require_original(
    tx: &TenantTx,
    actor: &Actor,
    contract: Uuid,
) -> Result<(), DomainError> {
    let rows = tx
        .query(originals::CONTRACT_GUARD_SQL, &[&contract])
        .await?;
    originals::require_original(Guard::from_rows(&rows).as_ref(), actor)
}

/// Locks a contract `actor` may change (its owner, or a manager) and returns it.
pub async fn lock_editable_contract(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<ContractView, DomainError> {
    actor.require(Role::Member)?;
    let contract = lock_contract(tx, id).await?;
    if !actor.may_edit(Some(contract.owner_id)) {
        return Err(not_yours());
    }
    Ok(contract)
}

/// The rows `sql` (taking the contract id as `$1`, then `more`) finds for a contract the caller may
/// read; a 404 when the contract does not exist.
pub async fn read_contract_rows(
    db: &TenantDb,
    principal: &Principal,
    contract_id: Uuid,
    sql: &str,
    more: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, DomainError> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&contract_id];
    params.extend_from_slice(more);
    let (_, mut results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract_id]),
            (sql, &params),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("contract"));
    }
    Ok(results.remove(1))
}

/// Checks, in one round trip, that the records a write names exist: an active owner,
/// a defined contract type, a counterparty. `None` skips a check.
pub(super) async fn check_references(
    tx: &TenantTx,
    owner: Option<Uuid>,
    contract_type: Option<&str>,
    counterparty: Option<Uuid>,
) -> Result<(), DomainError> {
    let row = tx
        .query_one(
            "select ($1::uuid is null or exists(select 1 from users where id = $1 and active)), \
                    ($2::text is null or exists(select 1 from contract_types where key = $2)), \
                    ($3::uuid is null or exists(select 1 from counterparties where id = $3))",
            &[&owner, &contract_type, &counterparty],
        )
        .await
        .map_err(DomainError::database)?;
    if !row.get::<_, bool>(0) {
        return Err(DomainError::Validation(
            "owner_id is not an active user of this tenant".into(),
        ));
    }
    if !row.get::<_, bool>(1) {
        return Err(DomainError::Validation(format!(
            "contract_type {:?} is not defined; see GET /api/v1/contract-types",
            validate::truncate(contract_type.unwrap_or_default(), 40)
        )));
    }
    if !row.get::<_, bool>(2) {
        return Err(DomainError::Validation(
            "counterparty_id names no counterparty".into(),
        ));
    }
    Ok(())
}

/// Inserts a contract with its first version and audit row; the caller commits.
/// Checks the caller's role (member at least) and the references together, in one
/// round trip.
pub async fn insert_contract(
    tx: &TenantTx,
    principal: &Principal,
    origin: &Origin,
    request: CreateContract,
) -> Result<ContractView, DomainError> {
    let caller = principal.user_id();
    let default_owner = match (caller, request.owner_id) {
        (Some(caller), _) => caller,
        (None, Some(owner)) => owner,
        (None, None) => {
            return Err(DomainError::Validation(
                "owner_id is required when Pactum itself creates a contract".into(),
            ))
        }
    };
    let terms = request.terms(default_owner)?;
    let (actor, references) = tokio::join!(
        Actor::acting(tx, principal, Role::Member),
        check_references(
            tx,
            Some(terms.owner_id),
            Some(&terms.contract_type),
            terms.counterparty_id,
        )
    );
    let actor = actor?;
    if Some(terms.owner_id) != caller && actor.role() < Role::Manager {
        return Err(DomainError::Forbidden(
            "members create contracts they own; naming another owner needs the manager role".into(),
        ));
    }
    references?;
    let row = tx
        .query_one(
            &format!(
                "insert into contracts (title, contract_type, value, currency, counterparty_id, owner_id, \
                 start_date, end_date, auto_renew, renewal_notice_days, tags, metadata, body, created_by, updated_by, \
                 text_language, text_language_set) \
                 values ($1, $2, $3::text::numeric, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16) \
                 returning {CONTRACT_COLUMNS}"
            ),
            &[
                &terms.title,
                &terms.contract_type,
                &terms.value,
                &terms.currency,
                &terms.counterparty_id,
                &terms.owner_id,
                &terms.start_date,
                &terms.end_date,
                &terms.auto_renew,
                &terms.renewal_notice_days,
                &terms.tags,
                &terms.metadata,
                &terms.body,
                &caller,
                &terms.text_search_config(),
                &terms.text_language_set.map(TextLanguage::config),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let contract = ContractView::from_row(&row)?;
    // Both inserts go out together (one round trip).
    let first_version = async {
        tx.execute(
            "insert into contract_versions (contract_id, version, title, body, created_by) values ($1, $2, $3, $4, $5)",
            &[&contract.id, &contract.version, &contract.title, &terms.body, &caller],
        )
        .await
        .map_err(DomainError::database)
    };
    let audited = audit::record(
        tx,
        &actor,
        origin,
        Entry {
            action: "create",
            entity: "contract",
            entity_id: Some(contract.id),
            changes: contract.audit_json(),
        },
    );
    tokio::try_join!(first_version, audited)?;
    Ok(contract)
}

/// Changes a contract (its owner, or a manager) that is still at `expected` version.
/// Terms lock once approved; tags, metadata, owner and renewal settings still change.
/// A new text or title is kept as a new version. Audited.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    expected: i32,
    patch: UpdateContract,
) -> Result<ContractView, DomainError> {
    let old = lock_editable_contract(tx, actor, id).await?;
    let caller = actor.user_id();
    concurrency::check_version("contract", expected, old.version)?;
    if patch.body.is_some() && old.original_restricted {
        // Rewriting a text one may not read would lose what it cannot see.
        require_original(tx, actor, old.id).await?;
    }
    if patch.touches_terms() && !old.status.terms_editable() {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "contract_locked",
            format!(
                "the terms of a contract that is {} no longer change; only tags, metadata, owner, renewal settings and text language do",
                old.status.as_str()
            ),
            json!({ "status": old.status }),
        ));
    }
    if let Some(owner) = patch.owner_id {
        if owner != old.owner_id && actor.role() < Role::Manager {
            return Err(DomainError::Forbidden(
                "handing a contract to another owner needs the manager role".into(),
            ));
        }
    }
    let old_body = old.body.clone().unwrap_or_default();
    let terms = Terms {
        title: match &patch.title {
            Some(t) => validate::text("title", t, MAX_TITLE_CHARS)?,
            None => old.title.clone(),
        },
        contract_type: patch
            .contract_type
            .as_deref()
            .map_or_else(|| old.contract_type.clone(), |t| t.trim().to_owned()),
        value: match &patch.value {
            Some(Some(v)) => Some(Amount::parse("value", v)?),
            Some(None) => None,
            None => old.value.clone().map(Amount::from_stored),
        },
        currency: match &patch.currency {
            Some(Some(c)) => Some(Currency::parse(c)?),
            Some(None) => None,
            None => old.currency.clone().map(Currency::from_stored),
        },
        counterparty_id: patch.counterparty_id.unwrap_or(old.counterparty_id),
        owner_id: patch.owner_id.unwrap_or(old.owner_id),
        start_date: patch.start_date.map_or(old.start_date, |d| d.map(|d| d.0)),
        end_date: patch.end_date.map_or(old.end_date, |d| d.map(|d| d.0)),
        auto_renew: patch.auto_renew.unwrap_or(old.auto_renew),
        renewal_notice_days: patch.renewal_notice_days.unwrap_or(old.renewal_notice_days),
        tags: match &patch.tags {
            Some(tags) => validate::tags(tags)?,
            None => old.tags.clone(),
        },
        metadata: match &patch.metadata {
            Some(m) => validate::metadata(m)?,
            None => old.metadata.clone(),
        },
        body: match &patch.body {
            Some(b) => validate::body("body", b, MAX_BODY_CHARS)?,
            None => old_body.clone(),
        },
        text_language_set: patch
            .text_language
            .unwrap_or_else(|| old.text_language_set()),
    };
    terms.check()?;
    let new_owner = (terms.owner_id != old.owner_id).then_some(terms.owner_id);
    let new_type =
        (terms.contract_type != old.contract_type).then_some(terms.contract_type.as_str());
    let new_counterparty = terms
        .counterparty_id
        .filter(|_| terms.counterparty_id != old.counterparty_id);
    if new_owner.is_some() || new_type.is_some() || new_counterparty.is_some() {
        check_references(tx, new_owner, new_type, new_counterparty).await?;
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set title = $2, contract_type = $3, value = $4::text::numeric, currency = $5, \
                 counterparty_id = $6, owner_id = $7, start_date = $8, end_date = $9, auto_renew = $10, \
                 renewal_notice_days = $11, tags = $12, metadata = $13, body = $14, \
                 version = version + 1, updated_by = $15, updated_at = now(), text_language = $16, \
                 text_language_set = $17 \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[
                &old.id,
                &terms.title,
                &terms.contract_type,
                &terms.value,
                &terms.currency,
                &terms.counterparty_id,
                &terms.owner_id,
                &terms.start_date,
                &terms.end_date,
                &terms.auto_renew,
                &terms.renewal_notice_days,
                &terms.tags,
                &terms.metadata,
                &terms.body,
                &caller,
                &terms.text_search_config(),
                &terms.text_language_set.map(TextLanguage::config),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let new = ContractView::from_row(&row)?;
    if terms.body != old_body || terms.title != old.title {
        tx.execute(
            "insert into contract_versions (contract_id, version, title, body, created_by) values ($1, $2, $3, $4, $5)",
            &[&new.id, &new.version, &new.title, &terms.body, &caller],
        )
        .await
        .map_err(DomainError::database)?;
    }
    let mut changes = changed_fields(
        &old.audit_json(),
        &new.audit_json(),
        &["version", "updated_at", "updated_by"],
    );
    if terms.body != old_body {
        changes["body"] = json!({"old_version": old.version, "new_version": new.version});
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "contract",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    shield(tx, actor, new).await
}

/// Deletes a draft (its owner, or a manager) with its comments and the records of its
/// files. Audited. Returns the ids of the files, for the caller to remove from disk once
/// the transaction has committed.
pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<Vec<Uuid>, DomainError> {
    let old = lock_editable_contract(tx, actor, id).await?;
    if old.status != Status::Draft {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "contract_locked",
            "only drafts are deleted; end other contracts with a transition",
            json!({ "status": old.status }),
        ));
    }
    let target = Target::new(&CONTRACT_TARGET, old.id);
    comments::service::delete_all_on(tx, target).await?;
    let files = attachments::service::delete_all_on(tx, target).await?;
    tx.execute("delete from contracts where id = $1", &[&old.id])
        .await
        .map_err(DomainError::write)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "contract",
            entity_id: Some(old.id),
            changes: old.audit_json(),
        },
    )
    .await?;
    Ok(files)
}

/// Moves a contract along its lifecycle. Submitting and taking back: its owner or a
/// manager; approving, rejecting, executing, ending: a manager. With `expected`, the
/// contract must still be at that version. Audited.
pub async fn transition(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    to: Status,
    expected: Option<i32>,
) -> Result<ContractView, DomainError> {
    actor.require(Role::Member)?;
    let caller = actor.user_id();
    let old = lock_contract(tx, id).await?;
    if let Some(expected) = expected {
        concurrency::check_version("contract", expected, old.version)?;
    }
    let allowed = old.status.next();
    if !allowed.contains(&to) {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "invalid_transition",
            format!(
                "a contract that is {} cannot become {}; allowed: {}",
                old.status.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "none (final status)".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            json!({ "from": old.status, "to": to, "allowed": allowed }),
        ));
    }
    let permitted = if Status::needs_manager(to) {
        actor.role() >= Role::Manager
    } else {
        actor.may_edit(Some(old.owner_id))
    };
    if !permitted {
        return Err(DomainError::Forbidden(format!(
            "moving a contract to {} needs the manager role{}",
            to.as_str(),
            if Status::needs_manager(to) {
                ""
            } else {
                " or ownership"
            }
        )));
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set status = $2, version = version + 1, updated_by = $3, updated_at = now() \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[&old.id, &to.as_str(), &caller],
        )
        .await
        .map_err(DomainError::write)?;
    let new = ContractView::from_row(&row)?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "transition",
            entity: "contract",
            entity_id: Some(new.id),
            changes: json!({"status": {"old": old.status, "new": new.status}}),
        },
    )
    .await?;
    shield(tx, actor, new).await
}

/// Defines a contract type for the tenant (admins). Audited.
pub async fn create_contract_type(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: NewContractType,
) -> Result<ContractTypeView, DomainError> {
    let NewContractType {
        key,
        label,
        required_clause_categories,
    } = input;
    let key_ok = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(DomainError::Validation(
            "key must be 1 to 40 of a-z, 0-9 and _, starting with a letter".into(),
        ));
    }
    let label = validate::text("label", &label, 100)?;
    let mut categories = Vec::new();
    for category in &required_clause_categories {
        categories.push(clause_category(category)?);
    }
    categories.sort();
    categories.dedup();
    actor.require(Role::Admin)?;
    tx.execute(
        "insert into contract_types (key, label, required_clause_categories) values ($1, $2, $3)",
        &[&key, &label, &categories],
    )
    .await
    .map_err(DomainError::write)?;
    let view = ContractTypeView {
        key,
        label,
        required_clause_categories: categories,
        builtin: false,
    };
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "contract_type",
            entity_id: None,
            changes: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(view)
}

/// A page of the tenant's contract types, by key.
pub async fn list_contract_types(
    db: &TenantDb,
    principal: &Principal,
    page: &PageRequest,
) -> Result<Page<ContractTypeView>, DomainError> {
    let after: Option<String> = page.after()?;
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(
            "select key, label, required_clause_categories, builtin from contract_types \
                 where key > coalesce($2::text, '') order by key limit $1",
            &[&page.fetch(), &after],
        )],
    )
    .await?;
    let types: Vec<ContractTypeView> = results[0]
        .iter()
        .map(|row| ContractTypeView {
            key: row.get(0),
            label: row.get(1),
            required_clause_categories: row.get(2),
            builtin: row.get(3),
        })
        .collect();
    Ok(Page::keyset(types, page, |t| t.key.clone()))
}
