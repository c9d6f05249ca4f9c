//! What a rule's match says: a date, a number written in words or digits, a term, a
//! place whose law governs, the parties (an amount is [`super::amount`]'s); each reader
//! says nothing (`None`) when the match, read in its sentence, is not what its rule
//! looks for.

use std::cell::Cell;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};
use serde_json::{json, Value};

use super::words;

pub(super) fn read_date(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    read_date_named(caps, "date", text)
}

pub(super) fn read_end_date(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    read_date_named(caps, "end", text)
}

/// How sure a date in digits is whose order was taken from the document's usage (both
/// numbers 12 or less): a person should look before accepting it.
const ORDER_INFERRED: f32 = 0.5;

thread_local! {
    /// Whether the document [`super::extract`] is reading is written for the United
    /// States, found at the first date that needs it: every rule's reader gets the same
    /// document, so it is looked for once per call rather than once per date.
    pub(super) static US_USAGE: Cell<Option<bool>> = const { Cell::new(None) };
}

fn read_date_named(caps: &Captures<'_>, name: &str, text: &str) -> Option<(Value, f32)> {
    let found = caps.name(name)?.as_str();
    let us = NUMERIC_DATE.is_match(found)
        && US_USAGE.with(|usage| {
            let us = usage.get().unwrap_or_else(|| us_usage(text));
            usage.set(Some(us));
            us
        });
    let (date, inferred) = parse_date_as(found, us)?;
    let confidence = if inferred { ORDER_INFERRED } else { 1.0 };
    Some((json!(date.format("%Y-%m-%d").to_string()), confidence))
}

/// A date on a line of its own under a label that says the contract starts or is made
/// then ("Date:", "Start date of tenancy:", "Commencement:", "Signing:"); a label of an
/// end, a birth or an event says nothing.
pub(super) fn read_labelled_start(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let label = caps.name("label")?.as_str().to_ascii_lowercase();
    let starts = [
        "date",
        "start",
        "commencement",
        "signing",
        "signed",
        "effective",
        "entry into force",
        "begin",
    ]
    .iter()
    .any(|w| label.contains(w));
    let other = [
        "end",
        "expir",
        "termination",
        "until",
        "birth",
        "event",
        "due",
        "updated",
    ]
    .iter()
    .any(|w| label.contains(w));
    (starts && !other).then(|| read_date(caps, text)).flatten()
}

/// A duration in a sentence about the contract's own term, not a warranty's, an
/// option's or a restriction that outlives it.
pub(super) fn read_term_of_contract(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = text[start..end].to_lowercase();
    // A notice said after the term is the renewal's or the ending's ("for one year,
    // renewed unless either party gives notice"); one said before it is what the
    // duration measures ("on 90 days' notice ... for three months").
    let up_to_term = text[start..whole.end()].to_lowercase();
    let notice = ["notice", "kündigungsfrist", "préavis", "preaviso"]
        .iter()
        .any(|w| up_to_term.contains(w));
    let other = [
        "warrant",
        "defect",
        "option",
        "confidential",
        "after the end",
        "ends for",
        "thereafter",
        "vesting",
        "mileage",
        "gewährleist",
        "garant",
        "vertraulich",
        "nach ende",
        "opción",
        "confidencial",
    ]
    .iter()
    .any(|w| sentence.contains(w));
    if other || notice {
        return None;
    }
    read_term(caps, text)
}

/// A date in one of the forms the rules match: "March 1, 2025", "1st March 2025",
/// "1 day of March, 2025", "2025-03-01", and in digits "01.03.2025", "1/3/2025",
/// "1/3/25", "01.03.25" (day first, as most of the world writes it; [`parse_date_as`]
/// reads it as the United States do).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    parse_date_as(text, false).map(|(date, _)| date)
}

/// [`parse_date`] for a document written for the United States (`us`, see
/// [`us_usage`]) or not, and whether the order of its day and month was a choice: a
/// date in digits whose numbers could both be a month is read month first in the
/// United States' usage (with slashes or hyphens; dots are day first everywhere), day
/// first otherwise; one whose numbers can be read only one way is read that way.
pub fn parse_date_as(text: &str, us: bool) -> Option<(NaiveDate, bool)> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some((date, false));
    }
    if let Some(numbers) = NUMERIC_DATE.captures(text) {
        let (a, b): (u32, u32) = (numbers[1].parse().ok()?, numbers[3].parse().ok()?);
        let year = full_year(&numbers[4])?;
        let dots = &numbers[2] == ".";
        let month_first = if a > 12 {
            false
        } else if b > 12 {
            true
        } else {
            us && !dots
        };
        let (month, day) = if month_first { (a, b) } else { (b, a) };
        let chosen = a <= 12 && b <= 12 && a != b && !dots;
        return NaiveDate::from_ymd_opt(year, month, day).map(|date| (date, chosen));
    }
    parse_words_date(text).map(|date| (date, false))
}

