//! Who reads the original of a redacted contract. Once a redacted copy is made with
//! the original restricted, the contract names that copy (`contracts.shown_redaction`)
//! and every reader below the tenant's `original_role` (its document settings) that is
//! not the contract's owner reads the copy in its place: the contract's body, its
//! versions, its PDF and its search all answer from the copy, and its attached files
//! are refused; what hangs off it (comments, tasks, activities, file names, their
//! summaries on a timeline, a task's notification) is masked with what the copy
//! removed. The rule lives here, beside the settings that name the role, so the
//! contracts area (body, versions, search), this one (files) and those that keep what
//! hangs off a record apply the same rule.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::kernel::reads::read_as;
use crate::kernel::sensitive::{self, Custom, Removed};
use crate::kernel::{Actor, DomainError, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

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

/// Of contracts `$1`, those whose original is restricted: id, owner, the tenant's least
/// role.
const GATES_SQL: &str = "select c.id, c.owner_id, \
     coalesce((select original_role from document_settings), 'manager') \
     from contracts c where c.id = any($1) and c.shown_redaction is not null";

/// What the copy each of contracts `$1` shows took out of its source: the contract and
/// the copy's [`Removal`]; for a copy made before those were kept, its source version's
/// text and spans (`[{kind, label, start, end}]`, characters) instead.
const REMOVED_SQL: &str = "select c.id, r.removed, v.body, r.redacted from contracts c \
     join contract_redactions r on r.id = c.shown_redaction \
     left join contract_versions v on r.removed is null \
         and v.contract_id = r.contract_id and v.version = r.contract_version \
     where c.id = any($1)";

/// The tenant's own redaction patterns, by name in bytes (an order nobody sees, the same
/// whatever the database's collation): the matches of those a copy redacted are masked
/// in what restricted readers read beside it.
const PATTERNS_SQL: &str =
    "select name, pattern from redaction_patterns order by name collate \"C\"";

/// [`GATES_SQL`] of contract `$1` for each of users `$2`, with the user's id and own
/// role after: no rows when the contract's original is open.
const GATES_FOR_USERS_SQL: &str = "select c.id, c.owner_id, \
     coalesce((select original_role from document_settings), 'manager'), u.id, u.role \
     from contracts c cross join users u \
     where c.id = $1 and c.shown_redaction is not null and u.id = any($2)";

/// What stands for a text when what a copy removed cannot be matched in it.
const WITHHELD: &str = "[redacted: text]";

/// Text that hangs off a record (a comment, a task, an activity, a file's name). On a
/// contract it can quote what the contract's redacted copy took out, so a reader the
/// copy stands in for reads it with the same masked: see [`mask_read`] and
/// [`mask_written`].
pub trait HangsOff {
    /// The contract it hangs off, if it hangs off one.
    fn contract(&self) -> Option<Uuid>;
    /// The texts of it a reader reads.
    fn texts(&mut self) -> Vec<&mut String>;
}

/// The name contracts go by as a record others hang off (the contracts area names its
/// kind with it).
pub const CONTRACT_KIND: &str = "contract";

/// The contract a `(kind, id)` target names, if it names one.
pub fn on_contract(kind: &str, id: Uuid) -> Option<Uuid> {
    (kind == CONTRACT_KIND).then_some(id)
}

/// The contracts `items` hang off, each once.
fn contracts_of<T: HangsOff>(items: &[T]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = items.iter().filter_map(HangsOff::contract).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Of the restricted contracts in the rows of [`GATES_SQL`], those `actor` may not
/// read the original of (by the rule of [`Guard::admits`]).
fn kept_from(actor: &Actor, gates: &[Row]) -> Vec<Uuid> {
    gates
        .iter()
        .filter(|row| {
            let guard = Guard {
                owner: row.get(1),
                copy: Uuid::nil(),
                least_role: Role::parse(row.get(2)).unwrap_or(DEFAULT_ORIGINAL_ROLE),
                copy_version: None,
                copy_body: None,
            };
            !guard.admits(actor)
        })
        .map(|row| row.get(0))
        .collect()
}

/// `items` as a reader the copies of contracts `kept` stand in for may read them:
/// what hangs off one of those masked with what its copy took out, from the rows of
/// [`REMOVED_SQL`] and [`PATTERNS_SQL`], or withheld whole when that is not known. Pure
/// CPU (a long source is walked once), so off the async workers.
async fn masked<T: HangsOff + Send + 'static>(
    mut items: Vec<T>,
    kept: Vec<Uuid>,
    sources: Vec<Row>,
    patterns: Vec<Row>,
) -> Result<Vec<T>, DomainError> {
    tokio::task::spawn_blocking(move || {
        let removed: std::collections::HashMap<Uuid, Option<Removed>> = sources
            .iter()
            .map(|row| (row.get(0), removed(row, &patterns)))
            .collect();
        for item in &mut items {
            let Some(contract) = item.contract().filter(|c| kept.contains(c)) else {
                continue;
            };
            let mask = removed.get(&contract).and_then(Option::as_ref);
            for text in item.texts() {
                *text = match mask {
                    Some(mask) => mask.mask(text),
                    None => WITHHELD.to_owned(),
                };
            }
        }
        items
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("masking redacted text: {e}")))
}

/// `items` (read as `principal`) as they may read them: what hangs off a contract whose
/// original is kept from them is masked as its copy is. One more round trip when any
/// item hangs off a contract, two when any of those is restricted for them.
pub async fn mask_read<T: HangsOff + Send + 'static>(
    db: &TenantDb,
    principal: &Principal,
    items: Vec<T>,
) -> Result<Vec<T>, DomainError> {
    let contracts = contracts_of(&items);
    if contracts.is_empty() {
        return Ok(items);
    }
    let (actor, gates) =
        read_as(db, principal, Role::Viewer, &[(GATES_SQL, &[&contracts])]).await?;
    let kept = kept_from(&actor, &gates[0]);
    if kept.is_empty() {
        return Ok(items);
    }
    let mut read = db
        .read(&[(REMOVED_SQL, &[&kept]), (PATTERNS_SQL, &[])])
        .await?;
    let patterns = read.pop().unwrap_or_default();
    masked(items, kept, read.pop().unwrap_or_default(), patterns).await
}

