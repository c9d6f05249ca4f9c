//! Obligations: the sentences of a contract that bind a party ("Customer shall pay
//! ...", "Each party must ...", "the Supplier agrees to ..."), with the party, the
//! action, whether it is a prohibition ("shall not"), and the due time where the
//! sentence states one: a period ("within 30 days of receipt of the invoice"), a date
//! ("by March 1, 2026") or a recurrence ("monthly"). Read by rules, per request, from
//! the body and the read files; bounded as the term rules are. Read in English, and in
//! German, French and Spanish where the text is written in them (`grammar`).

mod grammar;

use std::cell::OnceCell;

use regex::Captures;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::indexing::{sources_for, texts};
use super::terms::{self, floor_boundary, parse_date_as, sentence_around};
use crate::kernel::language::other_languages;
use crate::kernel::{DomainError, Principal};
use crate::tenancy::scoped::TenantDb;
use grammar::{
    days_per, incumbent_party, inverted_opening, judge_incumbent, opens_sentence, resolve_pronoun,
    Grammar, Opening, GRAMMARS,
};

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

/// The obligations in `text`, in order: read by the English grammar and by that of
/// each other language the text is written in.
pub fn read(text: &str) -> Vec<Obligation> {
    let text = &text[..floor_boundary(text, terms::MAX_SCAN_BYTES)];
    // How its dates in digits are ordered, looked for once, when a due date needs it.
    let us = OnceCell::new();
    let us = || *us.get_or_init(|| terms::us_usage(text));
    let [german, french, spanish] = other_languages(text);
    let mut found: Vec<(usize, usize, Obligation)> = Vec::new();
    for (grammar, _) in GRAMMARS
        .iter()
        .zip([true, german, french, spanish])
        .filter(|(_, read)| *read)
    {
        for pattern in &grammar.binds {
            for caps in pattern.captures_iter(text).take(MAX_OBLIGATIONS * 2) {
                if let Some(obligation) = bound(text, grammar, &caps, &us) {
                    let whole = caps.get(0).expect("group 0 always matches");
                    found.push((whole.start(), whole.end(), obligation));
                }
            }
        }
    }
    // One obligation where two patterns (or languages) read the same words: the one
    // that starts first.
    found.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
    let mut out: Vec<Obligation> = Vec::new();
    let mut taken_to = 0;
    for (start, end, obligation) in found {
        if start < taken_to {
            continue;
        }
        taken_to = end;
        out.push(obligation);
        if out.len() == MAX_OBLIGATIONS {
            break;
        }
    }
    in_characters(text, &mut out);
    out
}

/// Turns the kept obligations' offsets from bytes into characters, counting the text
/// once: counted from its start for each, a hostile text's thousands of matches
/// would cost its length each.
fn in_characters(text: &str, obligations: &mut [Obligation]) {
    let mut bytes: Vec<usize> = obligations
        .iter()
        .flat_map(|o| [o.start_char, o.end_char])
        .collect();
    bytes.sort_unstable();
    bytes.dedup();
    let (mut counted, mut at) = (0, 0);
    let chars: Vec<usize> = bytes
        .iter()
        .map(|&byte| {
            counted += text[at..byte].chars().count();
            at = byte;
            counted
        })
        .collect();
    let char_at = |byte: usize| chars[bytes.binary_search(&byte).expect("every offset is counted")];
    for obligation in obligations {
        obligation.start_char = char_at(obligation.start_char);
        obligation.end_char = char_at(obligation.end_char);
    }
}

