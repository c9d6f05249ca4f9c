//! A contract weighed against its tenant's risk policy: which clause categories its
//! text covers, forbidden terms, a liability cap, payment terms, renewal notice, the
//! governing law and the length of the term.
//! Each finding says why, with the sentence where there is one. Pure: the service reads
//! the text, the contract's terms and the policy and stores what this returns.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::terms::{self, floor_boundary, Field, Found, MAX_SCAN_BYTES};
use super::limits::law_allowed;
use super::severities::{Severities, Severity};

/// One reason a contract is a risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// `missing_clause`, `forbidden_term`, `no_liability_cap`, `payment_terms_too_long`,
    /// `renewal_without_notice`, `renewal_notice_too_long`, `governing_law_not_allowed`,
    /// `term_too_long` or `deviates_from_standard`.
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
    /// The most days' notice stopping a renewal may take.
    pub max_renewal_notice_days: Option<i32>,
    /// The laws a contract may be governed by; empty, any.
    pub allowed_governing_laws: Vec<String>,
    /// The longest term, in months.
    pub max_term_months: Option<i32>,
    /// The categories the contract's type requires, when the policy checks them.
    pub required_categories: Vec<String>,
    /// How severe each finding is.
    pub severities: Severities,
}

/// What the contract's fields already say.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub auto_renew: bool,
    pub renewal_notice_days: Option<i32>,
    pub payment_terms_days: Option<i64>,
    /// Its `metadata.governing_law`.
    pub governing_law: Option<String>,
    /// Its term in whole months: from its start and end dates, else its
    /// `metadata.term_months`.
    pub term_months: Option<i64>,
    /// The categories of the library clauses attached to it.
    pub attached_categories: Vec<String>,
}

