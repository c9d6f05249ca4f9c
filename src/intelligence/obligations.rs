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
    days_per, incumbent_party, inverted_opening, judge_incumbent, name_of, opens_sentence,
    opens_with_pronoun, resolve_pronoun, Antecedent, Earlier, Grammar, Opening, GRAMMARS,
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
    let mut found: Vec<Found> = Vec::new();
    for (language, grammar) in GRAMMARS
        .iter()
        .enumerate()
        .zip([true, german, french, spanish])
        .filter_map(|(grammar, read)| read.then_some(grammar))
    {
        for pattern in &grammar.binds {
            for caps in pattern.captures_iter(text).take(MAX_OBLIGATIONS * 2) {
                if let Some((obligation, subject)) = bound(text, grammar, &caps, &us) {
                    let whole = caps.get(0).expect("group 0 always matches");
                    let told_by_parties = told_by_parties(&caps, &obligation);
                    found.push(Found {
                        start: whole.start(),
                        end: whole.end(),
                        language,
                        obligation,
                        subject,
                        told_by_parties,
                    });
                }
            }
        }
    }
    // One obligation where two patterns (or languages) read the same words: the one
    // that starts first.
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    tell_subjects_by_parties(&mut found);
    let parties = named_parties(winners(&found));
    let mut before: Option<SentenceBefore> = None;
    let mut out: Vec<Obligation> = Vec::new();
    let mut taken_to = 0;
    for Found {
        start,
        end,
        language,
        mut obligation,
        subject,
        ..
    } in found
    {
        if start < taken_to {
            continue;
        }
        if let Subject::Earlier { pronoun, verb } = &subject {
            let Some(party) = before
                .as_ref()
                .and_then(|b| b.party_for(text, language, (pronoun, verb), &obligation, &parties))
            else {
                continue;
            };
            obligation.party = party;
        }
        taken_to = end;
        SentenceBefore::follow(&mut before, language, &obligation, &subject);
        out.push(obligation);
        if out.len() == MAX_OBLIGATIONS {
            break;
        }
    }
    in_characters(text, &mut out);
    out
}

/// An obligation one pattern read, before `read` chooses among those that overlap.
struct Found {
    start: usize,
    end: usize,
    /// Its grammar's place in [`GRAMMARS`].
    language: usize,
    /// Its offsets are its sentence's, in bytes.
    obligation: Obligation,
    subject: Subject,
    /// A reading whose words do not tell subject from object, with the noun the other
    /// reading makes the party ("Ware" in "Die Ware liefert die Lieferantin", none in
    /// "Abonará la Cuota"): kept only if the rest of the text tells
    /// (`tell_subjects_by_parties`).
    told_by_parties: Option<String>,
}

/// Whether a match's words leave open which name is the subject: a German object first
/// with "die" for both ("Die Ware liefert die Lieferantin"), or a Spanish future or
/// present before a name ("abonará el Arrendatario un interés" names its subject;
/// "Asimismo, abonará la Cuota", whose subject is unsaid, names its object). "Deberá"
/// is not among them: an infinitive follows the subject ("Deberá el Arrendador
/// notificar").
fn told_by_parties(caps: &Captures<'_>, obligation: &Obligation) -> Option<String> {
    let die_for_both = caps.name("object").is_some() && caps["party"].starts_with("die ");
    let after_its_verb = caps.name("verb_first").is_some()
        && !caps
            .name("modal")
            .is_some_and(|modal| modal.as_str().to_lowercase().starts_with("deber"));
    if die_for_both {
        Some(opening_noun(&obligation.action).to_owned())
    } else {
        after_its_verb.then(String::new)
    }
}

/// Keeps a reading whose words leave the subject open (`told_by_parties`) only where
/// the text binds its party by name in another sentence and never the other reading's
/// ("Lieferantin" but not "Ware"); otherwise the sentence is read as its language reads
/// it when nothing else tells: subject first in German, the subject unsaid in Spanish.
fn tell_subjects_by_parties(found: &mut Vec<Found>) {
    let mut open: Vec<usize> = found
        .iter()
        .filter(|f| f.told_by_parties.is_some())
        .map(|f| f.obligation.start_char)
        .collect();
    if open.is_empty() {
        return;
    }
    open.sort_unstable();
    let elsewhere = named_parties(
        found
            .iter()
            .filter(|f| open.binary_search(&f.obligation.start_char).is_err()),
    );
    let named = |name: &str| elsewhere.iter().any(|party| party == name);
    found.retain(|f| {
        f.told_by_parties
            .as_ref()
            .is_none_or(|other| named(name_of(&f.obligation.party)) && !named(other))
    });
}

/// The noun an object opens with, as a party would be named: "Ware" in "Die Ware",
/// "Kosten" in "Die Kosten der Anreise".
fn opening_noun(object: &str) -> &str {
    object.split_whitespace().nth(1).unwrap_or_default()
}

/// The readings that win where readings overlap, as `read` chooses them (but that it
/// may still drop a pronoun no sentence before stands for): a name only a losing
/// reading gave ("Die Ware" in "Die Ware liefert die Lieferantin", read object first)
/// is no party.
fn winners(found: &[Found]) -> impl Iterator<Item = &Found> {
    let mut taken_to = 0;
    found.iter().filter(move |f| {
        let wins = f.start >= taken_to;
        if wins {
            taken_to = f.end;
        }
        wins
    })
}

