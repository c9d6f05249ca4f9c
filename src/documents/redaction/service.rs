//! Redacting a contract's text, without HTTP: a preview lists what the kernel's finder
//! ([`crate::kernel::sensitive`]) finds in the current version's body (the built-in
//! kinds, the tenant's users' and contacts' names, its own patterns); applying takes a
//! decision on every finding and keeps a redacted copy whose text no longer holds what
//! was accepted. Each copy is an audited event. Tenant patterns are managed here too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::Removal;
use crate::contracts;
use crate::kernel::audit::{self, Entry};
use crate::kernel::concurrency::check_version;
use crate::kernel::language::set_or_told;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::sensitive::{self as find, Custom, Finding};
use crate::kernel::{unit, Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// The most names of users and contacts matched in one preview.
const MAX_NAMES: i64 = 20_000;
/// The most patterns a tenant keeps.
const MAX_PATTERNS: i64 = 100;

/// What a preview found in a contract's current text.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub contract_id: Uuid,
    /// The version whose body was read: an apply names it.
    pub version: i32,
    pub findings: Vec<Finding>,
}

/// The decision on every finding of a preview of `version`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRedaction {
    pub version: i32,
    /// The ids of the findings to redact.
    pub accepted: Vec<String>,
    /// The ids of the findings to keep; together with `accepted`, every finding once.
    pub rejected: Vec<String>,
    /// Whether this copy stands in for the original for readers below the tenant's
    /// `original_role` (document settings) who do not own the contract: their reads of
    /// its text, versions, PDF and search then answer from this copy, and its attached
    /// files are refused them. Default true; false opens the original to every reader
    /// again.
    #[serde(default = "restrict_by_default")]
    pub restrict_original: bool,
}

fn restrict_by_default() -> bool {
    true
}

/// Where one redaction was in the copy's source, and of what: never the text removed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Redacted {
    pub kind: String,
    pub label: Option<String>,
    /// In characters of the version's body, end exclusive.
    pub start: usize,
    pub end: usize,
}

/// A redacted copy of a contract's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedactionView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub contract_version: i32,
    /// The body with each accepted finding replaced by `[redacted: kind]`.
    pub body: String,
    pub redacted: Vec<Redacted>,
    /// How many findings were rejected (kept).
    pub kept: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, contract_id, contract_version, body, redacted, kept, created_by, created_at";

impl TryFrom<&Row> for RedactionView {
    type Error = DomainError;
    fn try_from(row: &Row) -> Result<Self, DomainError> {
        Ok(Self {
            id: row.get(0),
            contract_id: row.get(1),
            contract_version: row.get(2),
            body: row.get(3),
            redacted: serde_json::from_value(row.get(4))
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("a stored redaction: {e}")))?,
            kept: row.get(5),
            created_by: row.get(6),
            created_at: row.get(7),
        })
    }
}

/// The tenant's patterns, compiled, by name in bytes (the order they are applied in,
/// the same whatever the database's collation); one that no longer compiles is
/// skipped, logged.
async fn tenant_patterns(tx: &TenantTx) -> Result<Vec<Custom>, DomainError> {
    let rows = tx
        .query(
            "select name, pattern from redaction_patterns order by name collate \"C\"",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let (name, pattern): (String, String) = (row.get(0), row.get(1));
            match find::compile(&pattern) {
                Ok(regex) => Some(Custom { name, regex }),
                Err(reason) => {
                    tracing::warn!(name, reason, "a redaction pattern no longer compiles");
                    None
                }
            }
        })
        .collect())
}

