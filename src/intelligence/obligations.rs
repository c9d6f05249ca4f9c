//! Obligations: the sentences of a contract that bind a party ("Customer shall pay
//! ...", "Each party must ...", "the Supplier agrees to ..."), with the party, the
//! action, whether it is a prohibition ("shall not"), and the due time where the
//! sentence states one: a period ("within 30 days of receipt of the invoice"), a date
//! ("by March 1, 2026") or a recurrence ("monthly"). Read by rules, per request, from
//! the body and the read files; bounded as the term rules are.

use std::cell::OnceCell;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::indexing::{sources_for, texts};
use super::terms::{self, date_pattern, floor_boundary, parse_date_as, sentence_around, NUMBER};
use crate::kernel::{DomainError, Principal};
use crate::tenancy::scoped::TenantDb;

/// The most obligations listed for one contract.
const MAX_OBLIGATIONS: usize = 1_000;

/// When an obligation is due, as far as its sentence says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Due {
    /// "within 30 days of ...": the days (months are 30 days each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
    /// ... of what ("receipt of the invoice").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// "by March 1, 2026": `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `daily`, `weekly`, `monthly`, `quarterly` or `annually`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurs: Option<String>,
}

/// A sentence that binds a party.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Obligation {
    /// Who is bound, as the text names them ("Customer", "Each party").
    pub party: String,
    /// What they must (or must not) do, as the text says it.
    pub action: String,
    /// "shall not", "must not": a prohibition.
    pub prohibition: bool,
    /// Null when the sentence states no time.
    pub due: Option<Due>,
    /// The file it is in; null for the body.
    pub attachment_id: Option<Uuid>,
    /// The sentence, and where it is in the text, in characters.
    pub passage: String,
    pub start_char: usize,
    pub end_char: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Obligations {
    pub contract_id: Uuid,
    /// In the order of the text.
    pub obligations: Vec<Obligation>,
}

static BINDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<party>\b(?:[Ee]ach|[Ee]ither|[Bb]oth|[Nn]either|[Tt]he)\s+[Pp]art(?:y|ies)|\b(?:[Ww]e|[Yy]ou)\b|\b(?:[Tt]he\s+)?\p{Lu}[\w'&-]*(?:\s+\p{Lu}[\w'&.-]*){0,3})(?:\s*\([^()\n]{1,60}\))?\s+(?P<modal>shall|must|will|agrees?\s+to|undertakes?\s+to|commits?\s+to|(?:is|are)\s+(?:required|obliged|obligated|bound)\s+to)(?P<not>\s+not)?\s+(?P<action>[^.;\n]{3,300})",
    )
    .expect("the obligation pattern is valid")
});

static WITHIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)within\s+{NUMBER}\s+(?:calendar\s+|business\s+|working\s+)?(?P<unit>days?|weeks?|months?)(?:\s+(?:of|after|from|following)\s+(?P<after>[^.,;]{{1,80}}))?"
    ))
    .expect("the period pattern is valid")
});

static BY_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:by|on|before|no\s+later\s+than)\s+(?:the\s+)?{}",
        date_pattern()
    ))
    .expect("the date pattern is valid")
});

static RECURS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(daily|weekly|monthly|quarterly|annually|yearly|each\s+(?:month|quarter|year))\b",
    )
    .expect("the recurrence pattern is valid")
});

/// Names that are the contract or its parts, not parties.
const NOT_PARTIES: [&str; 8] = [
    "agreement",
    "contract",
    "lease",
    "term",
    "clause",
    "section",
    "schedule",
    "order",
];

/// The obligations in `text`, in order.
pub fn read(text: &str) -> Vec<Obligation> {
    let text = &text[..floor_boundary(text, terms::MAX_SCAN_BYTES)];
    // How its dates in digits are ordered, looked for once, when a due date needs it.
    let us = OnceCell::new();
    let us = || *us.get_or_init(|| terms::us_usage(text));
    let mut out = Vec::new();
    for caps in BINDS.captures_iter(text).take(MAX_OBLIGATIONS * 2) {
        let party = caps["party"].trim().to_owned();
        let last = party.rsplit(' ').next().unwrap_or_default().to_lowercase();
        if NOT_PARTIES.contains(&last.as_str())
            || ["It", "This", "That", "There"].contains(&party.as_str())
        {
            continue;
        }
        let whole = caps.get(0).expect("group 0 always matches");
        let (start, end) = sentence_around(text, whole.start(), whole.end());
        let action = caps["action"].trim().to_owned();
        out.push(Obligation {
            due: due(&action, &us),
            party,
            action,
            prohibition: caps.name("not").is_some(),
            attachment_id: None,
            passage: text[start..end].trim().to_owned(),
            start_char: text[..start].chars().count(),
            end_char: text[..end].chars().count(),
        });
        if out.len() == MAX_OBLIGATIONS {
            break;
        }
    }
    out
}

