//! `tenantctl storage check`: what each tenant's records name against what its store
//! (the upload folder or the bucket) holds. Files without a record (orphans) and
//! records without their file (missing) are listed; any is exit 1, so a deploy or a
//! cron job can act on it. A file without a record whose removal is still pending (an
//! upload on its way in, or one a stopped process left, which that job removes) is
//! listed as unrecorded, not as an orphan. Nothing is changed.

use pactum_kernel::storage::{in_progress, Store, StoredName, UNRECORDED_KEY_PREFIX};
use pactum_tenancy::pool::DatabaseUrl;
use pactum_tenancy::registry::{self, Tenant};
use serde_json::json;

use crate::input::{connect, parse_slug};
use crate::output::{CliError, Exit, Report};

/// What one tenant's check found.
#[derive(Debug, serde::Serialize)]
struct TenantCheck {
    tenant: String,
    files: usize,
    /// Stored files no record names.
    orphans: Vec<String>,
    /// Stored files no record names yet, whose removal is pending: uploads on their way
    /// in, or left by a process that stopped (the job removes them).
    unrecorded: Vec<String>,
    /// Files a record names that are not stored.
    missing: Vec<String>,
}

pub async fn check(url: &DatabaseUrl, only: Option<&str>) -> Result<Report, CliError> {
    let store =
        Store::from_lookup(|name| std::env::var(name).ok()).map_err(|(variable, reason)| {
            CliError::refused("invalid_configuration", format!("{variable}: {reason}"))
        })?;
    let client = connect(url).await?;
    let tenants: Vec<Tenant> = match only {
        Some(slug) => {
            let slug = parse_slug(slug)?;
            vec![registry::find_by_slug(&client, &slug)
                .await?
                .ok_or_else(|| {
                    CliError::refused("tenant_not_found", format!("no tenant {slug}"))
                })?]
        }
        None => registry::list(&client)
            .await?
            .into_iter()
            .map(|summary| summary.tenant)
            .collect(),
    };
    let mut checks = Vec::with_capacity(tenants.len());
    for tenant in &tenants {
        // Schema names are validated identifiers, quoted: no input reaches the SQL.
        let rows = client
            .query(
                &format!(
                    "select a.id, t.searchable_pdf_sha256 is not null from {schema}.attachments a \
                     left join {schema}.attachment_texts t on t.attachment_id = a.id",
                    schema = tenant.schema.quoted()
                ),
                &[],
            )
            .await
            .map_err(|e| CliError::failed("database_error", e.to_string()))?;
        let mut expected: Vec<String> = Vec::with_capacity(rows.len());
        for row in &rows {
            let (id, searchable): (uuid::Uuid, bool) = (row.get(0), row.get(1));
            expected.push(StoredName::original(id).as_str().to_owned());
            if searchable {
                expected.push(StoredName::searchable_pdf(id).as_str().to_owned());
            }
        }
        let mut stored: Vec<String> = store
            .list(tenant.id)
            .await
            .map_err(|e| CliError::failed("storage_unreachable", format!("{}: {e}", tenant.slug)))?
            .into_iter()
            .filter(|name| !in_progress(name))
            .collect();
        stored.sort();
        expected.sort();
        let pending: Vec<String> = client
            .query(
                "select substr(unique_key, $3) from public.jobs \
                 where tenant_id = $1 and starts_with(unique_key, $2) \
                   and state in ('scheduled', 'available', 'held', 'running', 'retryable')",
                &[
                    &tenant.id.0,
                    &UNRECORDED_KEY_PREFIX,
                    &(UNRECORDED_KEY_PREFIX.len() as i32 + 1),
                ],
            )
            .await
            .map_err(|e| CliError::failed("database_error", e.to_string()))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let (unrecorded, orphans): (Vec<String>, Vec<String>) = stored
            .iter()
            .filter(|name| expected.binary_search(name).is_err())
            .cloned()
            .partition(|name| pending.contains(name));
        let missing = expected
            .iter()
            .filter(|name| stored.binary_search(name).is_err())
            .cloned()
            .collect();
        checks.push(TenantCheck {
            tenant: tenant.slug.to_string(),
            files: stored.len(),
            orphans,
            unrecorded,
            missing,
        });
    }
    let differences: usize = checks
        .iter()
        .map(|c| c.orphans.len() + c.missing.len())
        .sum();
    let mut text = format!(
        "{} tenants checked against {}: ",
        checks.len(),
        if store.is_bucket() {
            "the bucket"
        } else {
            "the upload folder"
        }
    );
    let unrecorded: usize = checks.iter().map(|c| c.unrecorded.len()).sum();
    if differences == 0 && unrecorded == 0 {
        text.push_str("every file has its record and every record its file");
    } else if differences == 0 {
        text.push_str(&format!(
            "every record has its file, and every file its record but {unrecorded} not \
             recorded yet"
        ));
    } else {
        text.push_str(&format!("{differences} differences"));
        for check in checks
            .iter()
            .filter(|c| !c.orphans.is_empty() || !c.missing.is_empty())
        {
            for name in &check.orphans {
                text.push_str(&format!("\n  {}: orphan {name} (no record)", check.tenant));
            }
            for name in &check.missing {
                text.push_str(&format!(
                    "\n  {}: missing {name} (its record has no file)",
                    check.tenant
                ));
            }
        }
    }
    for check in &checks {
        for name in &check.unrecorded {
            text.push_str(&format!(
                "\n  {}: unrecorded {name} (no record yet: an upload on its way in, or one a \
                 pending job removes)",
                check.tenant
            ));
        }
    }
    let report = Report::new(
        &json!({ "differences": differences, "tenants": checks }),
        text,
    );
    Ok(if differences == 0 {
        report
    } else {
        report.with_exit(Exit::Failed)
    })
}