/// A date in digits: day and month in either order, then a year of four digits or two,
/// one separator throughout.
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{1,2})([./-])(\d{1,2})[./-](\d{4}|\d{2})$").expect("a valid pattern")
});

/// The year a date in digits names: four digits as written; two read as POSIX's `%y`
/// reads them (00-68 in this century, 69-99 in the last), which suits the dates a
/// contract states, its own and those of the agreements it refers to.
fn full_year(digits: &str) -> Option<i32> {
    let year: i32 = digits.parse().ok()?;
    Some(match digits.len() {
        2 if year <= 68 => 2000 + year,
        2 => 1900 + year,
        _ => year,
    })
}

/// A document written for the United States: in English, naming the country, its
/// dollars, or the law of one of its states (a Colombian contract priced in dollars
/// still writes its dates day first).
pub fn us_usage(document: &str) -> bool {
    if !crate::kernel::language::english(document) {
        return false;
    }
    static SIGNS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"\b(?:United States|U\.S\.A?\.?|USD|US\$|(?:laws?\s+of\s+(?:the\s+)?(?:State\s+of\s+|Commonwealth\s+of\s+)?(?:{US_STATES})))\b"
        ))
        .expect("a valid pattern")
    });
    SIGNS.is_match(document)
}

const US_STATES: &str = "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|\
    Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|\
    Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|\
    New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|\
    Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|\
    West Virginia|Wisconsin|Wyoming|the District of Columbia";

