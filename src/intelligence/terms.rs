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

use regex::{Captures, Regex};
use serde_json::{json, Value};

use amount::read_value;
pub(super) use read::{floor_boundary, number, sentence_around, sentences};
pub use read::{parse_date, parse_date_as, us_usage, word_number};
use read::{
    read_date, read_end_date, read_labelled_start, read_parties, read_payment_days, read_place,
    read_renewal, read_renewal_notice, read_term, read_term_of_contract,
};
pub(super) use words::NUMBER as WRITTEN_NUMBER;

/// How much of a text the rules read: terms are stated early, and a bound keeps a
/// hostile text's cost fixed.
pub const MAX_SCAN_BYTES: usize = 400_000;
/// The most matches of one rule that are weighed.
pub const MAX_MATCHES: usize = 200;

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
    read::US_USAGE.with(|usage| usage.set(None));
    let mut best: Vec<Found> = Vec::new();
    let mut offer = |found: Found| match best.iter_mut().find(|b| b.field == found.field) {
        Some(b) if b.confidence >= found.confidence => {}
        Some(b) => *b = found,
        None => best.push(found),
    };
    let [german, french, spanish] = crate::kernel::language::other_languages(text);
    let read_in = [true, german, french, spanish];
    let rules = RULES
        .iter()
        .zip(read_in)
        .filter(|(_, read)| *read)
        .flat_map(|(rules, _)| rules);
    for rule in rules {
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
    if let Some(found) = parties::by_roles(text) {
        offer(found);
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
/// "1.234,56" or "120.000" (points group the thousands), "120 000" and "50'000"
/// (spaces and apostrophes do), "4,50,000" (Indian), "1,234.56", "1234", "1234,50";
/// read by [`amount::normal_amount`].
const AMOUNT: &str = r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?\b|\d{1,3}(?:[ \x{a0}\x{202f}']\d{3})+(?:[.,]\d{1,2})?\b|\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,14}(?:[.,]\d{1,2})?\b";

pub(super) fn date_pattern() -> String {
    named_date("date")
}

/// [`date_pattern`] with its group named `name`, for a rule with two dates.
fn named_date(name: &str) -> String {
    use words::MONTHS as FOREIGN_MONTHS;
    format!(
        r"(?P<{name}>\d{{1,2}}(?:\.|er|°|º)?\s+(?:de\s+)?(?:{FOREIGN_MONTHS})\.?\s+(?:de\s+|del\s+)?\d{{4}}|(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?(?:{MONTHS})\.?,?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}(?:\.\d{{1,2}}\.|/\d{{1,2}}/|-\d{{1,2}}-)\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2}}|\d{{2}}(?:\.\d{{2}}\.|-\d{{2}}-)\d{{2}})\b"
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

/// The two rules a span of dates makes ("vom X bis Y", "du X au Y"): its first date is
/// the start, its second (the group `end`) the end. `pattern` holds `{date}` and
/// `{end}` where the dates go.
fn span(confidence: f32, pattern: &str) -> [Rule; 2] {
    let pattern = pattern
        .replace("{date}", &date_pattern())
        .replace("{end}", &named_date("end"));
    [
        rule(Field::EffectiveDate, confidence, &pattern, read_date),
        rule(Field::EndDate, confidence, &pattern, read_end_date),
    ]
}

/// The rule for a contract's opening "between A and B" in another language: `opening`
/// and `and` are its words (patterns, matched in any case), `article` what may stand
/// before a name ("der", "la société"), `quotes` the quotation marks a name stops at.
fn between(opening: &str, and: &str, article: &str, quotes: &str) -> Rule {
    let name = format!(r"\p{{Lu}}[^,()\n{quotes}]{{1,80}}?");
    rule(
        Field::Parties,
        0.8,
        &format!(
            r"(?i:\b{opening})(?:\s+|\s*:\s*){article}(?P<a>{name})\s*(?:(?:,|\()(?s:.){{0,300}}?(?i:\b{and})|(?i:\b{and}))(?:\s+|\s*:\s*){article}(?P<b>{name})\s*(?:,|\(|\.\s+\p{{Lu}}|\.$|\n|$)"
        ),
        read_parties,
    )
}

/// The rules of English, German, French and Spanish, in that order; a text is read by
/// English's and by those of the other languages it is written in.
static RULES: LazyLock<[Vec<Rule>; 4]> = LazyLock::new(|| {
    let date = date_pattern();
    let money = format!(
        r"(?:(?P<symbol>US\$|\$|€|£|Rs\.?|₹)\s?(?P<amount>{AMOUNT})|(?P<code>{CURRENCY_CODES})\s?(?P<amount2>{AMOUNT})|(?P<amount3>{AMOUNT})\s?(?:(?P<code2>{CURRENCY_CODES})\b|(?P<symbol2>€|£|\$\s?CA\b|\$\s?CAN\b)|(?P<word>[Ee]uros?|Franken|francs\s+suisses|pesos\s+mexicanos)\b))"
    );
    let mut english = vec![
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
            &format!(r"(?i)(?:commenc\w*|start\w*|begin\w*)\s+(?:on\s+|from\s+)?(?:the\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.85,
            &format!(
                r"(?im)^[ \t]*(?:\d+\.[ \t]*)?(?P<label>[a-z][a-z ]{{0,40}}?)[ \t]*[:.][ \t]*{date}"
            ),
            read_labelled_start,
        ),
        rule(
            Field::EffectiveDate,
            0.8,
            &format!(r"(?i)\beffective\s+(?:the\s+)?{date}"),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.7,
            &format!(
                r"(?i)\b(?:signed|concluded|executed|entered\s+into|enters?\s+into\s+force|agreed?|apply|applies|intervened)\b[^.\n]{{0,40}}?\b(?:on|from|as\s+of)\s+(?:this\s+)?(?:the\s+)?{date}"
            ),
            read_date,
        ),
        rule(
            Field::EffectiveDate,
            0.75,
            &format!(
                r"(?i)\bfrom\s+(?:the\s+)?{date}\s+(?:to|until|till|through)\s+(?:the\s+)?{}",
                named_date("end")
            ),
            read_date,
        ),
        rule(
            Field::EndDate,
            0.75,
            &format!(
                r"(?i)\bfrom\s+(?:the\s+)?{date}\s+(?:to|until|till|through)\s+(?:the\s+)?{}",
                named_date("end")
            ),
            read_end_date,
        ),
        rule(
            Field::EndDate,
            0.85,
            &format!(
                r"(?im)^[ \t]*(?:\d+\.[ \t]*)?(?:[a-z]+[ \t]+)?(?:end|expiry|expiration)(?:[ \t]+date)?[ \t]*[:.][ \t]*{date}"
            ),
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
                r"(?i)\b(?:expir(?:e|es|ing)|terminat(?:e|es|ing)|end(?:s|ing)?)\s+on\s+(?:the\s+)?{date}"
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
                r"(?i)\bfor\s+(?:a\s+(?:fixed\s+)?period\s+of\s+)?{NUMBER}\s+(?P<unit>months?|years?)\s+(?:from|after|following|commencing|starting)"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.75,
            &format!(
                r"(?i)\b(?:term|period|duration)\b[^.;:\n]{{0,40}}?(?:\bis\b|\bof\b|:)\s*(?:a\s+(?:fixed\s+)?period\s+of\s+)?(?:about\s+)?{NUMBER}\s+(?P<unit>months?|years?)\b"
            ),
            read_term_of_contract,
        ),
        rule(
            Field::TermMonths,
            0.7,
            &format!(
                r"(?i)\b(?:continues?|runs?|lasts?|remains?\s+in\s+force|concluded|valid)\s+(?:for\s+)?(?:a\s+(?:fixed\s+)?period\s+of\s+)?{NUMBER}\s+(?P<unit>months?|years?)\b"
            ),
            read_term_of_contract,
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
            r"(?i)automatically\s+(?:be\s+)?(?:renew|extend)|renew\w*\s+automatically|\bauto-?renew|successive\s+(?:renewal\s+)?(?:terms|periods)|tacitly\s+(?:be\s+)?renew|rolls?\s+over\s+automatically",
            read_renewal,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)\b{NUMBER}\s+(?:calendar\s+)?(?P<unit>days?|weeks?|months?)(?:['’]s?)?\s+(?:prior\s+|advance\s+)?(?:written\s+)?notice"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.8,
            &format!(
                r"(?i)notice\s+of\s+non-renewal\s+(?:at\s+least\s+|no\s+later\s+than\s+)?(?:[a-z]+\s+){{0,4}}?{NUMBER}\s+days"
            ),
            read_renewal_notice,
        ),
        rule(
            Field::RenewalNoticeDays,
            0.75,
            &format!(
                r"(?i)(?:at\s+least|no\s+later\s+than|not\s+less\s+than)\s+{NUMBER}\s+(?:calendar\s+)?(?P<unit>days?|weeks?|months?)\s+(?:before|prior)"
            ),
            read_renewal_notice,
        ),
        rule(Field::Value, 0.8, &money, read_value),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i:governed\s+by|construed\s+in\s+accordance\s+with|subject\s+to)[^.;]{0,60}?(?i:laws?\s+of)\s+(?:the\s+)?(?P<place>(?:(?:State|Commonwealth|Province|Canton|Republic|Kingdom)\s+of\s+)?\p{Lu}[\w]+(?:\s+(?:and\s+|of\s+)?\p{Lu}[\w]+){0,3})",
            read_place,
        ),
        rule(
            Field::GoverningLaw,
            0.85,
            r"(?i:the\s+laws?\s+of)\s+(?:the\s+)?(?P<place>(?:(?:State|Commonwealth|Province|Canton|Republic|Kingdom)\s+of\s+)?\p{Lu}[\w]+(?:\s+(?:and\s+|of\s+)?\p{Lu}[\w]+){0,3})\s+(?i:govern|shall\s+govern|appl)",
            read_place,
        ),
        rule(
            Field::GoverningLaw,
            0.8,
            r"(?P<place>\p{Lu}[\w]+(?:\s+\p{Lu}[\w]+)?)\s+(?i:law)\s+(?i:governs|shall\s+govern|applies|shall\s+apply|is\s+applicable)",
            read_place,
        ),
        rule(
            Field::GoverningLaw,
            0.8,
            r"(?i:governed\s+by|submitted\s+to|subject\s+to|provisions\s+of)\s+(?:the\s+)?(?P<place>\p{Lu}[\w]+(?:\s+\p{Lu}[\w]+)?)\s+(?i:law)\b",
            read_place,
        ),
        rule(
            Field::GoverningLaw,
            0.8,
            r"(?i:governing\s+law)[^:\n]{0,20}:\s*(?P<place>\p{Lu}[\w]+)\s+(?i:law)\b",
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
            Field::PaymentTermsDays,
            0.65,
            &format!(r"(?i)\bwithin\s+{NUMBER}\s+(?:calendar\s+|business\s+|working\s+)?days\b"),
            read_payment_days,
        ),
        rule(
            Field::Parties,
            0.8,
            r"(?i:between)(?:\s+|\s*:\s*)(?:[Tt]he\s+)?(?P<a>[A-Z][^,()\n]{1,80}?)\s*(?:(?:,|\()[^\n]{0,300}?(?:\n[ \t]*)?\band|\band)\s+(?:[Tt]he\s+)?(?P<b>[A-Z][^,()\n]{1,80}?)\s*(?:,|\(|\.\s+\p{Lu}|\.$|\n|$)",
            read_parties,
        ),
    ];
    // A start and a length: "from 1 September 2025 for two years".
    let start_and_length = format!(
        r"(?i)\bfrom\s+(?:the\s+)?{date}\s+for\s+(?:a\s+(?:fixed\s+)?period\s+of\s+)?{NUMBER}\s+(?P<unit>months?|years?)\b"
    );
    english.push(rule(
        Field::EffectiveDate,
        0.7,
        &start_and_length,
        read_date,
    ));
    english.push(rule(Field::TermMonths, 0.75, &start_and_length, read_term));
    // A period given as "between 3 February 2025 and 28 November 2025": less sure
    // than "from ... to ...", the usual way of stating a contract's own period.
    english.extend(span(
        0.55,
        r"(?i)\bbetween\s+(?:the\s+)?{date}\s+and\s+(?:the\s+)?{end}",
    ));
    [english, de::rules(), fr::rules(), es::rules()]
});

mod amount;
mod de;
mod es;
mod fr;
#[cfg(test)]
mod language_tests;
mod parties;
mod read;
#[cfg(test)]
mod tests;
mod words;
