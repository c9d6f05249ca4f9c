//! Finding personal and sensitive data in a text: pure, no I/O. Each kind is found by
//! a pattern and, where the data carries one, confirmed by its checksum: IBANs by ISO
//! 13616's mod 97, card numbers by Luhn, Spanish DNI/NIE by their check letter, Dutch
//! BSNs by the eleven test. Names (the tenant's users and contacts) and the tenant's own
//! patterns come in from the caller. Where two findings overlap, the kind found first
//! in [`find`]'s order keeps the span (a card number is not also a phone number).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::Serialize;
use utoipa::ToSchema;

mod removed;
pub use removed::{telling_words, Removed};

/// One piece of text to redact, or to keep.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Finding {
    /// `{kind}-{start}-{end}`: stable for the same text, what an apply names.
    pub id: String,
    /// `email`, `phone`, `iban`, `card_number`, `national_id`, `name` or `custom`.
    pub kind: &'static str,
    /// For `custom`, the tenant pattern's name; for `national_id`, which id.
    pub label: Option<String>,
    /// Where it is, in characters (Unicode scalar values) from 0, end exclusive.
    pub start: usize,
    pub end: usize,
    /// The text found.
    pub text: String,
}

/// A tenant's own pattern, compiled.
pub struct Custom {
    pub name: String,
    pub regex: Regex,
}

/// The most a tenant's pattern may compile to: the regex crate matches in linear time
/// whatever the pattern, and this bounds its memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a tenant's pattern, or says why it cannot be one.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let said = e.to_string();
            said.lines().last().unwrap_or(&said).trim().to_owned()
        })
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the built-in patterns compile")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    // A space either side of the @ is allowed: OCR often reads one there.
    regex(
        r"(?i)\b[\p{L}\p{N}][\p{L}\p{N}._%+-]* ?@ ?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}\b",
    )
});
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b"));
static CARD: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[0-9](?:[ -]?[0-9]){12,18}\b"));
static DNI: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:[XYZ]-?[0-9]{7}|[0-9]{8})-?[A-Z]\b"));
static BSN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:[0-9]{9}|[0-9]{4}\.[0-9]{2}\.[0-9]{3})\b"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{1,4}){1,5}")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}$|^[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{4}$")
});

fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// ISO 13616: the country and check digits moved to the end, letters as 10-35, the
/// whole number mod 97 is 1.
pub fn iban_valid(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

/// Luhn: every second digit from the right doubled, the sum a multiple of 10.
pub fn luhn_valid(number: &[u32]) -> bool {
    let sum: u32 = number
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A Spanish DNI (8 digits) or NIE (X, Y or Z and 7 digits) and its check letter.
pub fn dni_valid(candidate: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let compact: String = candidate.chars().filter(|c| *c != '-').collect();
    let Some(letter) = compact.chars().last() else {
        return false;
    };
    let number = &compact[..compact.len() - 1];
    let number = match number.chars().next() {
        Some('X') => format!("0{}", &number[1..]),
        Some('Y') => format!("1{}", &number[1..]),
        Some('Z') => format!("2{}", &number[1..]),
        _ => number.to_owned(),
    };
    number
        .parse::<u32>()
        .is_ok_and(|n| LETTERS[(n % 23) as usize] as char == letter)
}

/// A Dutch BSN: nine digits whose weighted sum (9..2, and -1 for the last) is a
/// multiple of 11, and not zero.
pub fn bsn_valid(candidate: &str) -> bool {
    let d = digits(candidate);
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let sum: i64 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(&x, w)| i64::from(x) * w)
        .sum::<i64>()
        - i64::from(d[8]);
    sum % 11 == 0
}

fn phone_plausible(candidate: &str) -> bool {
    let count = digits(candidate).len();
    let marked = candidate.starts_with('+') || candidate.starts_with('(');
    (7..=15).contains(&count) && (marked || count >= 9) && !DATE.is_match(candidate)
}

/// Spans that never overlap, by start (bytes): the first taken keeps its span.
#[derive(Default)]
struct Taken<'k>(BTreeMap<usize, (usize, &'k str, Option<String>)>);