/// The obligation a match of `grammar` makes, if its party is one and the grammar
/// judges that it binds.
fn bound(
    text: &str,
    grammar: &Grammar,
    caps: &Captures<'_>,
    us: &impl Fn() -> bool,
) -> Option<Obligation> {
    let whole = caps.get(0).expect("group 0 always matches");
    let named = incumbent_party(caps).expect("every pattern names its party");
    let cut = after_sentence_end(named.as_str());
    let pronoun = caps.name("pronoun");
    let mut party = named.as_str()[cut..].trim().to_owned();
    if pronoun.is_none() && !names_a_party(grammar, &party) {
        return None;
    }
    let present = grammar
        .present
        .as_ref()
        .filter(|_| caps.name("present").is_some());
    let prohibition = match (present, judge_incumbent(caps)) {
        (Some(duty), _) => duty.judge(caps)?,
        (None, Some(incumbent)) => incumbent?,
        (None, None) => (grammar.judge)(caps)?,
    };
    let party_at = named.start() + cut;
    // A party that begins a sentence of its own begins the passage too.
    let from = if cut > 0 { party_at } else { whole.start() };
    let (start, end) = sentence_around(text, from, whole.end());
    let before = &text[start.min(party_at)..party_at];
    // A verb before its subject has what opens its clause to judge, and a due time
    // ("Monatlich legt ...") may be said in an opening phrase.
    let opener = caps
        .name("present")
        .filter(|_| caps.name("inverted").is_some())
        .map(|verb| &text[start.min(verb.start())..verb.start()]);
    let opening = opener.map(inverted_opening);
    if let Some(pronoun) = pronoun {
        party = resolve_pronoun(
            grammar.antecedent,
            before,
            pronoun.as_str(),
            &caps["action"],
        )?;
        if !names_a_party(grammar, &party) {
            return None;
        }
    }
    let opens = match (opening, caps.name("object")) {
        // The clause that names a pronoun's party opens the sentence.
        _ if pronoun.is_some() => true,
        (Some(opening), _) => opening.is_some(),
        // An object before the verb opens the sentence, as a party would.
        (None, Some(object)) => opens_sentence(&text[start.min(object.start())..object.start()]),
        (None, None) => present.is_none() || opens_sentence(before),
    };
    if (grammar.not_subject)(before) || !opens {
        return None;
    }
    let action = caps["action"].trim().to_owned();
    let timed = match (opener, opening) {
        (Some(opener), Some(Some(Opening::Phrase))) => format!("{opener} {action}"),
        _ => action.clone(),
    };
    Some(Obligation {
        due: due(grammar, &timed, us),
        party,
        action,
        prohibition,
        attachment_id: None,
        passage: text[start..end].trim().to_owned(),
        // In bytes until `read` has chosen what it keeps.
        start_char: start,
        end_char: end,
    })
}

/// Whether `party` may be one by its last word: not the contract or one of its parts.
fn names_a_party(grammar: &Grammar, party: &str) -> bool {
    let last = party.rsplit(' ').next().unwrap_or_default().to_lowercase();
    !grammar.not_parties.contains(&last.as_str())
}

/// Short words a point follows inside a name: "Acme Corp. Ltd", "Dr. Weber".
const ABBREVIATIONS: &[&str] = &[
    "co", "corp", "inc", "ltd", "bros", "plc", "llc", "mr", "mrs", "ms", "dr", "prof", "jr", "sr",
    "sra", "st", "no", "nr", "hr", "fr", "mme", "mlle", "cie", "ste",
];
/// Words that name a part of a contract, so that a point after the part's letter or
/// number ends a sentence: "... the unit prices in Exhibit B. Buyer shall pay".
const PARTS: &[&str] = &[
    "exhibit",
    "schedule",
    "annex",
    "appendix",
    "attachment",
    "section",
    "clause",
    "article",
    "part",
    "anlage",
    "anhang",
    "annexe",
    "anexo",
];

/// Where a party's name begins once the end of a sentence before it is cut off. A name
/// may hold points ("Acme Corp. Ltd", "U.S. Steel", "John F. Smith"), but a point after
/// a whole word that is no abbreviation ("Price. Buyer") or after the letter of a part
/// of the contract ("Exhibit B. Buyer") ends the sentence before the party's.
fn after_sentence_end(party: &str) -> usize {
    let mut begins = 0;
    let mut chars = party.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let ends = c == '.' && chars.peek().is_some_and(|(_, next)| next.is_whitespace());
        if !ends {
            continue;
        }
        let mut words = party[..at].split_whitespace().rev();
        let last = words.next().unwrap_or_default();
        let before = words.next().unwrap_or_default().to_lowercase();
        let whole_word = last.chars().count() >= 2
            && last.chars().all(char::is_alphabetic)
            && !ABBREVIATIONS.contains(&last.to_lowercase().as_str());
        if whole_word || PARTS.contains(&before.as_str()) {
            begins = party[at + 1..]
                .find(|c: char| !c.is_whitespace())
                .map_or(party.len(), |offset| at + 1 + offset);
        }
    }
    begins
}