/// The words that say a passage is of a category: rules, because a category's
/// vocabulary is small and fixed, and they work without a model. Each category's words
/// in English, then German, French and Spanish: legal vocabularies of these languages
/// hardly share a word, so one pattern reads a text in any of them.
static CATEGORY_RULES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let words: [(&str, [&str; 4]); 14] = [
        (
            "payment",
            [
                r"\binvoice|\bpayment|\bfees?\b|\bpayable\b|\b(?:shall|will|must|agrees?\s+to|undertakes?\s+to)\s+pay\b|\bsalary\b|\brent\b|\broyalt(?:y|ies)\b|\binstal?ments?\b|\bpurchase\s+price\b|\bhire\s+charges?\b",
                r"\brechnung|\bzahlung|\bzahlbar|\bzu\s+(?:be)?zahlen\b|\bvergütung|\bentgelt|\bhonorar|\bmiete\b",
                r"\bfactur|\bpaiement|\bpayables?\b|\bhonoraires\b|\bredevance|\bloyer\b",
                r"\bfactura|\bpagos?\b|\bpagader[oa]\b|\bhonorarios\b|\brenta\b|\bcuota\b",
            ],
        ),
        (
            "liability",
            [
                r"\bliabilit|\bliable\b",
                r"\bhaftung|\bhaftet\b|\bhaften\b",
                r"\bresponsabilit[ée]",
                r"\bresponsabilidad|\brespond(?:e|erá)n?\s+de\b",
            ],
        ),
        (
            "confidentiality",
            [
                r"\bconfidential",
                r"\bvertraulich|\bgeheimhaltung|\bgeheim\s+zu\s+halten",
                r"\bconfidentiel|\bconfidentialit",
                r"\bconfidencial|\bsecreto\b",
            ],
        ),
        (
            "termination",
            [
                r"\bterminat|\b(?:may|can|to)\s+(?:cancel|end)\s+(?:this|the)\s+(?:agreement|contract|lease|licen[cs]e|consignment|booking|engagement|tenancy|subscription|sponsorship|appointment)\b|\bending\s+(?:this|the)\s+(?:agreement|contract|lease|licen[cs]e|tenancy)\b|\b(?:unless|if)\s+(?:\w+\s+){0,3}cancel(?:s|led)\b|\bcancellation\b",
                r"kündig(?:t|en|ung)",
                r"\brésili|\bdénonc|\bmettre\s+fin\s+(?:au|à)\b|\by\s+mettre\s+fin\b",
                r"\bresci(?:ndir|sión)|\bresolver\s+el\s+contrato|\bresolución\s+del\s+contrato",
            ],
        ),
        (
            "indemnity",
            [
                r"\bindemnif|\bhold\s+harmless",
                r"\bfreistell|\bschadlos",
                r"\bindemnis|\bgarantir\s+(?:le|la|l')\s*\p{Lu}[\w-]*\s+contre",
                r"\bindemnizar|\bindemne\b",
            ],
        ),
        (
            "governing_law",
            [
                r"governed\s+by|governing\s+law|laws\s+of\s+the|\blaw\s+(?:applies|shall\s+apply|governs|will\s+govern)|subject\s+to\s+the\s+laws?\s+of|submitted\s+to\s+\w+\s+law\b",
                r"\b(?:unterliegt|untersteht)\s+(?:dem\s+)?(?:\w+\s+)?recht|\bes\s+gilt\s+(?:das\s+)?(?:\w+\s+)?recht|anwendbares?\s+recht|\brecht\s+(?:anzuwenden|anwendbar)",
                r"\brégie?s?\s+par\s+(?:le\s+droit|les\s+lois)|\bsoumise?s?\s+(?:au\s+droit|aux\s+lois)|\bdroit\s+applicable|\b(?:au|le|du)\s+droit\s+(?:français|belge|suisse|luxembourgeois|québécois|allemand|anglais|espagnol|italien)",
                r"\bse\s+regir[áa]n?\s+por|\bse\s+rigen?\s+por|\b(?:ley|legislación)\s+aplicable|\bse\s+someten\s+a\s+(?:las\s+leyes|la\s+legislación)|\blegislación\s+\w+(?:ana|ina|ola|esa)\b",
            ],
        ),
        (
            "intellectual_property",
            [
                r"intellectual\s+property|\bcopyright|\bpatent|\bwork\s+product\b|\b(?:trade|service)\s?marks?\b|\bthe\s+marks\b|\blogos?\b|\b(?:results|deliverables|reports|content|materials|designs|inventions)\s+(?:shall\s+|will\s+)?(?:belongs?|vests?|becomes?)\s+(?:to|in|the)\b|\bowns?\s+(?:all\s+)?(?:the\s+)?(?:content|results|deliverables|reports|materials|designs|inventions)\b",
                r"geistige[ns]?\s+eigentum|\burheberrecht|\bnutzungsrecht",
                r"propriété\s+intellectuelle|\bdroits?\s+d'auteur|\bbrevet",
                r"propiedad\s+intelectual|\bderechos?\s+de\s+autor|\bpatente",
            ],
        ),
        (
            "warranty",
            [
                r"\bwarrant",
                r"\bgewährleist|\bgewähr\b|\bgarantie",
                r"\bgarantit\b|\bgarantie\s+(?:des|de|contre)\b|\bvices\s+cachés",
                r"\bgarantiza|\bgarantía",
            ],
        ),
        (
            "force_majeure",
            [
                r"force\s+majeure|beyond\s+(?:its|their)\s+reasonable\s+control",
                r"höhere[nr]?\s+gewalt",
                r"\bforce\s+majeure",
                r"fuerza\s+mayor|caso\s+fortuito",
            ],
        ),
        (
            "data_protection",
            [
                r"personal\s+data|data\s+protection|\bGDPR\b",
                r"personenbezogene[nr]?\s+daten|\bdatenschutz|\bDSGVO\b",
                r"données\s+(?:à\s+caractère\s+)?personnelles|protection\s+des\s+données|\bRGPD\b",
                r"datos\s+personales|protección\s+de\s+datos|\bRGPD\b",
            ],
        ),
        (
            "dispute_resolution",
            [
                r"\barbitrat|\bdisputes?\b",
                r"\bschiedsgericht|\bschlichtung|\bstreitigkeit",
                r"\barbitrage|\blitiges?\b|\bdifférends?\b|\bmédiation",
                r"\barbitraje|\bcontroversias?\b|\bdisputas?\b|\bmediación",
            ],
        ),
        // Restrictive covenants: competing and soliciting. `compet` alone would take
        // "the competent court".
        (
            "non_compete",
            [
                r"non-?compet|\bcompet(?:e|es|ing|itors?)\b|non-?solicit|\bsolicit\b|restrictive\s+covenant|restraint\s+of\s+trade",
                r"\bwettbewerbsverbot|\babwerb",
                r"non-?concurrence|\bfaire\s+concurrence|\bactivité\s+concurrente|\bdébauch",
                r"\bno\s+competencia|\bno\s+competir|\bcompetencia\s+desleal",
            ],
        ),
        // Handing the contract on, not assigning rights in work: "assigns to the Customer
        // all intellectual property" is intellectual property.
        (
            "assignment",
            [
                r"\b(?:not|never)\s+(?:\w+\s+){0,3}assign\b|\bneither\s+party\s+(?:may|shall|will)\s+assign|\bassign(?:s|ed|ment)?\s+(?:or\s+\w+\s+)?(?:this|the)\s+(?:agreement|contract|lease)\b|\bassign\s+or\s+transfer\b|\btransfer\s+or\s+assign\b|\bnovat|change\s+of\s+control",
                r"\babtret|\brechte\s+und\s+pflichten\s+aus\s+diesem\s+vertrag\b[^.]{0,80}übertrag",
                r"\bcéder\s+(?:le\s+(?:présent\s+)?(?:contrat|bail)|ses\s+droits)|\bcession\s+du\s+(?:présent\s+)?(?:contrat|bail)",
                r"\bceder\s+(?:el\s+(?:presente\s+)?contrato|sus\s+derechos)|\bcesión\s+del\s+(?:presente\s+)?contrato",
            ],
        ),
        (
            "auto_renewal",
            [
                r"renew(?:s|ed)?\s+automatically|automatically\s+(?:be\s+)?(?:renew|extend)|\btacit(?:ly)?\s+renew|\bauto-?renew|successive\s+(?:[\w-]+\s+){0,2}(?:periods?|terms?)\b|notice\s+of\s+non-?renewal|\bevergreen",
                r"verlängert\s+sich|\bstillschweigend\s+verlänger|\bautomatisch\s+(?:um|verlänger)",
                r"tacite\s+reconduction|reconduit\s+tacitement|tacitement\s+reconduit|renouvel\w*\s+(?:automatiquement|tacitement|par\s+tacite)",
                r"\bse\s+(?:prorrogará|renovará)\s+(?:automática|tácita)mente|\bprórroga\s+(?:automática|tácita)|\brenovación\s+automática",
            ],
        ),
    ];
    let mut rules: Vec<_> = words
        .into_iter()
        .map(|(category, languages)| {
            let pattern = ascii_boundaries(&format!("(?i){}", languages.join("|")));
            (
                category,
                Regex::new(&pattern).expect("the category rules are valid"),
            )
        })
        .collect();
    // A tie goes to the mechanism a few words name exactly: a renewal clause speaks of
    // the notice that stops it ("unless terminated", "gekündigt", "dénonciation"), and
    // is still a renewal clause.
    rules.sort_by_key(|(category, _)| !MECHANISMS.contains(category));
    rules
});