/// When `action` says it is due.
fn due(action: &str, us: &impl Fn() -> bool) -> Option<Due> {
    let mut due = Due::default();
    if let Some(caps) = WITHIN.captures(action) {
        let n = terms::number(&caps)?;
        let unit = caps["unit"].to_ascii_lowercase();
        due.within_days = Some(match unit.chars().next() {
            Some('w') => n.saturating_mul(7),
            Some('m') => n.saturating_mul(30),
            _ => n,
        });
        due.after = caps.name("after").map(|a| a.as_str().trim().to_owned());
    }
    if let Some(caps) = BY_DATE.captures(action) {
        due.date =
            parse_date_as(&caps["date"], us()).map(|(d, _)| d.format("%Y-%m-%d").to_string());
    }
    if let Some(caps) = RECURS.captures(action) {
        let word = caps[1].to_ascii_lowercase();
        due.recurs = Some(
            match word.as_str() {
                "yearly" | "each year" => "annually",
                "each month" => "monthly",
                "each quarter" => "quarterly",
                other => other,
            }
            .to_owned(),
        );
    }
    (due != Due::default()).then_some(due)
}

/// `contract`'s obligations, for anyone who may read it and its original.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<Obligations, DomainError> {
    let (body, files) = sources_for(db, principal, contract).await?;
    let obligations = tokio::task::spawn_blocking(move || {
        let mut all: Vec<Obligation> = Vec::new();
        for (attachment, text) in texts(&body, &files) {
            all.extend(read(text).into_iter().map(|mut o| {
                o.attachment_id = attachment;
                o
            }));
        }
        all.truncate(MAX_OBLIGATIONS);
        all
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("reading obligations: {e}")))?;
    Ok(Obligations {
        contract_id: contract,
        obligations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obligations(text: &str) -> Vec<Obligation> {
        read(text)
    }

    #[test]
    fn sentences_that_bind_a_party_with_their_due_times() {
        let found = obligations(
            "1. Fees. Customer shall pay each invoice within thirty (30) days of receipt of the invoice. \
             This Agreement shall continue for one year. \
             The Supplier shall deliver the monthly service report by March 1, 2026. \
             Each party shall not disclose the other's confidential information.",
        );
        let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
        assert_eq!(parties, ["Customer", "The Supplier", "Each party"]);
        assert_eq!(
            found[0].due,
            Some(Due {
                within_days: Some(30),
                after: Some("receipt of the invoice".into()),
                ..Due::default()
            })
        );
        assert!(found[0].action.starts_with("pay each invoice"));
        assert_eq!(
            found[1].due.as_ref().unwrap().date.as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(
            found[1].due.as_ref().unwrap().recurs.as_deref(),
            Some("monthly")
        );
        assert!(found[2].prohibition && found[2].due.is_none());
        assert!(found[2]
            .passage
            .starts_with("Each party shall not disclose"));
    }

    #[test]
    fn a_due_date_in_digits_is_read_in_the_documents_usage() {
        let due = |text: &str| obligations(text)[0].due.clone().unwrap().date;
        let sentence = "The Supplier shall deliver the goods by 03/04/2026.";
        assert_eq!(due(sentence).as_deref(), Some("2026-04-03"));
        let american = format!("{sentence} This Agreement is governed by the laws of Texas.");
        assert_eq!(due(&american).as_deref(), Some("2026-03-04"));
    }

    #[test]
    fn plain_english_parties_named_with_their_role_and_plural_undertakings_bind() {
        let found = obligations(
            "Once you have paid in full, we will transfer the copyright to you. \
             Harvest Table Ltd (\"the Caterer\") will run the staff restaurant. \
             The parties shall attempt to settle disputes. \
             The Licensee is obliged to pay the fee. The Parties undertake to keep it secret. \
             The Translator commits to deliver each batch.",
        );
        let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
        assert_eq!(
            parties,
            [
                "we",
                "Harvest Table Ltd",
                "The parties",
                "The Licensee",
                "The Parties",
                "The Translator"
            ]
        );
        assert!(found[0].action.starts_with("transfer the copyright"));
    }

    #[test]
    fn hostile_text_is_bounded_and_offsets_are_characters() {
        let mut text = "😀 ".repeat(10_000);
        text.push_str("Customer shall pay within 2 weeks. ");
        text.push_str(&"Customer shall ".repeat(100_000));
        let started = std::time::Instant::now();
        let found = obligations(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert!(found.len() <= MAX_OBLIGATIONS);
        assert_eq!(found[0].due.as_ref().unwrap().within_days, Some(14));
        let chars: Vec<char> = text.chars().collect();
        let at: String = chars[found[0].start_char..found[0].end_char]
            .iter()
            .collect();
        assert_eq!(at.trim(), found[0].passage);
    }
}
