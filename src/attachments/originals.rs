//! Who reads the original of a redacted contract. Once a redacted copy is made with
//! the original restricted, the contract names that copy (`contracts.shown_redaction`)
//! and every reader below the tenant's `original_role` (its document settings) that is
//! not the contract's owner reads the copy in its place: the contract's body, its
//! versions, its PDF and its search all answer from the copy, and its attached files
//! are refused. The rule lives here, beside the settings that name the role, so the
//! contracts area (body, versions, search) and this one (files) apply the same rule.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::kernel::reads::read_as;
use crate::kernel::{Actor, DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

/// The least role that reads originals when a tenant has not set one.
pub const DEFAULT_ORIGINAL_ROLE: Role = Role::Manager;

/// The tenant's least role for originals: one row, one column.
pub const ORIGINAL_ROLE_SQL: &str =
    "select coalesce((select original_role from document_settings), 'manager')";

/// Whose restricted originals a reader reads, from the tenant's least role in the
/// rows of [`ORIGINAL_ROLE_SQL`].
pub fn reader(actor: &Actor, rows: &[Row]) -> Reader {
    let least_role = rows
        .first()
        .and_then(|r| Role::parse(r.get(0)))
        .unwrap_or(DEFAULT_ORIGINAL_ROLE);
    match actor {
        Actor::User { id, role } if *role < least_role => Reader::OwnerOnly(*id),
        _ => Reader::Everyone,
    }
}

/// Whose restricted originals a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Every original: the least role or above, or the system.
    Everyone,
    /// Only those of contracts this user owns; the redacted copy of the others.
    OwnerOnly(Uuid),
}

impl Reader {
    /// The one owner whose restricted originals this reader reads, or none when it
    /// reads every original: bound as `$n` in `($n::uuid is null or
    /// c.shown_redaction is null or c.owner_id = $n)`.
    pub fn only_owner(self) -> Option<Uuid> {
        match self {
            Reader::Everyone => None,
            Reader::OwnerOnly(user) => Some(user),
        }
    }
}

/// Reads as `principal`, at least a viewer: who they act as, and which originals they read.
pub async fn read_as_reader(
    db: &TenantDb,
    principal: &Principal,
) -> Result<(Actor, Reader), DomainError> {
    let (actor, results) =
        read_as(db, principal, Role::Viewer, &[(ORIGINAL_ROLE_SQL, &[])]).await?;
    let reader = reader(&actor, &results[0]);
    Ok((actor, reader))
}

/// The guard of contract `$1`, one row only when its original is restricted:
/// owner, shown copy, the tenant's least role, the copy's version and text.
pub const CONTRACT_GUARD_SQL: &str = "select c.owner_id, c.shown_redaction, \
     coalesce((select original_role from document_settings), 'manager'), \
     r.contract_version, r.body \
     from contracts c join contract_redactions r on r.id = c.shown_redaction where c.id = $1";

/// The guard of the contract that attachment `$1` belongs to, one row only when that
/// contract's original is restricted (the copy's text left out: files have none to show).
pub const ATTACHMENT_GUARD_SQL: &str = "select c.owner_id, c.shown_redaction, \
     coalesce((select original_role from document_settings), 'manager'), \
     null::int, null::text \
     from attachments a join contracts c on c.id = a.target_id \
     where a.id = $1 and a.target_kind = 'contract' and c.shown_redaction is not null";

/// A restricted original: who may still read it, and the copy the others read.
#[derive(Debug, Clone)]
pub struct Guard {
    pub owner: Uuid,
    pub copy: Uuid,
    pub least_role: Role,
    /// The contract version the copy was made of (contract guards only).
    pub copy_version: Option<i32>,
    /// The copy's text (contract guards only).
    pub copy_body: Option<String>,
}

impl Guard {
    /// The guard in the rows of [`CONTRACT_GUARD_SQL`] or [`ATTACHMENT_GUARD_SQL`]:
    /// `None` when the original is open to every reader.
    pub fn from_rows(rows: &[Row]) -> Option<Self> {
        let row = rows.first()?;
        Some(Self {
            owner: row.get(0),
            copy: row.get(1),
            least_role: Role::parse(row.get(2)).unwrap_or(DEFAULT_ORIGINAL_ROLE),
            copy_version: row.get(3),
            copy_body: row.get(4),
        })
    }

    /// Whether `actor` reads the original: the system, the owner, or the least role.
    pub fn admits(&self, actor: &Actor) -> bool {
        match actor {
            Actor::System { .. } => true,
            Actor::User { id, role } => *id == self.owner || *role >= self.least_role,
        }
    }

    /// A 403 unless `actor` reads the original, naming the copy they may read.
    pub fn require(&self, actor: &Actor) -> Result<(), DomainError> {
        if self.admits(actor) {
            Ok(())
        } else {
            Err(refusal(self.least_role, self.copy))
        }
    }
}

/// Refuses `actor` the original when `guard` (if any) does not admit them.
pub fn require_original(guard: Option<&Guard>, actor: &Actor) -> Result<(), DomainError> {
    guard.map_or(Ok(()), |g| g.require(actor))
}

/// The 403 for a reader below `least_role`, pointing at what they may read.
pub fn refusal(least_role: Role, copy: Uuid) -> DomainError {
    DomainError::Forbidden(format!(
        "this contract has been redacted: its original and attached files are for its \
         owner and the {} role; read the redacted copy at /api/v1/redactions/{copy}",
        least_role.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(owner: Uuid, least_role: Role) -> Guard {
        Guard {
            owner,
            copy: Uuid::nil(),
            least_role,
            copy_version: None,
            copy_body: None,
        }
    }

    #[test]
    fn the_owner_the_least_role_and_the_system_read_the_original() {
        let owner = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let g = guard(owner, Role::Manager);
        let user = |id, role| Actor::User { id, role };
        assert!(g.admits(&user(owner, Role::Viewer)));
        assert!(g.admits(&user(other, Role::Manager)));
        assert!(g.admits(&user(other, Role::Admin)));
        assert!(g.admits(&Actor::system("job")));
        assert!(!g.admits(&user(other, Role::Member)));
        assert!(!g.admits(&user(other, Role::Viewer)));
        assert!(require_original(Some(&g), &user(other, Role::Member)).is_err());
        assert!(require_original(None, &user(other, Role::Viewer)).is_ok());
        let admins_only = guard(owner, Role::Admin);
        assert!(!admins_only.admits(&user(other, Role::Manager)));
    }
}
