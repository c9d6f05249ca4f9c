//! What comments and files hang off: a `(kind, id)` pair. The area that owns a kind of
//! record (contracts today; tasks, invoices, leads later) describes it with a
//! [`TargetKind`] and mounts the routes under its own URLs; the comments and
//! attachments areas know only the description, never the area, so any area can use
//! them without either importing the other.

use uuid::Uuid;

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::actor::{Actor, Principal, Role};
use super::error::DomainError;
use super::reads::read_as;
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// A kind of record others can hang comments and files off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetKind {
    /// As stored beside the comment or file, and shown: `contract`.
    pub name: &'static str,
    /// The tenant table holding such records (written by us, never from input).
    pub table: &'static str,
    /// The column naming the record's owner: members change only what hangs off
    /// records they own; managers change anything.
    pub owner_column: &'static str,
    /// The event its area records when it deletes such a record
    /// (`<name>.deleted`): what hangs off it (comments, files, tasks, activities) is
    /// removed by the areas that keep those, reacting to it in the same transaction.
    pub deleted_event: &'static str,
}

/// One record of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static TargetKind,
    pub id: Uuid,
}

impl Target {
    pub fn new(kind: &'static TargetKind, id: Uuid) -> Self {
        Self { kind, id }
    }

    /// `select 1 from <table> where id = $1`: for reads that check the record exists
    /// in the same round trip as their own statements.
    pub fn exists_sql(&self) -> String {
        format!("select 1 from {} where id = $1", self.kind.table)
    }

    /// Locks the record for the rest of the transaction and returns its owner; a 404
    /// naming the kind when it does not exist.
    pub async fn lock_owner(&self, tx: &TenantTx) -> Result<Option<Uuid>, DomainError> {
        let sql = format!(
            "select {} from {} where id = $1 for update",
            self.kind.owner_column, self.kind.table
        );
        tx.query_opt(&sql, &[&self.id])
            .await?
            .map(|row| row.get(0))
            .ok_or(DomainError::Missing(self.kind.name))
    }

    /// Locks the record and checks that `actor` may change what hangs off it.
    pub async fn lock_editable(&self, tx: &TenantTx, actor: &Actor) -> Result<(), DomainError> {
        let owner = self.lock_owner(tx).await?;
        if actor.may_edit(owner) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "members change only what belongs to a {} they own",
                self.kind.name
            )))
        }
    }
}

/// The rows `sql` finds among what hangs off `target` (`$1` is its id, `$2` its kind's
/// name, `more` follow from `$3`), for anyone who may read; a 404 naming the kind when
/// the record does not exist. The existence check rides in the same round trip.
pub async fn rows_on(
    db: &TenantDb,
    principal: &Principal,
    target: Target,
    sql: &str,
    more: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, DomainError> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&target.id, &target.kind.name];
    params.extend_from_slice(more);
    let (_, mut results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(&target.exists_sql(), &[&target.id]), (sql, &params)],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing(target.kind.name));
    }
    Ok(results.remove(1))
}

/// The kind name of a record whose `deleted` event this is (`lead` of `lead.deleted`).
pub fn deleted_kind(event_type: &str) -> Option<&str> {
    event_type.strip_suffix(".deleted")
}

/// Every kind this build knows, to turn a stored kind name back into its description.
/// Assembled by `app` from the areas that own the kinds.
#[derive(Debug, Clone, Default)]
pub struct TargetKinds(Vec<&'static TargetKind>);

impl TargetKinds {
    pub fn new(kinds: Vec<&'static TargetKind>) -> Self {
        Self(kinds)
    }

    /// The kind a client named in `field`; a 400 listing the kinds when it names none.
    pub fn named(&self, field: &str, name: &str) -> Result<&'static TargetKind, DomainError> {
        self.0
            .iter()
            .copied()
            .find(|kind| kind.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.0.iter().map(|kind| kind.name).collect();
                DomainError::invalid(format!("{field} must be one of {}", known.join(", ")))
            })
    }

    /// Every kind, to register what answers their deletion.
    pub fn all(&self) -> &[&'static TargetKind] {
        &self.0
    }

    pub fn find(&self, name: &str) -> Result<&'static TargetKind, DomainError> {
        self.0
            .iter()
            .copied()
            .find(|kind| kind.name == name)
            .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("unknown target kind {name:?}")))
    }
}
