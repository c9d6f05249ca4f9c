//! The tenant's document settings: the languages OCR reads its scans in, and the
//! tenant's own bounds on uploads (the largest file, the most files), below the
//! server's `PACTUM_MAX_UPLOAD_BYTES`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::kernel::audit::{self, Entry};
use crate::kernel::{unit, Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

/// The most languages OCR may be asked to read at once (each one slows it down).
const MAX_LANGUAGES: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    /// The languages OCR reads scans in, by Tesseract's names (`eng`, `deu`, `fra`,
    /// `chi_sim`...), 1 to 8, each installed on the server. Default `["eng"]`.
    pub ocr_languages: Vec<String>,
    /// The largest file this tenant may upload, in bytes; null for the server's bound.
    /// A bound above the server's has no effect beyond it.
    #[serde(default)]
    pub max_file_bytes: Option<i64>,
    /// The most files this tenant may keep; null for no bound of its own.
    #[serde(default)]
    pub max_files: Option<i32>,
    /// Once a contract is redacted with its original restricted, the least role that
    /// still reads the original (its text, versions, PDF, search and attached files);
    /// the contract's owner always does, everyone else reads the redacted copy.
    /// Default `manager`.
    #[serde(default = "default_original_role")]
    #[schema(value_type = String, example = "manager", pattern = "^(viewer|member|manager|admin)$")]
    pub original_role: Role,
}

fn default_original_role() -> Role {
    super::originals::DEFAULT_ORIGINAL_ROLE
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            ocr_languages: vec!["eng".into()],
            max_file_bytes: None,
            max_files: None,
            original_role: default_original_role(),
        }
    }
}

/// The tenant's settings, or the defaults if it has never set them.
pub async fn current(tx: &TenantTx) -> Result<DocumentSettings, DomainError> {
    Ok(tx
        .query_opt(
            "select ocr_languages, max_file_bytes, max_files, original_role from document_settings",
            &[],
        )
        .await?
        .map_or_else(DocumentSettings::default, |r| DocumentSettings {
            ocr_languages: r.get(0),
            max_file_bytes: r.get(1),
            max_files: r.get(2),
            original_role: Role::parse(r.get(3)).unwrap_or_else(default_original_role),
        }))
}

pub async fn get(tx: &TenantTx, actor: &Actor) -> Result<DocumentSettings, DomainError> {
    actor.require(Role::Viewer)?;
    current(tx).await
}

/// Whether `name` has the shape of a Tesseract language: `eng`, `chi_sim`, `deu_latf`.
fn language_shaped(name: &str) -> bool {
    let mut parts = name.split('_');
    let base = parts.next().unwrap_or_default();
    let lower = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase());
    base.len() == 3
        && lower(base)
        && parts.all(|p| (2..=5).contains(&p.len()) && lower(p))
        && name.split('_').count() <= 2
}

fn check(body: &DocumentSettings) -> Result<(), DomainError> {
    let languages = &body.ocr_languages;
    if languages.is_empty() || languages.len() > MAX_LANGUAGES {
        return Err(DomainError::Validation(format!(
            "ocr_languages: 1 to {MAX_LANGUAGES} languages"
        )));
    }
    if let Some(bad) = languages.iter().find(|l| !language_shaped(l)) {
        return Err(DomainError::Validation(format!(
            "ocr_languages: {:?} is not a Tesseract language name (such as eng, deu, chi_sim)",
            crate::kernel::validate::truncate(bad, 40)
        )));
    }
    let mut seen = languages.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != languages.len() {
        return Err(DomainError::Validation(
            "ocr_languages: each language once".into(),
        ));
    }
    if body.max_file_bytes.is_some_and(|b| b < 1) {
        return Err(DomainError::Validation(
            "max_file_bytes: at least 1, or null".into(),
        ));
    }
    if body.max_files.is_some_and(|n| n < 0) {
        return Err(DomainError::Validation(
            "max_files: 0 or more, or null".into(),
        ));
    }
    Ok(())
}

/// Saves the tenant's document settings. `installed` is what
/// [`super::ocr::installed_languages`] found, asked before the transaction opened (it
/// runs Tesseract): where it is installed, a language it lacks is refused now rather
/// than failing every scan later; without it, OCR fails clearly whatever is set.
pub async fn put(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    body: DocumentSettings,
    installed: Option<&[String]>,
) -> Result<DocumentSettings, DomainError> {
    check(&body)?;
    actor.require(Role::Admin)?;
    if let Some(installed) = installed {
        if let Some(missing) = body.ocr_languages.iter().find(|l| !installed.contains(l)) {
            return Err(DomainError::Validation(format!(
                "ocr_languages: {missing} is not installed on this server (installed: {})",
                installed.join(", ")
            )));
        }
    }
    let old = current(tx).await?;
    tx.execute(
        "insert into document_settings \
         (ocr_languages, max_file_bytes, max_files, original_role, updated_at) \
         values ($1, $2, $3, $4, $5) on conflict (id) do update set \
         ocr_languages = excluded.ocr_languages, max_file_bytes = excluded.max_file_bytes, \
         max_files = excluded.max_files, original_role = excluded.original_role, \
         updated_at = excluded.updated_at",
        &[
            &body.ocr_languages,
            &body.max_file_bytes,
            &body.max_files,
            &body.original_role.as_str(),
            &unit::now(tx),
        ],
    )
    .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "document_settings",
            entity_id: None,
            changes: json!({"old": old, "new": body}),
        },
    )
    .await?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_names_have_tesseracts_shape() {
        for good in ["eng", "deu", "chi_sim", "deu_latf"] {
            assert!(language_shaped(good), "{good}");
        }
        for bad in [
            "",
            "en",
            "ENG",
            "eng+deu",
            "../eng",
            "eng_",
            "eng_sim_x",
            "e ng",
        ] {
            assert!(!language_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked_before_anything_is_stored() {
        let ok = DocumentSettings::default();
        assert!(check(&ok).is_ok());
        let twice = DocumentSettings {
            ocr_languages: vec!["eng".into(), "eng".into()],
            ..ok
        };
        assert!(check(&twice).is_err());
        let none = DocumentSettings {
            ocr_languages: vec![],
            ..ok
        };
        assert!(check(&none).is_err());
        let zero = DocumentSettings {
            max_file_bytes: Some(0),
            ..ok
        };
        assert!(check(&zero).is_err());
    }
}
