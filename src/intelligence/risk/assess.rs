//! A contract weighed against its tenant's risk policy: which clause categories its
//! text covers, forbidden terms, a liability cap, payment terms and renewal notice.
//! Each finding says why, with the sentence where there is one. Pure: the service reads
//! the text, the contract's terms and the policy and stores what this returns.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::terms::{self, floor_boundary, Field, MAX_SCAN_BYTES};

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

/// One reason a contract is a risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// `missing_clause`, `forbidden_term`, `no_liability_cap`, `payment_terms_too_long`,
    /// `renewal_without_notice` or `deviates_from_standard`.
    pub code: String,
    pub severity: Severity,
    /// Why, in a sentence.
    pub reason: String,
    /// The clause category a `missing_clause` names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The sentence it was found in, where it was found in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passage: Option<String>,
    /// The tenant's standard clause a `deviates_from_standard` passage is set beside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<StandardClause>,
}

/// A clause of the tenant's library, as a deviation shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StandardClause {
    pub clause_id: uuid::Uuid,
    pub title: String,
    pub text: String,
    /// How alike in meaning the contract's passage is to it: cosine similarity, -1 to 1.
    pub similarity: f32,
}

/// What the policy asks; see `risk_policy`.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub forbidden_terms: Vec<String>,
    pub max_payment_days: Option<i32>,
    pub require_liability_cap: bool,
    pub renewal_needs_notice: bool,
    /// The categories the contract's type requires, when the policy checks them.
    pub required_categories: Vec<String>,
}

/// What the contract's fields already say.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub auto_renew: bool,
    pub renewal_notice_days: Option<i32>,
    pub payment_terms_days: Option<i64>,
    /// The categories of the library clauses attached to it.
    pub attached_categories: Vec<String>,
}

/// The words that say a passage is of a category: rules, because a category's
/// vocabulary is small and fixed, and they work without a model.
static CATEGORY_RULES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("payment", r"(?i)\binvoice|\bpayment|\bfees?\b|\bpayable\b"),
        ("liability", r"(?i)\bliabilit|\bliable\b"),
        ("confidentiality", r"(?i)\bconfidential"),
        ("termination", r"(?i)\bterminat"),
        ("indemnity", r"(?i)\bindemnif|\bhold\s+harmless"),
        (
            "governing_law",
            r"(?i)governed\s+by|governing\s+law|laws\s+of\s+the|\blaw\s+(?:applies|shall\s+apply|governs|will\s+govern)|subject\s+to\s+the\s+laws?\s+of|submitted\s+to\s+\w+\s+law\b",
        ),
        (
            "intellectual_property",
            r"(?i)intellectual\s+property|\bcopyright|\bpatent",
        ),
        ("warranty", r"(?i)\bwarrant"),
        (
            "force_majeure",
            r"(?i)force\s+majeure|beyond\s+(?:its|their)\s+reasonable\s+control",
        ),
        (
            "data_protection",
            r"(?i)personal\s+data|data\s+protection|\bGDPR\b",
        ),
        ("dispute_resolution", r"(?i)\barbitrat|\bdisputes?\b"),
        // Restrictive covenants: competing and soliciting. `compet` alone would take
        // "the competent court".
        (
            "non_compete",
            r"(?i)non-?compet|\bcompet(?:e|es|ing|itors?)\b|non-?solicit|\bsolicit\b|restrictive\s+covenant|restraint\s+of\s+trade",
        ),
        // Handing the contract on, not assigning rights in work: "assigns to the Customer
        // all intellectual property" is intellectual property.
        (
            "assignment",
            r"(?i)\b(?:not|never)\s+(?:\w+\s+){0,3}assign\b|\bneither\s+party\s+(?:may|shall|will)\s+assign|\bassign(?:s|ed|ment)?\s+(?:or\s+\w+\s+)?(?:this|the)\s+(?:agreement|contract|lease)\b|\bassign\s+or\s+transfer\b|\btransfer\s+or\s+assign\b|\bnovat|change\s+of\s+control",
        ),
        (
            "auto_renewal",
            r"(?i)renew(?:s|ed)?\s+automatically|automatically\s+(?:be\s+)?(?:renew|extend)|\btacit(?:ly)?\s+renew|\bauto-?renew|successive\s+(?:[\w-]+\s+){0,2}(?:periods?|terms?)\b|notice\s+of\s+non-?renewal|\bevergreen",
        ),
    ]
    .into_iter()
    .map(|(c, p)| (c, Regex::new(p).expect("the category rules are valid")))
    .collect()
});