/// `item` (just written by `actor`) as they may read it, as [`mask_read`] would show it.
/// One round trip when it hangs off a contract, two when that contract's original is
/// kept from them.
pub async fn mask_written<T: HangsOff + Send + 'static>(
    tx: &TenantTx,
    actor: &Actor,
    item: T,
) -> Result<T, DomainError> {
    let Some(contract) = item.contract() else {
        return Ok(item);
    };
    let gates = tx.query(GATES_SQL, &[&vec![contract]]).await?;
    let kept = kept_from(actor, &gates);
    if kept.is_empty() {
        return Ok(item);
    }
    let (sources, patterns) = removed_and_patterns(tx, &kept).await?;
    Ok(masked(vec![item], kept, sources, patterns)
        .await?
        .pop()
        .expect("one item in, one out"))
}

/// The rows of [`REMOVED_SQL`] for contracts `kept` and of [`PATTERNS_SQL`], in one
/// round trip.
async fn removed_and_patterns(
    tx: &TenantTx,
    kept: &[Uuid],
) -> Result<(Vec<Row>, Vec<Row>), DomainError> {
    let of_kept: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&kept];
    Ok(tokio::try_join!(
        tx.query(REMOVED_SQL, &of_kept),
        tx.query(PATTERNS_SQL, &[])
    )?)
}

/// A text about a contract, told to someone outside a request (a notification's title).
struct About(Uuid, String);

impl HangsOff for About {
    fn contract(&self) -> Option<Uuid> {
        Some(self.0)
    }
    fn texts(&mut self) -> Vec<&mut String> {
        vec![&mut self.1]
    }
}

