//! Finding personal and sensitive data in a text: pure, no I/O. Each kind is found by
//! a pattern and, where the data carries one, confirmed by its checksum: IBANs by ISO
//! 13616's mod 97, card numbers by Luhn, Spanish DNI/NIE by their check letter, Dutch
//! BSNs by the eleven test. Names (the tenant's users and contacts) and the tenant's own
//! patterns come in from the caller. Where two findings overlap, the kind found first
//! in [`find`]'s order keeps the span (a card number is not also a phone number).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::Serialize;
use utoipa::ToSchema;

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

/// What a redacted copy took out of its source, to take the same out of another text
/// (a comment on the contract) for a reader the copy stands in for.
pub struct Removed {
    /// Each removed text and the words of it that give it away alone (see
    /// [`Removed::new`]), matched case-blind, any run of spaces as any other, and as a
    /// whole word where it begins or ends with a letter or digit.
    literal: Option<Regex>,
    /// The kind of each removed text, by its folded form.
    kind_of: HashMap<String, String>,
    /// The kinds the copy redacted: what [`find`] finds of these is masked too.
    kinds: HashSet<String>,
    /// The tenant's patterns whose matches the copy redacted.
    patterns: Vec<Custom>,
}

/// The most a pattern of removed texts may compile to.
const REMOVED_SIZE_LIMIT: usize = 64 << 20;