/// When `action` says it is due, in `grammar`'s words.
fn due(grammar: &Grammar, action: &str, us: &impl Fn() -> bool) -> Option<Due> {
    let mut due = Due::default();
    if let Some(caps) = grammar.within.captures(action) {
        let n = terms::number(&caps)?;
        due.within_days = Some(n.saturating_mul(days_per(&caps["unit"])));
        due.after = caps.name("after").map(|a| a.as_str().trim().to_owned());
    }
    if let Some(caps) = grammar.by_date.captures(action) {
        due.date =
            parse_date_as(&caps["date"], us()).map(|(d, _)| d.format("%Y-%m-%d").to_string());
    }
    due.recurs = grammar
        .recurs
        .iter()
        .filter_map(|(words, named)| words.find(action).map(|m| (m.start(), *named)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, named)| named.to_owned());
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
mod language_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn obligations(text: &str) -> Vec<Obligation> {
        read(text)
    }

    #[test]
    fn a_party_never_reaches_back_over_the_end_of_a_sentence() {
        let found = obligations(
            "The unit prices are in Exhibit B. Buyer shall pay undisputed invoices net 45 days. \
             It covers the Purchase Price. Seller shall deliver the goods. \
             Acme Corp. Ltd shall insure the goods. \
             John F. Smith shall sign the delivery notes.",
        );
        let parties: Vec<&str> = found.iter().map(|o| o.party.as_str()).collect();
        assert_eq!(
            parties,
            ["Buyer", "Seller", "Acme Corp. Ltd", "John F. Smith"]
        );
        assert_eq!(
            found[0].passage,
            "Buyer shall pay undisputed invoices net 45 days."
        );
        assert_eq!(found[1].passage, "Seller shall deliver the goods.");
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
    fn liability_permissions_passives_warranties_and_objects_bind_no_one() {
        for text in [
            "Neither party shall be liable for lost profits.",
            "Neither party shall be held responsible for delay caused by flood.",
            "Escrow Agent shall not be liable for any action taken in good faith.",
            "Neither party shall be in breach if it is prevented by a Force Majeure Event.",
            "The University shall be free to publish the Results.",
            "Products shall be sold at Supplier's then-current price list.",
            "Disputes shall be resolved by binding arbitration in Phoenix.",
            "Information marked confidential shall not be published without consent.",
            "Seller warrants that all Products will be free from defects.",
            "The Supplier warrants that the Services will be performed with care.",
            "Each party's total liability in each Contract Year shall not exceed the Charges.",
        ] {
            assert!(
                obligations(text).is_empty(),
                "{text}: {:?}",
                obligations(text)
            );
        }
        // What still binds: a duty worded as a passive of being bound, being responsible
        // for doing, and a party after a clause that names no preposition.
        for text in [
            "The Contractor shall be required to obtain every permit.",
            "The Supplier shall be responsible for obtaining every permit.",
            "Upon termination, the Customer shall return all materials.",
        ] {
            assert_eq!(obligations(text).len(), 1, "{text}");
        }
    }

    #[test]
    fn a_pronoun_after_a_clause_of_condition_binds_the_clauses_subject() {
        let found = obligations(
            "If the Customer disputes an invoice, it shall notify the Supplier within 10 days of receipt. \
             (b) Where the Supplier uses a subcontractor, it must not disclose Customer Data. \
             In the event that the Parties fail to agree, they shall refer the dispute to mediation. \
             Should Acme Logistics Ltd miss a delivery, then it will credit the fee. \
             If the Supplier appoints a subcontractor, it shall be responsible for its acts. \
             If the Customer requests additional services, it shall pay for them at the rates.",
        );
        let read: Vec<(&str, bool)> = found
            .iter()
            .map(|o| (o.party.as_str(), o.prohibition))
            .collect();
        assert_eq!(
            read,
            [
                ("the Customer", false),
                ("the Supplier", true),
                ("the Parties", false),
                ("Acme Logistics Ltd", false),
                ("the Supplier", false),
                ("the Customer", false),
            ]
        );
        assert!(found[0].action.starts_with("notify the Supplier"));
        assert_eq!(found[0].due.as_ref().unwrap().within_days, Some(10));
        assert!(found[0].passage.starts_with("If the Customer disputes"));
        // No antecedent in the sentence, one that is the contract, a passive, a
        // pronoun that cannot stand for several, or a second clause before it.
        for text in [
            "Upon the Customer's request, it shall provide a report.",
            "It shall also install the Goods.",
            "If the Agreement terminates, it shall cease to apply.",
            "If the Goods are damaged, they shall be replaced.",
            "If the Parties agree, it shall be recorded in writing.",
            "If the Parties fail to agree, it shall refer the dispute to mediation.",
            "If the Customer fails to pay, the Supplier may suspend, and it shall notify the bank.",
            "If any invoice is late, it shall bear interest.",
            "If the Customer is late, it shall be the Supplier's right to suspend.",
            "Where the Supplier agrees, it will be sufficient to send an email.",
            // Asked by one party, the other acts.
            "If the Customer so requests, it shall provide a copy of the report.",
            "If the Customer asks the Supplier to attend, it shall attend in person.",
        ] {
            assert!(
                obligations(text).is_empty(),
                "{text}: {:?}",
                obligations(text)
            );
        }
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