/// The categories that are a mechanism named in a few words, first on a tie.
const MECHANISMS: [&str; 3] = ["auto_renewal", "assignment", "non_compete"];

/// Words that deny a renewal just before its words ("shall not renew automatically",
/// "ne sera pas renouvelé tacitement", "sin prórroga automática") or just after them
/// ("verlängert sich nicht").
static DENIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:not|no|never|nicht|keine?|ne|pas|sin|ohne|jamais)\b")
        .expect("the denial pattern is valid")
});

/// A company's legal form that names liability: "a Minnesota limited liability
/// company", "UG (haftungsbeschränkt)", "société à responsabilité limitée". A party
/// named so has no liability clause.
static COMPANY_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)limited\s+liability\s+(?:company|partnership)|beschränkter\s+haftung|haftungsbeschränkt|responsabilité\s+limitée|responsabilidad\s+limitada",
    )
    .expect("the company form pattern is valid")
});

/// The places `rule` finds its category's words in `text`, less a renewal denied and
/// liability in a company's name.
fn said<'t>(
    category: &str,
    rule: &'t Regex,
    text: &'t str,
) -> impl Iterator<Item = regex::Match<'t>> + 't {
    let (renewal, liability) = (category == "auto_renewal", category == "liability");
    let around = move |m: &regex::Match<'_>, before: usize, after: usize| {
        (
            &text[floor_boundary(text, m.start().saturating_sub(before))..m.start()],
            &text[m.end()..floor_boundary(text, m.end() + after)],
        )
    };
    rule.find_iter(text).filter(move |m| {
        if renewal {
            let (before, after) = around(m, 16, 8);
            return !(DENIAL.is_match(before) || DENIAL.is_match(after));
        }
        if liability {
            let (before, after) = around(m, 20, 20);
            return !COMPANY_FORM.is_match(&format!("{before}{}{after}", m.as_str()));
        }
        true
    })
}

