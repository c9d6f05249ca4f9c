//! A contract's terms read from its words by rules: the parties, the effective and end
//! dates, the term, renewal and its notice, the value and currency, the governing law
//! and the payment terms. Each finding carries the sentence it came from (with its
//! character offsets) and a confidence that says how strong the wording was: a
//! labelled "Effective Date: ..." is surer than "dated ...". Pure and bounded: the
//! `regex` crate matches in linear time, only the first [`MAX_MATCHES`] matches of a
//! rule are weighed, and text past [`MAX_SCAN_BYTES`] is not read.
//!
//! Rules, not the embedding model, because these terms are said in a few set phrases
//! that rules read exactly and explain (the sentence is the reason), while a sentence
//! vector says what a passage is about, not which date it names.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};
use serde_json::{json, Value};

/// How much of a text the rules read: terms are stated early, and a bound keeps a
/// hostile text's cost fixed.
pub const MAX_SCAN_BYTES: usize = 400_000;
/// The most matches of one rule that are weighed.
pub const MAX_MATCHES: usize = 200;
/// How far a passage reaches either side of its match when no sentence ends sooner.
const PASSAGE_REACH: usize = 300;

/// What a finding fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Parties,
    EffectiveDate,
    EndDate,
    TermMonths,
    AutoRenew,
    RenewalNoticeDays,
    Value,
    GoverningLaw,
    PaymentTermsDays,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Parties,
        Field::EffectiveDate,
        Field::EndDate,
        Field::TermMonths,
        Field::AutoRenew,
        Field::RenewalNoticeDays,
        Field::Value,
        Field::GoverningLaw,
        Field::PaymentTermsDays,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parties => "parties",
            Self::EffectiveDate => "effective_date",
            Self::EndDate => "end_date",
            Self::TermMonths => "term_months",
            Self::AutoRenew => "auto_renew",
            Self::RenewalNoticeDays => "renewal_notice_days",
            Self::Value => "value",
            Self::GoverningLaw => "governing_law",
            Self::PaymentTermsDays => "payment_terms_days",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }
}

/// A term found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub field: Field,
    /// A date as `YYYY-MM-DD`, a number, a boolean, a list of names, or for the value
    /// `{"amount": "120000.00", "currency": "USD"}`.
    pub value: Value,
    /// The sentence it was read from.
    pub passage: String,
    /// Where that sentence is in the text, in characters.
    pub start: usize,
    pub end: usize,
    /// From 0 to 1: how plainly the text says it.
    pub confidence: f32,
}

/// Every term the rules find in `text`, one (the surest, then the first) per field.
pub fn extract(text: &str) -> Vec<Found> {
    let text = &text[..floor_boundary(text, MAX_SCAN_BYTES)];
    let mut best: Vec<Found> = Vec::new();
    let mut offer = |found: Found| match best.iter_mut().find(|b| b.field == found.field) {
        Some(b) if b.confidence >= found.confidence => {}
        Some(b) => *b = found,
        None => best.push(found),
    };
    for rule in RULES.iter() {
        for caps in rule.pattern.captures_iter(text).take(MAX_MATCHES) {
            if let Some((value, confidence)) = (rule.read)(&caps, text) {
                let whole = caps.get(0).expect("group 0 always matches");
                let (start, end) = sentence_around(text, whole.start(), whole.end());
                offer(Found {
                    field: rule.field,
                    value,
                    passage: text[start..end].trim().to_owned(),
                    start: text[..start].chars().count(),
                    end: text[..start].chars().count() + text[start..end].chars().count(),
                    confidence: confidence.min(rule.confidence),
                });
            }
        }
    }
    best.sort_by_key(|f| f.field);
    best
}

/// A rule: a pattern, what a match of it says, and how sure a match of it is at most.
struct Rule {
    field: Field,
    confidence: f32,
    pattern: Regex,
    /// The value a match says and its confidence, or `None` when the match says nothing.
    read: fn(&Captures<'_>, &str) -> Option<(Value, f32)>,
}

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec";
/// A number in digits, in words, or both ("thirty (30)").
pub(super) const NUMBER: &str =
    r"(?:(?P<digits>\d{1,4})|(?P<words>(?:[a-z]+[- ])?[a-z]+)(?:\s*\((?P<paren>\d{1,4})\))?)";
const CURRENCY_CODES: &str =
    "USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|INR|CNY|SGD|HKD|ZAR|BRL|MXN";
const AMOUNT: &str = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,14}(?:\.\d{1,2})?";

