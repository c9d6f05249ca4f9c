//! Every text a contract had, and line diffs between two of them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::read_contract_rows;
use crate::attachments::originals::{self, Guard};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;

#[derive(Serialize, ToSchema)]
pub struct VersionSummary {
    pub(super) version: i32,
    pub(super) title: String,
    pub(super) characters: i32,
    pub(super) created_by: Option<Uuid>,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub(super) version: i32,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) created_by: Option<Uuid>,
    pub(super) created_at: DateTime<Utc>,
}

/// A page of every text the contract has had, oldest first.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    page: &PageRequest,
) -> Result<Page<VersionSummary>, DomainError> {
    let after: Option<i32> = page.after()?;
    let rows = read_contract_rows(
        db,
        principal,
        id,
        "select version, title, char_length(body), created_by, created_at \
                 from contract_versions where contract_id = $1 \
                 and version > coalesce($3::int, 0) order by version limit $2",
        &[&page.fetch(), &after],
    )
    .await?;
    let versions: Vec<VersionSummary> = rows
        .iter()
        .map(|row| VersionSummary {
            version: row.get(0),
            title: row.get(1),
            characters: row.get(2),
            created_by: row.get(3),
            created_at: row.get(4),
        })
        .collect();
    Ok(Page::keyset(versions, page, |v| v.version))
}

/// The texts of `versions`, in that order. A reader a restricted original is kept
/// from gets the redacted copy's text for the version it was made of, with
/// `copy_allowed`, and a 403 for any other version.
pub(super) async fn fetch_versions(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    versions: &[i32],
    copy_allowed: bool,
) -> Result<Vec<VersionView>, DomainError> {
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (
                "select version, title, body, created_by, created_at from contract_versions \
                 where contract_id = $1 and version = any($2)",
                &[&id, &versions],
            ),
            (originals::CONTRACT_GUARD_SQL, &[&id]),
        ],
    )
    .await?;
    let kept_from = Guard::from_rows(&results[1]).filter(|g| !g.admits(&actor));
    versions
        .iter()
        .map(|wanted| {
            let mut view = results[0]
                .iter()
                .find(|row| row.get::<_, i32>(0) == *wanted)
                .map(|row| VersionView {
                    version: row.get(0),
                    title: row.get(1),
                    body: row.get(2),
                    created_by: row.get(3),
                    created_at: row.get(4),
                })
                .ok_or(DomainError::Missing("contract version"))?;
            if let Some(guard) = &kept_from {
                if !copy_allowed || guard.copy_version != Some(view.version) {
                    return Err(originals::refusal(guard.least_role, guard.copy));
                }
                view.body = guard.copy_body.clone().unwrap_or_default();
            }
            Ok(view)
        })
        .collect()
}

/// One text the contract had (for a reader its restricted original is kept from, only
/// the version the redacted copy was made of, as the copy's text).
pub async fn get(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    version: i32,
) -> Result<VersionView, DomainError> {
    let mut found = fetch_versions(db, principal, id, &[version], true).await?;
    Ok(found.remove(0))
}

#[derive(Serialize, ToSchema)]
pub struct DiffView {
    pub(super) from: i32,
    pub(super) to: i32,
    pub(super) lines_added: usize,
    pub(super) lines_removed: usize,
    /// A unified diff (3 lines of context).
    pub(super) unified: String,
}

/// A line diff between two versions of the text (never for a reader a restricted
/// original is kept from).
pub async fn diff(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<DiffView, DomainError> {
    let mut texts = fetch_versions(db, principal, id, &[from, to], false).await?;
    let (new, old) = (texts.pop().unwrap(), texts.pop().unwrap());
    // A long text's diff is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || line_diff(&old, &new))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("diff: {e}")))
}

pub(super) fn line_diff(old: &VersionView, new: &VersionView) -> DiffView {
    use similar::{ChangeTag, TextDiff};
    // Bounded: a pathological pair of million-character texts falls back to a coarser
    // (still correct) diff instead of holding a thread.
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(&old.body, &new.body);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("version {}", old.version),
            &format!("version {}", new.version),
        )
        .to_string();
    DiffView {
        from: old.version,
        to: new.version,
        lines_added: added,
        lines_removed: removed,
        unified,
    }
}