/// `pattern` with its word boundaries ASCII ones. A Unicode boundary makes the fast
/// engine give up on the first letter outside ASCII, and with four languages' words
/// in one pattern no literal prefilter spares it the slow one: a page of emoji took
/// seconds. Every boundary here stands beside an ASCII letter, where both agree.
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

static LIABILITY_CAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&ascii_boundaries(concat!(
        r"(?i)liabilit[^.;]{0,200}?(?:limited\s+to|shall\s+not\s+exceed|not\s+to\s+exceed|\bcapped\b|\bcap\b)|(?:in\s+no\s+event|shall\s+not\s+exceed)[^.;]{0,200}?liab",
        r"|\bhaft[^.;]{0,200}?(?:\bbegrenzt|\bbeschränkt|\bhöchstens|\bmaximal)",
        r"|responsabilit[ée][^.;]{0,200}?(?:limitée|plafonnée|\bexcéder|\bdépasser)",
        r"|responsabilidad[^.;]{0,200}?(?:limitad[ao]|se\s+limita|\bexceder)",
    )))
    .expect("the cap pattern is valid")
});

/// The clause categories `text` speaks of.
pub fn categories(text: &str) -> Vec<&'static str> {
    let text = &text[..floor_boundary(text, MAX_SCAN_BYTES)];
    CATEGORY_RULES
        .iter()
        .filter(|(category, rule)| said(category, rule, text).next().is_some())
        .map(|(category, _)| *category)
        .collect()
}