/// How an obligation's party stands in its sentence.
#[derive(Debug, PartialEq)]
enum Subject {
    /// Named, or a pronoun its sentence names, as the subject that opens the sentence:
    /// a pronoun in the sentence after may stand for it.
    Opens,
    /// Somewhere else in the sentence (after its verb, after an opening clause that
    /// names another, bound by a formula): no pronoun after it is read as it.
    Elsewhere,
    /// A pronoun (in lower case; empty where Spanish leaves it unsaid) that opens the
    /// sentence with no party named before it, and the verb that binds it ("shall",
    /// "doit", "versera"): the party of the sentence before, if that one binds one
    /// (`grammar::Earlier`).
    Earlier { pronoun: String, verb: String },
}

/// Every party the text binds by name, as a later sentence may name it (at most 50,
/// which a contract does not reach and a hostile text may not pass).
fn named_parties<'a>(found: impl Iterator<Item = &'a Found>) -> Vec<String> {
    let mut parties: Vec<String> = Vec::new();
    for f in found.filter(|f| !matches!(f.subject, Subject::Earlier { .. })) {
        let name = name_of(&f.obligation.party);
        if !name.is_empty() && !parties.iter().any(|p| p == name) {
            parties.push(name.to_owned());
            if parties.len() == 50 {
                break;
            }
        }
    }
    parties
}

/// The sentence of the last obligation kept, and the one party it binds at its
/// start, if it binds only one.
struct SentenceBefore {
    start: usize,
    end: usize,
    language: usize,
    party: Option<String>,
}

impl SentenceBefore {
    /// What the sentence before is once `obligation` is kept.
    fn follow(
        before: &mut Option<SentenceBefore>,
        language: usize,
        obligation: &Obligation,
        subject: &Subject,
    ) {
        let opens = *subject != Subject::Elsewhere;
        let party = opens.then(|| obligation.party.clone());
        match before {
            // A second party bound in the same sentence: a pronoun after it could be
            // either's.
            Some(same) if same.start == obligation.start_char => {
                if same.party != party {
                    same.party = None;
                }
            }
            _ => {
                *before = Some(SentenceBefore {
                    start: obligation.start_char,
                    end: obligation.end_char,
                    language,
                    party,
                });
            }
        }
    }

    /// The party a pronoun opening `obligation`'s sentence stands for: this sentence's,
    /// if it comes right before and its language's grammar reads it so.
    fn party_for(
        &self,
        text: &str,
        language: usize,
        (pronoun, verb): (&str, &str),
        obligation: &Obligation,
        parties: &[String],
    ) -> Option<String> {
        let next = obligation.start_char;
        let adjacent = self.end <= next && text[self.end..next].trim().is_empty();
        let party = self.party.as_ref()?;
        let reads = GRAMMARS[language].earlier?;
        let earlier = Earlier {
            pronoun,
            verb,
            party,
            sentence: &text[self.start..self.end],
            action: &obligation.action,
            parties,
        };
        (adjacent && self.language == language && reads(&earlier)).then(|| party.clone())
    }
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
/// judges that it binds, and how its party stands in its sentence.
fn bound(
    text: &str,
    grammar: &Grammar,
    caps: &Captures<'_>,
    us: &impl Fn() -> bool,
) -> Option<(Obligation, Subject)> {
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
    let incumbent = judge_incumbent(caps);
    let prohibition = match (present, incumbent) {
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
    // A Spanish verb before its subject ("Deberá el Arrendador notificar") opens the
    // sentence itself, or follows an opening phrase or clause and its comma.
    let verb_first = caps
        .name("verb_first")
        .map(|verb| opens_sentence(&text[start.min(verb.start())..verb.start()]));
    let mut subject = if opener.is_none()
        && caps.name("object").is_none()
        && incumbent.is_none()
        && verb_first.unwrap_or_else(|| opens_sentence(before))
    {
        Subject::Opens
    } else {
        Subject::Elsewhere
    };
    if let Some(pronoun) = pronoun {
        // "It" opening a sentence is "it".
        let pronoun = pronoun.as_str().to_lowercase();
        let resolved = resolve_pronoun(grammar.antecedent, before, &pronoun, &caps["action"]);
        match resolved {
            Antecedent::Named(named) if names_a_party(grammar, &named) => {
                // The clause's subject is the main clause's too.
                party = named;
                subject = Subject::Opens;
            }
            Antecedent::Unnamed if grammar.earlier.is_some() && opens_with_pronoun(before) => {
                // `read` names it from the sentence before, or drops it.
                let verb = caps.name("modal").or(caps.name("present"));
                subject = Subject::Earlier {
                    pronoun,
                    verb: verb.map(|v| v.as_str().to_owned()).unwrap_or_default(),
                };
            }
            _ => return None,
        }
    }
    let opens = match (opening, caps.name("object")) {
        // The clause that names a pronoun's party opens the sentence.
        _ if pronoun.is_some() => true,
        _ if verb_first.is_some() => verb_first == Some(true),
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
    let obligation = Obligation {
        due: due(grammar, &timed, us),
        party,
        action,
        prohibition,
        attachment_id: None,
        passage: text[start..end].trim().to_owned(),
        // In bytes until `read` has chosen what it keeps.
        start_char: start,
        end_char: end,
    };
    Some((obligation, subject))
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
mod order_tests;

#[cfg(test)]
mod tests;