/// "March 1, 2025", "1st March 2025", "1 day of March, 2025", "1. März 2025",
/// "1er mars 2025", "1 de marzo de 2025".
fn parse_words_date(text: &str) -> Option<NaiveDate> {
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !words::DATE_FILLERS.contains(&w.as_str()))
        .map(|w| {
            // "1st", "1er", "1°": the day's number without its ordinal ending.
            let digits = w.starts_with(|s: char| s.is_ascii_digit());
            w.trim_end_matches(|c: char| digits && (c.is_alphabetic() || c == '°' || c == 'º'))
                .to_owned()
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
    if let Some(month) = words::month(word) {
        return Some(month);
    }
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
pub(in crate::intelligence) fn number(caps: &Captures<'_>) -> Option<u32> {
    if let Some(d) = caps.name("paren").or_else(|| caps.name("digits")) {
        return d.as_str().parse().ok();
    }
    word_number(caps.name("words")?.as_str())
}

/// "thirty", "twenty-four", "ninety" (or a number in German, French or Spanish words,
/// "vierundzwanzig", "trente et un") as a number; `None` for any other word.
pub fn word_number(written: &str) -> Option<u32> {
    english_number(written).or_else(|| words::number(written))
}

fn english_number(words: &str) -> Option<u32> {
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

pub(super) fn read_term(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    let months = number(caps)?.checked_mul(words::months_per(caps.name("unit")?.as_str())?)?;
    (1..=1200).contains(&months).then(|| (json!(months), 1.0))
}

pub(super) fn read_renewal(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    // "...shall not automatically renew" is read by the rule before; a negation just
    // before this match makes it say nothing.
    let start = caps.get(0)?.start();
    let before = format!(
        " {}",
        text[floor_boundary(text, start.saturating_sub(30))..start].to_lowercase()
    );
    let negated = [" not ", " nicht ", " pas ", " no se ", " sin ", " sans "]
        .iter()
        .any(|w| before.contains(w));
    (!negated).then_some((json!(true), 1.0))
}

pub(super) fn read_renewal_notice(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    // A notice period is the renewal's only where its sentence speaks of renewal.
    let sentence = text[start..end].to_lowercase();
    let of_renewal = [
        "renew", "verläng", "renouvel", "reconduc", "prórrog", "prorrog", "renov",
    ]
    .iter()
    .any(|w| sentence.contains(w));
    if !of_renewal {
        return None;
    }
    let days = words::notice_days(number(caps)?, caps.name("unit").map(|u| u.as_str()))?;
    (days <= 3650).then(|| (json!(days), 1.0))
}

pub(super) fn read_payment_days(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let days = number(caps)?;
    if !(1..=365).contains(&days) {
        return None;
    }
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = text[start..end].to_lowercase();
    let about_paying = [
        "pay",
        "invoice",
        "due",
        "remit",
        "zahl",
        "rechnung",
        "fällig",
        "überweis",
        "paie",
        "facture",
        "règlement",
        "réglé",
        "pago",
        "pagar",
        "pagad",
        "pagará",
        "factura",
        "abona",
    ]
    .iter()
    .any(|w| sentence.contains(w));
    about_paying.then(|| (json!(days), 1.0))
}

pub(super) fn read_place(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
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
    let no_place = [
        "The",
        "This",
        "Any",
        "Such",
        "Applicable",
        "Governing",
        "Local",
    ]
    .contains(&place.as_str());
    if place.is_empty() || sentence_start || no_place {
        return None;
    }
    // "English law", "Dutch law": the law of the place the word names.
    let place = ADJECTIVES
        .iter()
        .find(|(adjective, _)| *adjective == place)
        .map_or(place.clone(), |(_, named)| (*named).to_owned());
    Some((json!(place), 1.0))
}

/// The places a law is named after by an adjective.
const ADJECTIVES: [(&str, &str); 24] = [
    ("English", "England and Wales"),
    ("Scots", "Scotland"),
    ("Scottish", "Scotland"),
    ("Irish", "Ireland"),
    ("French", "France"),
    ("German", "Germany"),
    ("Dutch", "Netherlands"),
    ("Swiss", "Switzerland"),
    ("Swedish", "Sweden"),
    ("Norwegian", "Norway"),
    ("Danish", "Denmark"),
    ("Finnish", "Finland"),
    ("Austrian", "Austria"),
    ("Polish", "Poland"),
    ("Belgian", "Belgium"),
    ("Spanish", "Spain"),
    ("Italian", "Italy"),
    ("Portuguese", "Portugal"),
    ("Japanese", "Japan"),
    ("Indian", "India"),
    ("Czech", "Czech Republic"),
    ("Greek", "Greece"),
    ("Luxembourg", "Luxembourg"),
    ("Singaporean", "Singapore"),
];

pub(super) fn read_parties(caps: &Captures<'_>, _: &str) -> Option<(Value, f32)> {
    // A seat or an address after a name is not part of it ("Chmura Serwis Sp. z o.o.
    // with its registered seat in Kraków").
    let clean = |name: &str| {
        let name = SEAT.find(name).map_or(name, |seat| &name[..seat.start()]);
        name.trim().trim_end_matches([',', ';']).trim().to_owned()
    };
    let (a, b) = (
        clean(caps.name("a")?.as_str()),
        clean(caps.name("b")?.as_str()),
    );
    // "between the parties and ..." or a sentence of lower-case words is not a pair of names.
    let named = |n: &str| {
        !n.is_empty()
            && n.split_whitespace().count() <= 8
            && ![
                "The Parties",
                "The Company",
                "Each",
                "Parteien",
                "Vertragsparteien",
                "Parties",
                "Partes",
            ]
            .contains(&n)
    };
    (named(&a) && named(&b) && a != b).then(|| (json!([a, b]), 1.0))
}

static SEAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s+(?:with|having|whose)\s+(?:its|their|his|her|registered)\b")
        .expect("the seat pattern is valid")
});

/// How far a passage reaches either side of a match, in bytes.
const PASSAGE_REACH: usize = 300;

/// The sentence (or line) around `start..end`, as byte offsets, reaching at most
/// [`PASSAGE_REACH`] bytes either side.
pub(in crate::intelligence) fn sentence_around(
    text: &str,
    start: usize,
    end: usize,
) -> (usize, usize) {
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

/// The sentences of `text` as byte ranges, in order: each ends at `.`, `!` or `?`
/// before white space (or the end), or at a line break; blank ones are left out.
pub(in crate::intelligence) fn sentences(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let ends = text.char_indices().filter_map(move |(i, c)| {
        let ends = match c {
            '\n' => true,
            '.' | '!' | '?' => bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()),
            _ => false,
        };
        ends.then_some(i + c.len_utf8())
    });
    let mut start = 0;
    ends.chain(std::iter::once(text.len()))
        .filter_map(move |end| {
            let span = (start, end);
            start = end;
            (end > span.0 && !text[span.0..end].trim().is_empty()).then_some(span)
        })
}

/// The largest char boundary of `text` at or below `at`.
pub(in crate::intelligence) fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Whether the sentence around a match says a law governs: "unterliegt", "gilt",
/// "régi", "soumis", "se regirá", "aplicable", and their English kin.
fn says_governs(caps: &Captures<'_>, text: &str) -> bool {
    let Some(whole) = caps.get(0) else {
        return false;
    };
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = text[start..end].to_lowercase();
    [
        "govern",
        "unterlieg",
        "untersteh",
        "gilt",
        "gelten",
        "anwend",
        "maßgeblich",
        "massgeblich",
        "régi",
        "regi",
        "soumis",
        "applicable",
        "interprét",
        "regir",
        "rige",
        "sujet",
        "somet",
        "aplicable",
    ]
    .iter()
    .any(|w| sentence.contains(w))
}

/// A law named by its adjective in German, French or Spanish ("deutschem Recht",
/// "droit français", "legislación española") in a sentence that says it governs.
pub(super) fn read_law_adjective(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let place = words::law_of_adjective(caps.name("adj")?.as_str())?;
    says_governs(caps, text).then(|| (json!(place), 1.0))
}

/// A law named by its place in German, French or Spanish ("Recht der Bundesrepublik
/// Deutschland", "lois de la Province de Québec", "leyes del Reino de España").
pub(super) fn read_law_place(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let place = caps.name("place")?.as_str().trim();
    (!place.is_empty() && says_governs(caps, text)).then(|| (json!(words::place_named(place)), 1.0))
}
