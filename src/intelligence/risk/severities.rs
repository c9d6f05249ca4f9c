//! How severe each kind of finding is in a tenant. A legal team weighs risks its own
//! way (a missing indemnity clause can be worse to one than an unlimited liability to
//! another), so the policy sets a severity per finding code, and per clause category
//! for a missing clause; what it leaves out keeps the defaults below. The level a
//! workflow trigger reads as `risk_level` is the worst of these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contracts::model::CLAUSE_CATEGORIES;
use crate::kernel::DomainError;

/// How bad a finding is; a contract's level is its worst finding's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A severity a policy can give a finding: a finding is always at least a low risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    Low,
    Medium,
    High,
}

impl From<FindingSeverity> for Severity {
    fn from(given: FindingSeverity) -> Self {
        match given {
            FindingSeverity::Low => Self::Low,
            FindingSeverity::Medium => Self::Medium,
            FindingSeverity::High => Self::High,
        }
    }
}

const fn low() -> FindingSeverity {
    FindingSeverity::Low
}
const fn medium() -> FindingSeverity {
    FindingSeverity::Medium
}
const fn high() -> FindingSeverity {
    FindingSeverity::High
}

/// The severity of each finding code in this tenant. A code left out of a `PUT` keeps
/// its default (shown here); a `GET` shows every code with the severity that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Severities {
    /// A phrase of `forbidden_terms` in the text (default `high`).
    #[serde(default = "high")]
    #[schema(default = "high")]
    pub forbidden_term: FindingSeverity,
    /// Liability spoken of and not limited (default `high`).
    #[serde(default = "high")]
    #[schema(default = "high")]
    pub no_liability_cap: FindingSeverity,
    /// A clause the contract type requires and the contract lacks (default `medium`),
    /// unless `missing_clause_by_category` names its category.
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub missing_clause: FindingSeverity,
    /// A missing clause of these categories (`/clauses` categories) is this severe
    /// instead of `missing_clause`'s; at most one entry per category.
    #[serde(default)]
    pub missing_clause_by_category: BTreeMap<String, FindingSeverity>,
    /// Payment due later than `max_payment_days` (default `medium`).
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub payment_terms_too_long: FindingSeverity,
    /// A contract that renews by itself with no notice period (default `medium`).
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub renewal_without_notice: FindingSeverity,
    /// Stopping a renewal takes longer notice than `max_renewal_notice_days` (default
    /// `medium`).
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub renewal_notice_too_long: FindingSeverity,
    /// A governing law outside `allowed_governing_laws` (default `medium`).
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub governing_law_not_allowed: FindingSeverity,
    /// A term longer than `max_term_months` (default `medium`).
    #[serde(default = "medium")]
    #[schema(default = "medium")]
    pub term_too_long: FindingSeverity,
    /// A clause less alike than `deviation_min_similarity` to the tenant's standard
    /// (default `low`).
    #[serde(default = "low")]
    #[schema(default = "low")]
    pub deviates_from_standard: FindingSeverity,
}

impl Default for Severities {
    fn default() -> Self {
        Self {
            forbidden_term: high(),
            no_liability_cap: high(),
            missing_clause: medium(),
            missing_clause_by_category: BTreeMap::new(),
            payment_terms_too_long: medium(),
            renewal_without_notice: medium(),
            renewal_notice_too_long: medium(),
            governing_law_not_allowed: medium(),
            term_too_long: medium(),
            deviates_from_standard: low(),
        }
    }
}

impl Severities {
    /// Refuses a category that is not a clause category: a misspelt one would never
    /// apply, and the team would believe it does.
    pub fn check(self) -> Result<Self, DomainError> {
        if let Some(unknown) = self
            .missing_clause_by_category
            .keys()
            .find(|c| !CLAUSE_CATEGORIES.contains(&c.as_str()))
        {
            return Err(DomainError::invalid(format!(
                "severities.missing_clause_by_category: {:?} is not one of {}",
                crate::kernel::validate::truncate(unknown, 40),
                CLAUSE_CATEGORIES.join(", ")
            )));
        }
        Ok(self)
    }

    /// How severe a missing clause of `category` is.
    pub fn missing(&self, category: &str) -> Severity {
        self.missing_clause_by_category
            .get(category)
            .copied()
            .unwrap_or(self.missing_clause)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_object_is_the_defaults_and_a_partial_one_keeps_the_rest() {
        let empty: Severities = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Severities::default());
        let some: Severities = serde_json::from_value(serde_json::json!({
            "missing_clause": "high",
            "missing_clause_by_category": {"force_majeure": "low"}
        }))
        .unwrap();
        assert_eq!(some.missing("indemnity"), Severity::High);
        assert_eq!(some.missing("force_majeure"), Severity::Low);
        assert_eq!(some.forbidden_term, FindingSeverity::High);
        assert_eq!(some.deviates_from_standard, FindingSeverity::Low);
    }

    #[test]
    fn none_unknown_codes_and_unknown_categories_are_refused() {
        for bad in [
            serde_json::json!({"missing_clause": "none"}),
            serde_json::json!({"missing_clause": "critical"}),
            serde_json::json!({"late_payment": "high"}),
        ] {
            assert!(
                serde_json::from_value::<Severities>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let misspelt: Severities = serde_json::from_value(
            serde_json::json!({"missing_clause_by_category": {"indemnities": "high"}}),
        )
        .unwrap();
        assert!(misspelt.check().is_err());
    }
}