static LIABILITY_CAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)liabilit[^.;]{0,200}?(?:limited\s+to|shall\s+not\s+exceed|not\s+to\s+exceed|\bcapped\b|\bcap\b)|(?:in\s+no\s+event|shall\s+not\s+exceed)[^.;]{0,200}?liab",
    )
    .expect("the cap pattern is valid")
});

/// The clause categories `text` speaks of.
pub fn categories(text: &str) -> Vec<&'static str> {
    let text = &text[..floor_boundary(text, MAX_SCAN_BYTES)];
    CATEGORY_RULES
        .iter()
        .filter(|(_, rule)| rule.is_match(text))
        .map(|(category, _)| *category)
        .collect()
}

/// The category `passage` speaks of most, by its words, with a confidence: more words
/// of it are surer, a tie with another category halves it. `None` when it speaks of none.
pub fn category_by_words(passage: &str) -> Option<(&'static str, f32)> {
    let passage = &passage[..floor_boundary(passage, MAX_SCAN_BYTES)];
    let mut hits: Vec<(&'static str, usize)> = CATEGORY_RULES
        .iter()
        .map(|(category, rule)| (*category, rule.find_iter(passage).take(10).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    hits.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let (category, most) = *hits.first()?;
    let tied = hits.get(1).is_some_and(|(_, n)| *n == most);
    let confidence = (0.4 + 0.1 * most.min(4) as f32) * if tied { 0.5 } else { 1.0 };
    Some((category, confidence))
}

/// Every finding for a contract with `text` and `terms` under `policy`, worst first.
pub fn assess(text: &str, terms: &Terms, policy: &Policy) -> Vec<Finding> {
    let text = &text[..floor_boundary(text, MAX_SCAN_BYTES)];
    let mut findings = Vec::new();
    let said = categories(text);
    for category in &policy.required_categories {
        let covered =
            said.contains(&category.as_str()) || terms.attached_categories.contains(category);
        if !covered && category != "other" {
            findings.push(Finding {
                code: "missing_clause".into(),
                severity: Severity::Medium,
                reason: format!(
                    "this contract type requires a {} clause and none was found",
                    category.replace('_', " ")
                ),
                category: Some(category.clone()),
                passage: None,
                standard: None,
            });
        }
    }
    let lower = text.to_lowercase();
    for term in &policy.forbidden_terms {
        let term_lower = term.to_lowercase();
        if let Some(at) = lower.find(&term_lower) {
            // `lower` can differ from `text` in length: quote from the lowered text.
            findings.push(Finding {
                code: "forbidden_term".into(),
                severity: Severity::High,
                reason: format!("the policy forbids {term:?}"),
                category: None,
                passage: Some(sentence(&lower, at, at + term_lower.len())),
                standard: None,
            });
        }
    }
    if policy.require_liability_cap && said.contains(&"liability") && !LIABILITY_CAP.is_match(text)
    {
        findings.push(Finding {
            code: "no_liability_cap".into(),
            severity: Severity::High,
            reason: "the contract speaks of liability but no sentence limits it".into(),
            category: Some("liability".into()),
            passage: None,
            standard: None,
        });
    }
    let found = terms::extract(text);
    let of = |field: Field| found.iter().find(|f| f.field == field);
    if let Some(max) = policy.max_payment_days {
        let (days, passage) = match (terms.payment_terms_days, of(Field::PaymentTermsDays)) {
            (Some(days), _) => (Some(days), None),
            (None, Some(f)) => (f.value.as_i64(), Some(f.passage.clone())),
            (None, None) => (None, None),
        };
        if let Some(days) = days.filter(|d| *d > i64::from(max)) {
            findings.push(Finding {
                code: "payment_terms_too_long".into(),
                severity: Severity::Medium,
                reason: format!(
                    "payment is due after {days} days; the policy allows at most {max}"
                ),
                category: Some("payment".into()),
                passage,
                standard: None,
            });
        }
    }
    if policy.renewal_needs_notice {
        let renewal = of(Field::AutoRenew).filter(|f| f.value == true);
        let renews = terms.auto_renew || renewal.is_some();
        let notice = terms.renewal_notice_days.is_some() || of(Field::RenewalNoticeDays).is_some();
        if renews && !notice {
            findings.push(Finding {
                code: "renewal_without_notice".into(),
                severity: Severity::Medium,
                reason:
                    "the contract renews by itself and no notice period to stop it is set or stated"
                        .into(),
                category: None,
                passage: renewal.map(|f| f.passage.clone()),
                standard: None,
            });
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// The level of a contract with `findings`: its worst.
pub fn level(findings: &[Finding]) -> Severity {
    findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::None)
}

/// The sentence of `text` around `start..end` (byte offsets on char boundaries).
fn sentence(text: &str, start: usize, end: usize) -> String {
    let from = text[..start].rfind(['.', '\n', ';']).map_or(0, |i| i + 1);
    let to = text[end..]
        .find(['.', '\n', ';'])
        .map_or(text.len(), |i| end + i + 1);
    let quoted: String = text[from..to].trim().chars().take(400).collect();
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            forbidden_terms: vec!["unlimited liability".into()],
            max_payment_days: Some(45),
            require_liability_cap: true,
            renewal_needs_notice: true,
            required_categories: vec![
                "payment".into(),
                "confidentiality".into(),
                "governing_law".into(),
            ],
        }
    }

    #[test]
    fn a_clean_contract_has_no_findings() {
        let text = "Customer pays each invoice within thirty (30) days of receipt of the invoice. \
                    Each party keeps the other's confidential information secret. \
                    The supplier's liability is limited to the fees paid in the last twelve months. \
                    This Agreement is governed by the laws of Scotland.";
        let findings = assess(text, &Terms::default(), &policy());
        assert_eq!(findings, vec![]);
        assert_eq!(level(&findings), Severity::None);
    }

    #[test]
    fn every_rule_of_the_policy_finds_its_breach_with_a_reason() {
        let text = "The supplier accepts unlimited liability for any loss. \
                    Customer pays each invoice within ninety (90) days of receipt of the invoice. \
                    This agreement renews automatically for successive one-year terms.";
        let findings = assess(text, &Terms::default(), &policy());
        let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "forbidden_term",
                "no_liability_cap",
                "missing_clause",
                "missing_clause",
                "payment_terms_too_long",
                "renewal_without_notice"
            ]
        );
        assert_eq!(level(&findings), Severity::High);
        let missing: Vec<_> = findings
            .iter()
            .filter_map(|f| f.category.as_deref())
            .collect();
        assert!(
            missing.contains(&"confidentiality") && missing.contains(&"governing_law"),
            "{missing:?}"
        );
        assert!(findings[0]
            .passage
            .as_deref()
            .unwrap()
            .contains("unlimited liability"));
        assert!(findings[4]
            .passage
            .as_deref()
            .unwrap()
            .contains("ninety (90) days"));
    }

    #[test]
    fn the_contracts_own_fields_and_clauses_count() {
        let text =
            "This agreement renews automatically for successive terms. Fees are payable net 60.";
        let terms = Terms {
            auto_renew: true,
            renewal_notice_days: Some(30),
            payment_terms_days: Some(30),
            attached_categories: vec!["confidentiality".into(), "governing_law".into()],
        };
        assert_eq!(assess(text, &terms, &policy()), vec![]);
    }

    #[test]
    fn the_quick_start_lease_lacks_only_a_termination_clause_under_the_defaults() {
        let script = include_str!("../../../scripts/run.sh");
        let line = script
            .lines()
            .find(|l| l.contains("\"title\":\"Office lease"))
            .expect("the demo lease in scripts/run.sh");
        let lease: serde_json::Value =
            serde_json::from_str(line.trim().trim_end_matches(" \\").trim_matches('\''))
                .expect("the demo lease is JSON");
        let defaults = Policy {
            forbidden_terms: vec![],
            max_payment_days: None,
            require_liability_cap: true,
            renewal_needs_notice: true,
            // What the built-in lease type requires.
            required_categories: vec!["payment".into(), "termination".into()],
        };
        let findings = assess(
            lease["body"].as_str().unwrap(),
            &Terms::default(),
            &defaults,
        );
        let found: Vec<_> = findings
            .iter()
            .map(|f| (f.code.as_str(), f.category.as_deref()))
            .collect();
        assert_eq!(found, [("missing_clause", Some("termination"))]);
        assert_eq!(level(&findings), Severity::Medium);
    }

    #[test]
    fn a_passage_is_given_the_category_it_speaks_of_most() {
        let (category, sure) = category_by_words(
            "Each party keeps the other's confidential information confidential.",
        )
        .unwrap();
        assert_eq!(category, "confidentiality");
        let (_, tied) = category_by_words("Fees; confidential.").unwrap();
        assert!(tied < sure, "{tied} < {sure}");
        assert_eq!(category_by_words("The sky is blue."), None);
    }

    #[test]
    fn the_law_a_contract_is_under_is_named_in_more_ways_than_governed_by() {
        for passage in [
            "Dutch law applies. Disputes go to the court in Rotterdam.",
            "New York law governs this Agreement.",
            "This contract is subject to the law of the Federal Republic of Germany.",
            "This contract is submitted to French law.",
        ] {
            assert_eq!(
                category_by_words(passage).map(|(c, _)| c),
                Some("governing_law"),
                "{passage}"
            );
        }
        for passage in [
            "The Caterer will comply with food hygiene law and keep its rating.",
            "To the extent permitted by applicable law, the supplier is not liable.",
        ] {
            assert_ne!(
                category_by_words(passage).map(|(c, _)| c),
                Some("governing_law"),
                "{passage}"
            );
        }
    }

    #[test]
    fn restrictive_covenants_assignment_and_renewal_have_categories_of_their_own() {
        for (passage, expected) in [
            (
                "While employed, you must not work for a competitor without our permission.",
                "non_compete",
            ),
            (
                "For twelve months the Employee shall not solicit any client of the Firm.",
                "non_compete",
            ),
            (
                "The Tenant must not assign, underlet or charge the Premises without consent.",
                "assignment",
            ),
            (
                "Neither party may assign this Agreement without the other's written consent.",
                "assignment",
            ),
            (
                "Tenant shall not sublet the property or assign this lease.",
                "assignment",
            ),
            (
                "The subscription renews automatically for successive twelve-month periods.",
                "auto_renewal",
            ),
            (
                "This agreement is tacitly renewed for a further year each time.",
                "auto_renewal",
            ),
        ] {
            assert_eq!(
                category_by_words(passage).map(|(c, _)| c),
                Some(expected),
                "{passage}"
            );
        }
        // Assigning rights in work is intellectual property, and a competent court is
        // no competitor.
        for (passage, not) in [
            (
                "Contractor hereby assigns to Company all right, title and interest in all work product.",
                "assignment",
            ),
            (
                "Disputes are submitted to the competent court in Rotterdam.",
                "non_compete",
            ),
        ] {
            assert_ne!(
                category_by_words(passage).map(|(c, _)| c),
                Some(not),
                "{passage}"
            );
        }
    }

    #[test]
    fn hostile_text_is_bounded() {
        let text = format!("{}liability ", "é😀".repeat(300_000));
        let started = std::time::Instant::now();
        let _ = assess(&text, &Terms::default(), &policy());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
