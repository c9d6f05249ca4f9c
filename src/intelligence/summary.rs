//! A contract at a glance, made on this server: an extractive summary (the sentences
//! that carry most of what the text is about, in their order) and a key-terms sheet
//! (each term as the contract holds it, else as its text states it, with the sentence).
//! Both read the contract's body as the reader may read it: a reader a redacted
//! original is kept from gets the summary of the copy.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::suggestions::held_value;
use super::terms::{self, floor_boundary, Field};
use crate::contracts::model::ContractView;
use crate::contracts::service as contracts;
use crate::kernel::{DomainError, Principal};
use crate::tenancy::scoped::TenantDb;

/// The most sentences a summary has, and the share of the text's it may take.
const MAX_SENTENCES: usize = 5;
const SHARE: usize = 5;
/// Sentences shorter or longer than these (in words) are not summary material.
const MIN_WORDS: usize = 6;
const MAX_WORDS: usize = 80;
/// The most sentences weighed.
const MAX_WEIGHED: usize = 5_000;

/// Words too common to say what a text is about.
const STOPWORDS: [&str; 40] = [
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "any",
    "all",
    "are",
    "such",
    "its",
    "will",
    "shall",
    "may",
    "not",
    "under",
    "other",
    "each",
    "which",
    "have",
    "has",
    "been",
    "upon",
    "into",
    "than",
    "then",
    "there",
    "their",
    "these",
    "those",
    "was",
    "were",
    "who",
    "but",
    "per",
    "our",
    "your",
    "also",
    "agreement",
];

/// A sentence of the summary, with where it is in the body, in characters.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SummarySentence {
    pub text: String,
    pub start_char: usize,
    pub end_char: usize,
}

/// A term of the contract and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyTerm {
    /// `parties`, `effective_date`, `end_date`, `term_months`, `auto_renew`,
    /// `renewal_notice_days`, `value`, `governing_law` or `payment_terms_days`.
    pub field: String,
    #[schema(value_type = Object)]
    pub value: Value,
    /// `contract` (its fields hold it) or `text` (read from its body; see its
    /// suggestions to accept it).
    pub source: &'static str,
    /// The sentence it was read from, for `text`.
    pub passage: Option<String>,
    /// How plainly the text says it, for `text`.
    pub confidence: Option<f32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub contract_id: Uuid,
    pub version: i32,
    /// Set when this is the summary of a redacted copy the reader reads in place of
    /// the original.
    pub body_redaction_id: Option<Uuid>,
    /// In the order of the text; empty for a body of few sentences.
    pub extractive: Vec<SummarySentence>,
    pub key_terms: Vec<KeyTerm>,
}

/// A contract's summary and key terms, for anyone who may read it.
pub async fn summarize(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<Summary, DomainError> {
    let view = contracts::get(db, principal, contract).await?;
    let body = view.body.clone().unwrap_or_default();
    let (extractive, found) =
        tokio::task::spawn_blocking(move || (extract(&body), terms::extract(&body)))
            .await
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("summarizing: {e}")))?;
    Ok(Summary {
        contract_id: view.id,
        version: view.version,
        body_redaction_id: view.body_redaction_id,
        extractive,
        key_terms: key_terms(&view, found),
    })
}

/// Each term as the contract holds it, else as the text states it.
fn key_terms(view: &ContractView, found: Vec<terms::Found>) -> Vec<KeyTerm> {
    Field::ALL
        .iter()
        .filter_map(|field| {
            let name = field.as_str();
            let held = match field {
                Field::Value => view
                    .value
                    .as_ref()
                    .map(|v| json!({"amount": v, "currency": view.currency})),
                _ => held_value(name, view),
            };
            if let Some(value) = held {
                return Some(KeyTerm {
                    field: name.to_owned(),
                    value,
                    source: "contract",
                    passage: None,
                    confidence: None,
                });
            }
            found.iter().find(|f| f.field == *field).map(|f| KeyTerm {
                field: name.to_owned(),
                value: f.value.clone(),
                source: "text",
                passage: Some(f.passage.clone()),
                confidence: Some(f.confidence),
            })
        })
        .collect()
}