impl<'k> Taken<'k> {
    fn take(&mut self, start: usize, end: usize, kind: &'k str, label: Option<String>) {
        // Taken spans never overlap, so their ends rise with their starts: the span
        // starting last before `end` is the only one that can reach past `start`.
        let overlaps = self
            .0
            .range(..end)
            .next_back()
            .is_some_and(|(_, (taken_end, _, _))| *taken_end > start);
        if !overlaps {
            self.0.insert(start, (end, kind, label));
        }
    }
}

/// What [`find`] finds, as byte spans.
fn found_spans(text: &str, names: Option<&Regex>, patterns: &[Custom]) -> Taken<'static> {
    let mut taken = Taken::default();
    for m in EMAIL.find_iter(text) {
        taken.take(m.start(), m.end(), "email", None);
    }
    for m in IBAN.find_iter(text) {
        if iban_valid(m.as_str()) {
            taken.take(m.start(), m.end(), "iban", None);
        }
    }
    for m in CARD.find_iter(text) {
        let number = digits(m.as_str());
        if luhn_valid(&number) && number.iter().any(|&d| d != number[0]) {
            taken.take(m.start(), m.end(), "card_number", None);
        }
    }
    for m in DNI.find_iter(text) {
        if dni_valid(m.as_str()) {
            taken.take(m.start(), m.end(), "national_id", Some("es_dni".into()));
        }
    }
    for m in BSN.find_iter(text) {
        if bsn_valid(m.as_str()) {
            taken.take(m.start(), m.end(), "national_id", Some("nl_bsn".into()));
        }
    }
    for custom in patterns {
        for m in custom.regex.find_iter(text) {
            if m.start() < m.end() {
                taken.take(m.start(), m.end(), "custom", Some(custom.name.clone()));
            }
        }
    }
    if let Some(names) = names {
        for m in names.find_iter(text) {
            taken.take(m.start(), m.end(), "name", None);
        }
    }
    for m in PHONE.find_iter(text) {
        if phone_plausible(m.as_str()) {
            taken.take(m.start(), m.end(), "phone", None);
        }
    }
    taken
}

/// Everything found in `text`: the built-in kinds, then the tenant's `patterns`, then
/// `names` (whole words, case-blind), then phone numbers; in order of position.
pub fn find(text: &str, names: Option<&Regex>, patterns: &[Custom]) -> Vec<Finding> {
    let taken = found_spans(text, names, patterns);
    // Byte offsets to character offsets, in one pass over the text.
    let mut chars_before = 0;
    let mut last_byte = 0;
    let mut at = |byte: usize| {
        chars_before += text[last_byte..byte].chars().count();
        last_byte = byte;
        chars_before
    };
    let mut findings = Vec::with_capacity(taken.0.len());
    for (start, (end, kind, label)) in taken.0 {
        let (from, to) = (at(start), at(end));
        findings.push(Finding {
            id: format!("{kind}-{from}-{to}"),
            kind,
            label,
            start: from,
            end: to,
            text: text[start..end].to_owned(),
        });
    }
    findings
}

/// One pattern matching any of `names` as a whole word, case-blind; names shorter
/// than three characters are left out (they would match everywhere).
pub fn names_pattern(names: &[String]) -> Option<Regex> {
    let mut names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| n.chars().count() >= 3)
        .collect();
    if names.is_empty() {
        return None;
    }
    // Longest first, so that "Ann Smith" wins over "Ann".
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.dedup();
    let alternatives: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
    RegexBuilder::new(&format!(r"\b(?:{})\b", alternatives.join("|")))
        .case_insensitive(true)
        .size_limit(64 << 20)
        .build()
        .ok()
}