pub(super) fn date_pattern() -> String {
    format!(
        r"(?P<date>(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?(?:{MONTHS})\.?,?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
    )
}

fn rule(
    field: Field,
    confidence: f32,
    pattern: &str,
    read: fn(&Captures<'_>, &str) -> Option<(Value, f32)>,
) -> Rule {
    Rule {
        field,
        confidence,
        pattern: Regex::new(pattern).expect("the rules' patterns are valid"),
        read,
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let date = date_pattern();
    let money = format!(
        r"(?:(?P<symbol>US\$|\$|€|£)\s?(?P<amount>{AMOUNT})|(?P<code>{CURRENCY_CODES})\s?(?P<amount2>{AMOUNT})|(?P<amount3>{AMOUNT})\s?(?P<code2>{CURRENCY_CODES})\b)"
    );
    vec![
        rule(
            Field::EffectiveDate,
            0.9,
            &format!(r"(?i)effective\s+date\W{{0,6}}(?:means\s+|shall\s+be\s+|is\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(r"(?i)effective\s+(?:as\s+of|from|on)\s+(?:the\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.75,
            &format!(r"(?i)(?:commenc\w*|start\w*|begin\w*)\s+on\s+(?:the\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.6,
            &format!(
                r"(?i)(?:made|entered\s+into|dated)\s+(?:and\s+entered\s+into\s+)?(?:as\s+of\s+|on\s+|this\s+)?(?:the\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.9,
            &format!(
                r"(?i)(?:expiration|expiry|end|termination)\s+date\W{{0,6}}(?:means\s+|shall\s+be\s+|is\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.8,
            &format!(
                r"(?i)(?:expire|expires|terminate|terminates|end|ends)\s+on\s+(?:the\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.6,
            &format!(r"(?i)\b(?:until|through)\s+(?:the\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::TermMonths,
            0.8,
            &format!(r"(?i)\bterm\s+of\s+{NUMBER}\s+(?P<unit>months?|years?)\b"),
            read_term,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(
                r"(?i)\bfor\s+(?:a\s+period\s+of\s+)?{NUMBER}\s+(?P<unit>months?|years?)\s+(?:from|after|following|commencing)"
            ),
            read_term,
        ),
        rule(
            Field::AutoRenew,
            0.85,
            r"(?i)(?:shall|will|does|do)\s+not\s+(?:be\s+)?(?:automatically\s+)?renew|\bno\s+automatic\s+renewal|\bnot\s+renew\s+automatically",
            |_, _| Some((json!(false), 1.0)),
        ),
        rule(
            Field::AutoRenew,
            0.8,
            r"(?i)automatically\s+(?:be\s+)?(?:renew|extend)|renew\w*\s+automatically|\bauto-?renew|successive\s+(?:renewal\s+)?(?:terms|periods)",
            read_renewal,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)\b{NUMBER}\s+(?:calendar\s+)?days['’]?\s+(?:prior\s+|advance\s+)?(?:written\s+)?notice"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)notice\s+of\s+non-renewal\s+(?:at\s+least\s+|no\s+later\s+than\s+)?{NUMBER}\s+days"
            ),
            read_renewal_notice,
        ),
        rule(Field::Value, 0.8, &money, read_value),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i:governed\s+by|construed\s+in\s+accordance\s+with|subject\s+to)[^.;]{0,60}?(?i:laws?\s+of)\s+(?:the\s+)?(?P<place>(?:(?:State|Commonwealth|Province|Canton|Republic|Kingdom)\s+of\s+)?\p{Lu}[\w]+(?:\s+(?:and\s+)?\p{Lu}[\w]+){0,3})",
            read_place,
        ),
        rule(
            Field::GoverningLaw,
            0.9,
            r"(?i:governing\s+law)\s*:\s*(?:the\s+laws?\s+of\s+)?(?:the\s+)?(?P<place>(?:(?:State|Commonwealth|Province|Canton|Republic|Kingdom)\s+of\s+)?\p{Lu}[\w]+(?:\s+(?:and\s+)?\p{Lu}[\w]+){0,3})",
            read_place,
        ),
        rule(
            Field::PaymentTermsDays,
            0.85,
            &format!(
                r"(?i)within\s+{NUMBER}\s+(?:calendar\s+|business\s+)?days\s+(?:of|after|from|following)\s+(?:the\s+)?(?:date\s+of\s+)?(?:the\s+)?(?:receipt\s+of\s+)?(?:the\s+|an?\s+|each\s+|such\s+|any\s+)?(?:invoice|receipt)"
            ),
            read_payment_days,
        ),
        rule(
            Field::PaymentTermsDays,
            0.75,
            r"(?i)\bnet\s*(?P<digits>\d{1,3})\b",
            read_payment_days,
        ),
        rule(
            Field::Parties,
            0.8,
            r"(?i:between)\s+(?P<a>[A-Z][^,()\n]{1,80}?)\s*(?:(?:,|\()[^\n]{0,300}?\band|\band)\s+(?P<b>[A-Z][^,()\n]{1,80}?)\s*(?:,|\(|\.\s+\p{Lu}|\.$|\n|$)",
            read_parties,
        ),
    ]
});

fn read_date(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    let date = parse_date(caps.name("date")?.as_str())?;
    Some((json!(date.format("%Y-%m-%d").to_string()), 1.0))
}

/// A date in one of the forms the rules match: "March 1, 2025", "1st March 2025",
/// "1 day of March, 2025", "2025-03-01".
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .filter(|w| {
            !w.is_empty() && !w.eq_ignore_ascii_case("day") && !w.eq_ignore_ascii_case("of")
        })
        .map(|w| {
            w.trim_end_matches(|c: char| {
                c.is_ascii_alphabetic() && w.starts_with(|s: char| s.is_ascii_digit())
            })
            .to_ascii_lowercase()
        })
        .collect();
    let [first, second, year] = words.as_slice() else {
        return None;
    };
    let (month, day) = match month_number(first) {
        Some(m) => (m, second),
        None => (month_number(second)?, first),
    };
    NaiveDate::from_ymd_opt(year.parse().ok()?, month, day.parse().ok()?)
}

fn month_number(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = word.get(..3)?;
    NAMES
        .iter()
        .position(|n| *n == prefix)
        .map(|i| i as u32 + 1)
}

/// The number a [`NUMBER`] match says: the digits in parentheses win over the words.
pub(super) fn number(caps: &Captures<'_>) -> Option<u32> {
    if let Some(d) = caps.name("paren").or_else(|| caps.name("digits")) {
        return d.as_str().parse().ok();
    }
    word_number(caps.name("words")?.as_str())
}

/// "thirty", "twenty-four", "ninety" as a number; `None` for any other word.
pub fn word_number(words: &str) -> Option<u32> {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let lower = words.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    let value = |w: &str| {
        UNITS.iter().position(|u| *u == w).or_else(|| {
            TENS.iter()
                .position(|t| !t.is_empty() && *t == w)
                .map(|t| t * 10)
        })
    };
    match parts.as_slice() {
        [one] => value(one).map(|v| v as u32),
        // "twenty-four"; else the last word ("least sixty" from "at least sixty").
        [tens, unit] => match (value(tens), value(unit)?) {
            (Some(t), u) if t >= 20 && t % 10 == 0 && (1..10).contains(&u) => Some((t + u) as u32),
            _ => value(unit).map(|v| v as u32),
        },
        _ => None,
    }
}

fn read_term(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    let n = number(caps)?;
    let months = if caps
        .name("unit")?
        .as_str()
        .to_ascii_lowercase()
        .starts_with('y')
    {
        n.checked_mul(12)?
    } else {
        n
    };
    (1..=1200).contains(&months).then(|| (json!(months), 1.0))
}

fn read_renewal(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    // "...shall not automatically renew" is read by the rule before; a negation just
    // before this match makes it say nothing.
    let start = caps.get(0)?.start();
    let before = &text[floor_boundary(text, start.saturating_sub(30))..start];
    let negated = before.to_ascii_lowercase().contains(" not ") || before.ends_with("not ");
    (!negated).then_some((json!(true), 1.0))
}

fn read_renewal_notice(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    // A notice period is the renewal's only where its sentence speaks of renewal.
    if !text[start..end].to_ascii_lowercase().contains("renew") {
        return None;
    }
    let days = number(caps)?;
    (days <= 3650).then(|| (json!(days), 1.0))
}

fn read_payment_days(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let days = number(caps)?;
    if !(1..=365).contains(&days) {
        return None;
    }
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = text[start..end].to_ascii_lowercase();
    let about_paying = ["pay", "invoice", "due", "remit"]
        .iter()
        .any(|w| sentence.contains(w));
    about_paying.then(|| (json!(days), 1.0))
}

fn read_value(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let amount = caps
        .name("amount")
        .or_else(|| caps.name("amount2"))
        .or_else(|| caps.name("amount3"))?
        .as_str()
        .replace(',', "");
    let currency = match caps.name("symbol").map(|s| s.as_str()) {
        Some("$" | "US$") => "USD",
        Some("€") => "EUR",
        Some("£") => "GBP",
        Some(_) => return None,
        None => caps.name("code").or_else(|| caps.name("code2"))?.as_str(),
    };
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = text[start..end].to_ascii_lowercase();
    // What the contract is worth is said with one of these words; an amount without
    // them (a late fee, an insurance minimum) is not its value.
    let confidence = if [
        "total",
        "aggregate",
        "contract value",
        "not to exceed",
        "contract price",
    ]
    .iter()
    .any(|w| sentence.contains(w))
    {
        0.8
    } else if ["fee", "price", "consideration", "pay", "compensation"]
        .iter()
        .any(|w| sentence.contains(w))
    {
        0.55
    } else {
        return None;
    };
    let amount = match amount.split_once('.') {
        Some((whole, cents)) => format!("{whole}.{cents:0<2}"),
        None => format!("{amount}.00"),
    };
    Some((
        json!({ "amount": amount, "currency": currency }),
        confidence,
    ))
}

fn read_place(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    let place = caps.name("place")?.as_str().trim();
    // A capitalised word that is not a place ends it ("New York Without regard ...").
    let place = place
        .split_whitespace()
        .take_while(|w| !["Without", "Excluding", "Except", "Notwithstanding"].contains(w))
        .collect::<Vec<_>>()
        .join(" ");
    // A heading followed by a sentence ("Governing Law: This Agreement ...") names no place.
    let sentence_start = ["This ", "The ", "Each ", "Any "]
        .iter()
        .any(|w| place.starts_with(w));
    (!place.is_empty() && !sentence_start).then(|| (json!(place), 1.0))
}

fn read_parties(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    let clean = |name: &str| name.trim().trim_end_matches([',', ';']).trim().to_owned();
    let (a, b) = (
        clean(caps.name("a")?.as_str()),
        clean(caps.name("b")?.as_str()),
    );
    // "between the parties and ..." or a sentence of lower-case words is not a pair of names.
    let named = |n: &str| {
        !n.is_empty()
            && n.split_whitespace().count() <= 8
            && !["The Parties", "The Company", "Each"].contains(&n)
    };
    (named(&a) && named(&b) && a != b).then(|| (json!([a, b]), 1.0))
}

/// The sentence (or line) around `start..end`, as byte offsets, reaching at most
/// [`PASSAGE_REACH`] bytes either side.
pub(super) fn sentence_around(text: &str, start: usize, end: usize) -> (usize, usize) {
    let from = floor_boundary(text, start.saturating_sub(PASSAGE_REACH));
    let to = floor_boundary(text, end.saturating_add(PASSAGE_REACH).min(text.len()));
    let before = &text[from..start];
    let begin = before
        .rmatch_indices([';', '\n'])
        .map(|(i, s)| from + i + s.len())
        .chain(before.rmatch_indices(". ").map(|(i, _)| from + i + 2))
        .max()
        .unwrap_or(from);
    let after = &text[end..to];
    let finish = after
        .match_indices([';', '\n'])
        .map(|(i, _)| end + i + 1)
        .chain(after.match_indices(". ").map(|(i, _)| end + i + 1))
        .chain(after.ends_with('.').then_some(to))
        .min()
        .unwrap_or(to);
    (begin, finish)
}

/// The largest char boundary of `text` at or below `at`.
pub(super) fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests;