fn words(sentence: &str) -> impl Iterator<Item = String> + '_ {
    sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
}

/// The sentences that carry most of what `text` is about: each scored by how often its
/// words occur in the whole text (each word once, averaged), more for one that states
/// an amount, a date or a duty; the best, at most one in five, in their order.
pub fn extract(text: &str) -> Vec<SummarySentence> {
    let text = &text[..floor_boundary(text, terms::MAX_SCAN_BYTES)];
    let all: Vec<(usize, usize)> = terms::sentences(text).take(MAX_WEIGHED).collect();
    let mut frequency: HashMap<String, usize> = HashMap::new();
    for (start, end) in &all {
        for word in words(&text[*start..*end]) {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let mut scored: Vec<(f64, usize, usize)> = all
        .iter()
        .filter_map(|&(start, end)| {
            let sentence = &text[start..end];
            let count = sentence.split_whitespace().count();
            if !(MIN_WORDS..=MAX_WORDS).contains(&count) {
                return None;
            }
            let unique: HashSet<String> = words(sentence).collect();
            if unique.is_empty() {
                return None;
            }
            let sum: usize = unique
                .iter()
                .map(|w| frequency.get(w).copied().unwrap_or(0))
                .sum();
            let mut score = sum as f64 / unique.len() as f64;
            let lower = sentence.to_lowercase();
            if sentence
                .chars()
                .any(|c| c.is_ascii_digit() || "$€£".contains(c))
            {
                score *= 1.2;
            }
            if [" shall ", " must ", " agrees to "]
                .iter()
                .any(|m| lower.contains(m))
            {
                score *= 1.1;
            }
            Some((score, start, end))
        })
        .collect();
    let keep = (all.len() / SHARE).clamp(1, MAX_SENTENCES);
    if scored.len() < 2 {
        return Vec::new();
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(keep);
    scored.sort_by_key(|s| s.1);
    scored
        .into_iter()
        .map(|(_, start, end)| SummarySentence {
            text: text[start..end].trim().to_owned(),
            start_char: text[..start].chars().count(),
            end_char: text[..end].chars().count(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: &str = "OFFICE LEASE\n\n\
        The landlord lets the office on the third floor to the tenant for use as offices.\n\
        The tenant shall pay rent of EUR 6,000 per month to the landlord in advance.\n\
        The weather in the city is often mild in spring and autumn.\n\
        The landlord keeps the office building insured and repairs the building structure.\n\
        The tenant shall not sublet the office without the landlord's written consent.\n\
        Parking is nearby.\n\
        Either party may end the lease of the office on three months written notice.\n\
        The tenant returns the office to the landlord in the state the tenant received it.\n\
        Music plays quietly in the lobby on most afternoons of the week.\n\
        The rent of the office is reviewed every year against the consumer price index.";

    #[test]
    fn the_summary_keeps_what_the_text_is_about_in_its_order() {
        let summary = extract(LEASE);
        assert_eq!(
            summary.len(),
            2,
            "one in five of eleven sentences: {summary:?}"
        );
        let texts: Vec<&str> = summary.iter().map(|s| s.text.as_str()).collect();
        assert!(
            texts
                .iter()
                .all(|t| !t.contains("weather") && !t.contains("Music")),
            "{texts:?}"
        );
        assert!(summary[0].start_char < summary[1].start_char);
        let chars: Vec<char> = LEASE.chars().collect();
        let at: String = chars[summary[0].start_char..summary[0].end_char]
            .iter()
            .collect();
        assert_eq!(at.trim(), summary[0].text);
    }

    #[test]
    fn a_short_or_empty_text_has_no_summary_and_hostile_text_is_bounded() {
        assert!(extract("").is_empty());
        assert!(extract("Short. Text.").is_empty());
        let text = "😀 word ".repeat(200_000) + ".";
        let started = std::time::Instant::now();
        let _ = extract(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