/// What is found in the body of `contract` as it is now, and its version.
async fn findings_in(
    tx: &TenantTx,
    contract: Uuid,
) -> Result<(i32, String, Vec<Finding>), DomainError> {
    let row = tx
        .query_opt(
            "select version, coalesce(body, '') from contracts where id = $1",
            &[&contract],
        )
        .await?
        .ok_or(DomainError::Missing("contract"))?;
    let (version, body): (i32, String) = (row.get(0), row.get(1));
    let names: Vec<String> = tx
        .query(
            "select display_name from users union select name from contacts limit $1",
            &[&MAX_NAMES],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let patterns = tenant_patterns(tx).await?;
    // Matching a long body against thousands of names is CPU work: off the async workers.
    let (body, findings) = tokio::task::spawn_blocking(move || {
        let names = find::names_pattern(&names);
        let findings = find::find(&body, names.as_ref(), &patterns);
        (body, findings)
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("finding sensitive text: {e}")))?;
    Ok((version, body, findings))
}

/// What would be redacted in `contract`'s current text, for anyone who may read it
/// (and its original, once restricted).
pub async fn preview(tx: &TenantTx, actor: &Actor, contract: Uuid) -> Result<Preview, DomainError> {
    actor.require(Role::Viewer)?;
    contracts::service::require_original(tx, actor, contract).await?;
    let (version, _, findings) = findings_in(tx, contract).await?;
    Ok(Preview {
        contract_id: contract,
        version,
        findings,
    })
}

/// Checks that `body` decides every finding exactly once and names no other.
fn decisions<'a>(
    findings: &'a [Finding],
    body: &ApplyRedaction,
) -> Result<Vec<&'a Finding>, DomainError> {
    let known: std::collections::HashSet<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    for id in body.accepted.iter().chain(&body.rejected) {
        if !seen.insert(id.as_str()) {
            return Err(DomainError::Validation(format!(
                "finding {} is decided twice",
                crate::kernel::validate::truncate(id, 80)
            )));
        }
        if !known.contains(id.as_str()) {
            return Err(DomainError::Validation(format!(
                "finding {} is not in this version's preview",
                crate::kernel::validate::truncate(id, 80)
            )));
        }
    }
    let undecided: Vec<&str> = findings
        .iter()
        .filter(|f| !seen.contains(f.id.as_str()))
        .map(|f| f.id.as_str())
        .collect();
    if !undecided.is_empty() {
        let shown: Vec<&str> = undecided.iter().take(20).copied().collect();
        return Err(DomainError::Validation(format!(
            "every finding is accepted or rejected; {} undecided: {}{}",
            undecided.len(),
            shown.join(", "),
            if undecided.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    let accepted: std::collections::HashSet<&str> =
        body.accepted.iter().map(String::as_str).collect();
    Ok(findings
        .iter()
        .filter(|f| accepted.contains(f.id.as_str()))
        .collect())
}

/// Makes a redacted copy of `contract`'s current version: its owner or a manager who
/// may read its original, naming the version the preview was of (a 409 if it has moved
/// on). By default the copy then stands in for the original for readers below the
/// tenant's `original_role`. Audited.
pub async fn apply(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract: Uuid,
    body: ApplyRedaction,
) -> Result<RedactionView, DomainError> {
    let locked = contracts::service::lock_editable_contract(tx, actor, contract).await?;
    check_version("contract", body.version, locked.version)?;
    contracts::service::require_original(tx, actor, contract).await?;
    let (_, text, findings) = findings_in(tx, contract).await?;
    let accepted = decisions(&findings, &body)?;
    let spans: Vec<(usize, usize, &str)> =
        accepted.iter().map(|f| (f.start, f.end, f.kind)).collect();
    let redacted_text = find::redact(&text, &spans);
    let redacted: Vec<Redacted> = accepted
        .iter()
        .map(|f| Redacted {
            kind: f.kind.to_owned(),
            label: f.label.clone(),
            start: f.start,
            end: f.end,
        })
        .collect();
    let removal = Removal::new(
        accepted
            .iter()
            .map(|f| (f.text.clone(), f.kind.to_owned(), f.label.clone()))
            .collect(),
        &redacted_text,
    );
    let kept = (findings.len() - accepted.len()) as i32;
    let row = tx
        .query_one(
            &format!(
                "insert into contract_redactions \
                 (contract_id, contract_version, body, redacted, kept, created_by, created_at, \
                 text_language, removed) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 returning {COLUMNS}"
            ),
            &[
                &contract,
                &locked.version,
                &redacted_text,
                &json!(redacted),
                &kept,
                &actor.user_id(),
                &unit::now(tx),
                &set_or_told(locked.text_language_set(), &redacted_text),
                &json!(removal),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = RedactionView::try_from(&row)?;
    tx.execute(
        "update contracts set shown_redaction = $2 where id = $1",
        &[&contract, &body.restrict_original.then_some(view.id)],
    )
    .await
    .map_err(DomainError::write)?;
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for finding in &accepted {
        *kinds.entry(finding.kind).or_default() += 1;
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "contract_redaction",
            entity_id: Some(view.id),
            changes: json!({
                "contract_id": contract, "contract_version": locked.version,
                "redacted": accepted.len(), "kept": kept, "kinds": kinds,
                "restrict_original": body.restrict_original,
            }),
        },
    )
    .await?;
    Ok(view)
}

/// A page of `contract`'s redacted copies, oldest first.
pub async fn list(
    tx: &TenantTx,
    actor: &Actor,
    contract: Uuid,
    page: &PageRequest,
) -> Result<Page<RedactionView>, DomainError> {
    actor.require(Role::Viewer)?;
    let (after_at, after_id) = page.after::<(DateTime<Utc>, Uuid)>()?.unzip();
    let exists = tx
        .query_opt("select 1 from contracts where id = $1", &[&contract])
        .await?;
    if exists.is_none() {
        return Err(DomainError::Missing("contract"));
    }
    let rows = tx
        .query(
            &format!(
                "select {COLUMNS} from contract_redactions where contract_id = $1 \
                 and (created_at, id) > (coalesce($3::timestamptz, '-infinity'), coalesce($4::uuid, '00000000-0000-0000-0000-000000000000')) \
                 order by created_at, id limit $2"
            ),
            &[&contract, &page.fetch(), &after_at, &after_id],
        )
        .await?;
    let copies = rows
        .iter()
        .map(RedactionView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::keyset(copies, page, |r| (r.created_at, r.id)))
}

/// One redacted copy and the title of its contract.
pub async fn get(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<(RedactionView, String), DomainError> {
    actor.require(Role::Viewer)?;
    let row = tx
        .query_opt(
            &format!(
                "select {COLUMNS}, (select title from contracts c where c.id = r.contract_id) \
                 from contract_redactions r where id = $1"
            ),
            &[&id],
        )
        .await?
        .ok_or(DomainError::Missing("redaction"))?;
    Ok((RedactionView::try_from(&row)?, row.get(8)))
}

/// One of the tenant's own patterns of sensitive text.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatternView {
    pub id: Uuid,
    pub name: String,
    /// A regular expression (Rust `regex` syntax: no look-around or back-references,
    /// matched in linear time).
    pub pattern: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Row> for PatternView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            pattern: row.get(2),
            created_at: row.get(3),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPattern {
    /// 1 to 100 characters, unique in the tenant (case-blind).
    pub name: String,
    /// 1 to 500 characters; it must compile, and match no empty text only.
    pub pattern: String,
}

pub async fn patterns(tx: &TenantTx, actor: &Actor) -> Result<Vec<PatternView>, DomainError> {
    actor.require(Role::Viewer)?;
    Ok(tx
        .query(
            "select id, name, pattern, created_at from redaction_patterns \
             order by lower(name) collate \"und-x-icu\", id",
            &[],
        )
        .await?
        .iter()
        .map(PatternView::from)
        .collect())
}

pub async fn add_pattern(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: NewPattern,
) -> Result<PatternView, DomainError> {
    let name = crate::kernel::validate::text("name", &body.name, 100)?;
    // Not trimmed: a pattern's spaces are part of what it matches.
    let pattern = crate::kernel::validate::body("pattern", &body.pattern, 500)?;
    let regex = find::compile(&pattern)
        .map_err(|reason| DomainError::Validation(format!("pattern: {reason}")))?;
    if regex.is_match("") {
        return Err(DomainError::Validation(
            "pattern: it matches empty text, so it would find nothing useful".into(),
        ));
    }
    actor.require(Role::Admin)?;
    let count: i64 = tx
        .query_one("select count(*) from redaction_patterns", &[])
        .await?
        .get(0);
    if count >= MAX_PATTERNS {
        return Err(DomainError::Validation(format!(
            "a tenant keeps at most {MAX_PATTERNS} patterns"
        )));
    }
    let row = tx
        .query_one(
            "insert into redaction_patterns (name, pattern, created_at) values ($1, $2, $3) \
             returning id, name, pattern, created_at",
            &[&name, &pattern, &unit::now(tx)],
        )
        .await
        .map_err(DomainError::write)?;
    let view = PatternView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "redaction_pattern",
            entity_id: Some(view.id),
            changes: json!({"name": view.name, "pattern": view.pattern}),
        },
    )
    .await?;
    Ok(view)
}

pub async fn delete_pattern(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    let row = tx
        .query_opt(
            "delete from redaction_patterns where id = $1 returning name",
            &[&id],
        )
        .await?
        .ok_or(DomainError::Missing("redaction pattern"))?;
    let name: String = row.get(0);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "redaction_pattern",
            entity_id: Some(id),
            changes: json!({"name": name}),
        },
    )
    .await
}