/// `text`, about `contract`, as each of `users` may read it: masked as the contract's
/// copy is for those its original is kept from. Judged by each one's own role, not a
/// temporary grant: told outside a request, the stricter reading is the safe one. (A
/// user who is not in the tenant is told nothing anyway.) One round trip when the
/// original is open, two when it is kept from any of them.
pub async fn mask_for_each(
    tx: &TenantTx,
    contract: Uuid,
    users: &[Uuid],
    text: &str,
) -> Result<Vec<String>, DomainError> {
    let open = vec![text.to_owned(); users.len()];
    let gates = tx.query(GATES_FOR_USERS_SQL, &[&contract, &users]).await?;
    let kept_users: std::collections::HashSet<Uuid> = gates
        .iter()
        .filter_map(|row| {
            let user = Actor::User {
                id: row.get(3),
                role: Role::parse(row.get(4)).unwrap_or(Role::Viewer),
            };
            let kept = !kept_from(&user, std::slice::from_ref(row)).is_empty();
            kept.then(|| row.get(3))
        })
        .collect();
    if kept_users.is_empty() {
        return Ok(open);
    }
    let kept: Vec<bool> = users.iter().map(|u| kept_users.contains(u)).collect();
    let (sources, patterns) = removed_and_patterns(tx, &[contract]).await?;
    let masked = masked(
        vec![About(contract, text.to_owned())],
        vec![contract],
        sources,
        patterns,
    )
    .await?
    .pop()
    .map_or_else(|| WITHHELD.to_owned(), |about| about.1);
    Ok(kept
        .into_iter()
        .zip(open)
        .map(|(kept, open)| if kept { masked.clone() } else { open })
        .collect())
}

/// What a redacted copy took out, kept with it (`contract_redactions.removed`, never
/// served) so that masking what hangs off its contract never reads the contract's text:
/// each removed text, and its [`sensitive::telling_words`] worked out against the copy.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Removal {
    texts: Vec<RemovedText>,
    telling: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RemovedText {
    text: String,
    kind: String,
    label: Option<String>,
}

impl Removal {
    /// What a copy reading `copy` took out: each `(text, kind, label)` removed.
    pub fn new(removed: Vec<(String, String, Option<String>)>, copy: &str) -> Self {
        let telling = sensitive::telling_words(&removed, copy);
        let texts = removed
            .into_iter()
            .map(|(text, kind, label)| RemovedText { text, kind, label })
            .collect();
        Self { texts, telling }
    }
}

/// One span of a copy, as [`REMOVED_SQL`] reads it.
#[derive(serde::Deserialize)]
struct Span {
    kind: String,
    label: Option<String>,
    start: usize,
    end: usize,
}

/// What a copy removed, from one row of [`REMOVED_SQL`] and the rows of
/// [`PATTERNS_SQL`]. `None` when it cannot be matched (what was kept does not parse,
/// texts too many to compile at once): the caller then shows nothing rather than too
/// much.
fn removed(source: &Row, patterns: &[Row]) -> Option<Removed> {
    let patterns = patterns
        .iter()
        .filter_map(|row| {
            let regex = sensitive::compile(row.get(1)).ok()?;
            Some(Custom {
                name: row.get(0),
                regex,
            })
        })
        .collect();
    let removal: Removal = match source.get::<_, Option<serde_json::Value>>(1) {
        Some(stored) => serde_json::from_value(stored).ok()?,
        None => from_source(source.get(2), source.get(3))?,
    };
    let texts: Vec<_> = removal
        .texts
        .into_iter()
        .map(|t| (t.text, t.kind, t.label))
        .collect();
    Removed::new(&texts, &removal.telling, patterns)
}

/// What a copy made before [`Removal`]s were kept took out, from its source's `body`
/// and its `spans`.
fn from_source(body: Option<String>, spans: serde_json::Value) -> Option<Removal> {
    let body = body?;
    let mut spans: Vec<Span> = serde_json::from_value(spans).ok()?;
    spans.sort_by_key(|s| s.start);
    let mut texts = Vec::with_capacity(spans.len());
    // What the copy shows: the source with each span replaced, as the copy was made.
    let (mut shows, mut shown_to) = (String::with_capacity(body.len()), 0);
    // Character offsets to bytes, in one walk however many spans there are.
    let mut bytes = body.char_indices().map(|(at, _)| at).chain([body.len()]);
    let (mut chars_seen, mut byte_at) = (0, bytes.next().unwrap_or(0));
    let mut byte_of = |chars: usize| {
        while chars_seen < chars {
            byte_at = bytes.next()?;
            chars_seen += 1;
        }
        Some(byte_at)
    };
    for span in spans {
        let start = byte_of(span.start)?;
        let end = byte_of(span.end.max(span.start))?;
        if start >= shown_to {
            shows.push_str(&body[shown_to..start]);
            shows.push_str(&format!("[redacted: {}]", span.kind));
        }
        shown_to = shown_to.max(end);
        texts.push((body[start..end].to_owned(), span.kind, span.label));
    }
    shows.push_str(&body[shown_to.min(body.len())..]);
    Some(Removal::new(texts, &shows))
}

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