/// `text` with each of `spans` (character offsets, sorted, not overlapping) replaced
/// by `[redacted: kind]`: the content is gone from the copy, not covered.
pub fn redact(text: &str, spans: &[(usize, usize, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut spans = spans.iter().peekable();
    let mut inside: Option<usize> = None;
    for (i, c) in text.chars().enumerate() {
        if let Some(end) = inside {
            if i < end {
                continue;
            }
            inside = None;
        }
        if let Some(&&(start, end, kind)) = spans.peek() {
            if i == start {
                out.push_str(&format!("[redacted: {kind}]"));
                spans.next();
                inside = Some(end);
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        find(text, None, &[])
            .into_iter()
            .map(|f| (f.kind, f.text))
            .collect()
    }

    #[test]
    fn checksums_tell_real_numbers_from_lookalikes() {
        assert!(iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(!iban_valid("DE89 3704 0044 0532 0130 01"));
        assert!(luhn_valid(&digits("4111 1111 1111 1111")));
        assert!(!luhn_valid(&digits("4111 1111 1111 1112")));
        assert!(dni_valid("12345678Z"));
        assert!(dni_valid("X1234567L"));
        assert!(!dni_valid("12345678A"));
        assert!(bsn_valid("111222333"));
        assert!(!bsn_valid("111222334"));
    }

    #[test]
    fn each_kind_is_found_once_with_its_position_in_characters() {
        let text = "Zoë: zoe@example.com, +44 20 7946 0958, IBAN GB82 WEST 1234 5698 7654 32, \
                    card 4111-1111-1111-1111, DNI 12345678Z, signed 2026-12-01.";
        let found = find(text, None, &[]);
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.kind, f.text.as_str())).collect();
        assert_eq!(
            got,
            [
                ("email", "zoe@example.com"),
                ("phone", "+44 20 7946 0958"),
                ("iban", "GB82 WEST 1234 5698 7654 32"),
                ("card_number", "4111-1111-1111-1111"),
                ("national_id", "12345678Z"),
            ]
        );
        // "Zoë: " is 5 characters but 6 bytes.
        assert_eq!((found[0].start, found[0].end), (5, 20));
        assert_eq!(found[0].id, "email-5-20");
    }

    #[test]
    fn an_address_ocr_split_at_the_at_sign_is_still_one() {
        assert_eq!(
            kinds("email zoe@ lindqvist.example, or"),
            [("email", "zoe@ lindqvist.example".to_owned())]
        );
    }

    #[test]
    fn lookalikes_are_left_alone() {
        assert_eq!(
            kinds("Invoice 4111 1111 1111 1112 dated 2026-12-01, 1 000 EUR"),
            []
        );
        assert_eq!(kinds("order 12345678A, version 1.2.3"), []);
    }

    #[test]
    fn names_and_tenant_patterns_are_found_as_given() {
        let names = names_pattern(&["Ann Smith".into(), "Al".into(), "Ann".into()]).unwrap();
        let custom = [Custom {
            name: "matter".into(),
            regex: compile(r"MAT-[0-9]{4}").unwrap(),
        }];
        let found = find(
            "ann smith and Ann met Al on MAT-0042.",
            Some(&names),
            &custom,
        );
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.kind, f.text.as_str())).collect();
        assert_eq!(
            got,
            [
                ("name", "ann smith"),
                ("name", "Ann"),
                ("custom", "MAT-0042")
            ]
        );
        assert_eq!(found[2].label.as_deref(), Some("matter"));
    }

    #[test]
    fn a_text_full_of_findings_is_read_in_one_pass() {
        let text = "x@example.com ".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(find(&text, None, &[]).len(), 100_000);
        // Quadratic overlap checks took minutes here; a pass takes well under one.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn a_hostile_pattern_is_refused_or_bounded() {
        assert!(compile("(unclosed").is_err());
        assert!(compile(&"a{1000}".repeat(1000)).is_err(), "too large");
        // Linear time: a pattern that backtracks exponentially elsewhere does not here.
        let evil = compile("(a+)+$").unwrap();
        let text = "a".repeat(100_000) + "!";
        assert!(!evil.is_match(&text));
    }

    #[test]
    fn redaction_removes_the_text_not_just_covers_it() {
        let text = "Mail zoë@example.com or call.";
        let found = find(text, None, &[]);
        let spans: Vec<(usize, usize, &str)> =
            found.iter().map(|f| (f.start, f.end, f.kind)).collect();
        let redacted = redact(text, &spans);
        assert_eq!(redacted, "Mail [redacted: email] or call.");
        assert!(!redacted.contains("example"));
    }
}