fn folded(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Removed {
    /// From each removed `(text, kind, label)`, the text the copy `shows` in their
    /// place, and the tenant's patterns (those a removed custom text's label names are
    /// kept). A removed text is also matched by each of its words (three characters or
    /// more): every word of a name, as a person is named by either half ("Zoë" and
    /// "Lindqvist" alone), and of other texts each word with a letter that the copy
    /// shows nowhere ("Zebrafish" of "Project Zebrafish", when "project" is said
    /// elsewhere in the copy): a word the reader reads anyway tells them nothing. `None`
    /// when the texts are too many to match at once: the caller then shows nothing
    /// rather than too much.
    pub fn new(
        removed: &[(String, String, Option<String>)],
        shows: &str,
        patterns: Vec<Custom>,
    ) -> Option<Self> {
        let shown: HashSet<String> = shows
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut kind_of = HashMap::new();
        let mut kinds = HashSet::new();
        let mut labels = HashSet::new();
        for (text, kind, label) in removed {
            kinds.insert(kind.clone());
            if kind == "custom" {
                labels.extend(label.clone());
            }
            let text = folded(text);
            let telling = |word: &&str| {
                kind == "name" || (word.chars().any(char::is_alphabetic) && !shown.contains(*word))
            };
            for part in text
                .split(' ')
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| w.chars().count() >= 3 && *w != text)
                .filter(telling)
            {
                kind_of
                    .entry(part.to_owned())
                    .or_insert_with(|| kind.clone());
            }
            if !text.is_empty() {
                kind_of.entry(text).or_insert_with(|| kind.clone());
            }
        }
        let mut texts: Vec<&String> = kind_of.keys().collect();
        // Longest first, so that "Ann Smith" wins over "Ann".
        texts.sort_by_key(|t| (std::cmp::Reverse(t.len()), t.as_str()));
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let alternatives: Vec<String> = texts
            .iter()
            .map(|text| {
                let escaped: Vec<String> = text.split(' ').map(regex::escape).collect();
                format!(
                    "{}{}{}",
                    if word(text.chars().next()) { r"\b" } else { "" },
                    escaped.join(r"\s+"),
                    if word(text.chars().next_back()) {
                        r"\b"
                    } else {
                        ""
                    },
                )
            })
            .collect();
        let literal = if alternatives.is_empty() {
            None
        } else {
            Some(
                RegexBuilder::new(&format!("(?:{})", alternatives.join("|")))
                    .case_insensitive(true)
                    .size_limit(REMOVED_SIZE_LIMIT)
                    .build()
                    .ok()?,
            )
        };
        Some(Self {
            literal,
            kind_of,
            kinds,
            patterns: patterns
                .into_iter()
                .filter(|p| labels.contains(&p.name))
                .collect(),
        })
    }

    /// `text` with every removed text in it, and everything [`find`] finds of the
    /// kinds the copy redacted, replaced by `[redacted: kind]`.
    pub fn mask(&self, text: &str) -> String {
        let mut taken = Taken::default();
        if let Some(literal) = &self.literal {
            for m in literal.find_iter(text) {
                let kind = self
                    .kind_of
                    .get(&folded(m.as_str()))
                    .map_or("name", String::as_str);
                taken.take(m.start(), m.end(), kind, None);
            }
        }
        for (start, (end, kind, _)) in found_spans(text, None, &self.patterns).0 {
            if self.kinds.contains(kind) {
                taken.take(start, end, kind, None);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut from = 0;
        for (start, (end, kind, _)) in taken.0 {
            out.push_str(&text[from..start]);
            out.push_str(&format!("[redacted: {kind}]"));
            from = end;
        }
        out.push_str(&text[from..]);
        out
    }
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
    fn a_comment_loses_what_the_copy_removed_and_more_of_its_kinds() {
        let removed = [
            ("Zoë Lindqvist".to_owned(), "name".to_owned(), None),
            ("zoe@example.com".to_owned(), "email".to_owned(), None),
            ("+44 20 7946 0958".to_owned(), "phone".to_owned(), None),
            (
                "MAT-0042".to_owned(),
                "custom".to_owned(),
                Some("matter".to_owned()),
            ),
        ];
        let patterns = vec![
            Custom {
                name: "matter".into(),
                regex: compile(r"MAT-[0-9]{4}").unwrap(),
            },
            Custom {
                name: "unused".into(),
                regex: compile(r"Zoëlle").unwrap(),
            },
        ];
        let removed = Removed::new(&removed, "Shown: the matter of", patterns).unwrap();
        assert_eq!(
            removed.mask(
                "Ask ZOË\n lindqvist at zoe@example.com or zoe.l@other.example, call \
                 +44 20 7946 0958 about MAT-0042 and MAT-0043; Zoëlle is someone else, \
                 IBAN GB82 WEST 1234 5698 7654 32 stays. Zoë said so."
            ),
            "Ask [redacted: name] at [redacted: email] or [redacted: email], call \
             [redacted: phone] about [redacted: custom] and [redacted: custom]; Zoëlle is \
             someone else, IBAN GB82 WEST 1234 5698 7654 32 stays. [redacted: name] said so."
        );
        // Nothing removed: the text is served as it is.
        let none = Removed::new(&[], "", vec![]).unwrap();
        assert_eq!(none.mask("zoe@example.com"), "zoe@example.com");
    }

    #[test]
    fn a_word_of_a_removed_text_gives_it_away_unless_the_copy_shows_it() {
        let removed = [
            (
                "Project Zebrafish".to_owned(),
                "custom".to_owned(),
                Some("codename".to_owned()),
            ),
            (
                "Flat 4, 221B Baker St.".to_owned(),
                "custom".to_owned(),
                None,
            ),
            ("GB82 WEST 1234".to_owned(), "iban".to_owned(), None),
        ];
        let shows = "[redacted: custom] is the project the team runs from \
                     [redacted: custom]; the flat is let.";
        let removed = Removed::new(&removed, shows, vec![]).unwrap();
        assert_eq!(
            removed.mask(
                "Zebrafish slips, the project is late; BAKER street and the flat, \
                 on the WEST side, 221b, 1234. Zebrafishes are fish."
            ),
            "[redacted: custom] slips, the project is late; [redacted: custom] street \
             and the flat, on the [redacted: iban] side, [redacted: custom], 1234. \
             Zebrafishes are fish."
        );
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