/// How often `text` says each category's words (up to ten), most first; a tie keeps
/// the rules' order, mechanisms first. The categories listed are [`categories`]'.
pub fn word_hits(text: &str) -> Vec<(&'static str, usize)> {
    let text = &text[..floor_boundary(text, MAX_SCAN_BYTES)];
    let mut hits: Vec<(&'static str, usize)> = CATEGORY_RULES
        .iter()
        .map(|(category, rule)| (*category, said(category, rule, text).take(10).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    hits.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    hits
}

/// The confidence of a category said `most` times, halved when another ties with it.
fn word_confidence(most: usize, tied: bool) -> f32 {
    (0.4 + 0.1 * most.min(4) as f32) * if tied { 0.5 } else { 1.0 }
}

/// The category `passage` speaks of most, by its words, with a confidence: more words
/// of it are surer, a tie with another category halves it. `None` when it speaks of none.
pub fn category_by_words(passage: &str) -> Option<(&'static str, f32)> {
    most_said(&word_hits(passage))
}

/// The first of [`word_hits`], with its confidence as [`category_by_words`] gives it.
pub fn most_said(hits: &[(&'static str, usize)]) -> Option<(&'static str, f32)> {
    let (category, most) = *hits.first()?;
    let tied = hits.get(1).is_some_and(|(_, n)| *n == most);
    Some((category, word_confidence(most, tied)))
}

/// The categories that some sentence of `passage` is about on its own, by its words (a
/// sentence whose words name one category more than any other), each once, with the
/// surest such sentence's confidence, in the order first said. A paragraph holding a
/// law clause and its courts has one sentence of each.
pub fn categories_by_sentence(passage: &str) -> Vec<(&'static str, f32)> {
    let passage = &passage[..floor_boundary(passage, MAX_SCAN_BYTES)];
    let mut found: Vec<(&'static str, f32)> = Vec::new();
    for (start, end) in terms::sentences(passage) {
        let hits = word_hits(&passage[start..end]);
        let Some(&(category, most)) = hits.first() else {
            continue;
        };
        if hits.get(1).is_some_and(|(_, n)| *n == most) {
            continue;
        }
        let confidence = word_confidence(most, false);
        match found.iter_mut().find(|(c, _)| *c == category) {
            Some(held) => held.1 = held.1.max(confidence),
            None => found.push((category, confidence)),
        }
    }
    found
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
                severity: policy.severities.missing(category),
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
                severity: policy.severities.forbidden_term.into(),
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
            severity: policy.severities.no_liability_cap.into(),
            reason: "the contract speaks of liability but no sentence limits it".into(),
            category: Some("liability".into()),
            passage: None,
            standard: None,
        });
    }
    let found = terms::extract(text);
    let of = |field: Field| found.iter().find(|f| f.field == field);
    if let Some(max) = policy.max_payment_days {
        let (days, passage) = stated(terms.payment_terms_days, of(Field::PaymentTermsDays));
        if let Some(days) = days.filter(|d| *d > i64::from(max)) {
            findings.push(Finding {
                code: "payment_terms_too_long".into(),
                severity: policy.severities.payment_terms_too_long.into(),
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
                severity: policy.severities.renewal_without_notice.into(),
                reason:
                    "the contract renews by itself and no notice period to stop it is set or stated"
                        .into(),
                category: None,
                passage: renewal.map(|f| f.passage.clone()),
                standard: None,
            });
        }
    }
    if let Some(max) = policy.max_renewal_notice_days {
        let (days, passage) = stated(
            terms.renewal_notice_days.map(i64::from),
            of(Field::RenewalNoticeDays),
        );
        if let Some(days) = days.filter(|d| *d > i64::from(max)) {
            findings.push(Finding {
                code: "renewal_notice_too_long".into(),
                severity: policy.severities.renewal_notice_too_long.into(),
                reason: format!(
                    "stopping its renewal takes {days} days' notice; the policy allows at most {max}"
                ),
                category: Some("auto_renewal".into()),
                passage,
                standard: None,
            });
        }
    }
    if !policy.allowed_governing_laws.is_empty() {
        let (law, passage) = match (&terms.governing_law, of(Field::GoverningLaw)) {
            (Some(law), _) => (Some(law.clone()), None),
            (None, Some(f)) => (f.value.as_str().map(str::to_owned), Some(f.passage.clone())),
            (None, None) => (None, None),
        };
        if let Some(law) = law.filter(|law| !law_allowed(law, &policy.allowed_governing_laws)) {
            findings.push(Finding {
                code: "governing_law_not_allowed".into(),
                severity: policy.severities.governing_law_not_allowed.into(),
                reason: format!(
                    "it is governed by the law of {law}; the policy allows {}",
                    policy.allowed_governing_laws.join(", ")
                ),
                category: Some("governing_law".into()),
                passage,
                standard: None,
            });
        }
    }
    if let Some(max) = policy.max_term_months {
        let (months, passage) = stated(terms.term_months, of(Field::TermMonths));
        if let Some(months) = months.filter(|m| *m > i64::from(max)) {
            findings.push(Finding {
                code: "term_too_long".into(),
                severity: policy.severities.term_too_long.into(),
                reason: format!("its term is {months} months; the policy allows at most {max}"),
                category: None,
                passage,
                standard: None,
            });
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// A number the contract's fields hold, else the one its text states with the passage
/// saying it: a field a person set or accepted outranks a reading of the text.
fn stated(field: Option<i64>, read: Option<&Found>) -> (Option<i64>, Option<String>) {
    match (field, read) {
        (Some(value), _) => (Some(value), None),
        (None, Some(f)) => (f.value.as_i64(), Some(f.passage.clone())),
        (None, None) => (None, None),
    }
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
mod tests;
