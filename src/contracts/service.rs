//! What can be done to a contract, without HTTP: each function takes a tenant
//! transaction, who acts and where from, and leaves committing to its caller, so a
//! job or another area can call it inside its own unit of work.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use super::model::*;
use crate::kernel::audit::{self, Entry};
use crate::kernel::reads::read_as;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

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

/// Locks a contract the caller may change (its owner, or a manager) and returns it with
/// the caller as an actor, holding their current role.
pub async fn lock_editable_contract(
    tx: &TenantTx,
    principal: &Principal,
    id: Uuid,
) -> Result<(ContractView, Actor), DomainError> {
    let actor = Actor::acting(tx, principal, Role::Member).await?;
    let contract = lock_contract(tx, id).await?;
    if !actor.may_edit(Some(contract.owner_id)) {
        return Err(not_yours());
    }
    Ok((contract, actor))
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
                 start_date, end_date, auto_renew, renewal_notice_days, tags, metadata, body, created_by, updated_by) \
                 values ($1, $2, $3::text::numeric, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
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
