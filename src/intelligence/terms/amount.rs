//! An amount a contract is worth, with its currency: the value rule's reader, and the
//! normal form of an amount however it is grouped.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{json, Value};

use super::sentence_around;

pub(super) fn read_value(caps: &Captures<'_>, text: &str) -> Option<(Value, f32)> {
    let written = caps
        .name("amount")
        .or_else(|| caps.name("amount2"))
        .or_else(|| caps.name("amount3"))?;
    // The tail of a longer number ("000" of "120,000 EUR" read from its comma) is no
    // amount.
    let mut before = text[..caps.get(0)?.start()].chars().rev();
    let tail = match (before.next(), before.next()) {
        (Some(c), _) if c.is_ascii_digit() => true,
        (Some(',' | '.'), Some(c)) => c.is_ascii_digit(),
        _ => false,
    };
    if tail {
        return None;
    }
    let amount = normal_amount(written.as_str())?;
    let currency = match caps
        .name("symbol")
        .or_else(|| caps.name("symbol2"))
        .map(|s| s.as_str())
    {
        Some("US$") => "USD",
        Some("$") => dollar(caps, text),
        Some(s) if s.starts_with('$') => "CAD",
        Some("€") => "EUR",
        Some("£") => "GBP",
        Some(s) if s.starts_with("Rs") || s == "₹" => "INR",
        Some(_) => return None,
        None => match caps.name("word").map(|w| w.as_str().to_lowercase()) {
            Some(w) if w.starts_with("euro") => "EUR",
            Some(w) if w.starts_with("franken") || w.starts_with("francs") => "CHF",
            Some(w) if w.starts_with("pesos") => "MXN",
            Some(_) => return None,
            None => caps.name("code").or_else(|| caps.name("code2"))?.as_str(),
        },
    };
    let whole = caps.get(0)?;
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = format!("{} {}", heading_before(text, start), &text[start..end]).to_lowercase();
    // What the contract is worth is said with one of these words; an amount without
    // them (a late fee, an insurance minimum) is not its value.
    let confidence = if [
        "total",
        "aggregate",
        "contract value",
        "not to exceed",
        "contract price",
        "gesamt",
        "höchstens",
        "vertragswert",
        "valeur du contrat",
        "valor del contrato",
    ]
    .iter()
    .any(|w| sentence.contains(w))
    {
        0.8
    } else if [
        "fee",
        "price",
        "consideration",
        "pay",
        "compensation",
        "rent",
        "charges",
        "salary",
        "rate:",
        "sum",
        "instalment",
        "installment",
        "lends",
        "loan",
        "budget",
        "vergütung",
        "preis",
        "entgelt",
        "honorar",
        "miete",
        "gebühr",
        "betrag",
        "darlehen",
        "montant",
        "prix",
        "rémunération",
        "loyer",
        "redevance",
        "prêt",
        "importe",
        "precio",
        "renta",
        "contraprestación",
        "cuantía",
        "préstamo",
        "alquiler",
        "tarif",
    ]
    .iter()
    .any(|w| sentence.contains(w))
    {
        0.55
    } else {
        return None;
    };
    Some((
        json!({ "amount": amount, "currency": currency }),
        confidence,
    ))
}

/// A heading a sentence follows on its line ("3. Subcontract Sum. £286,450.00
/// excluding VAT."): its words say what the amount is, as a sentence's own would.
fn heading_before(text: &str, start: usize) -> &str {
    static HEADING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^[ \t]*(?:\d+(?:\.\d+)*\.?[ \t]+)?\p{Lu}[\w'’-]*(?:[ \t]+[\w'’-]+){0,3}\.[ \t]*$",
        )
        .expect("the heading pattern is valid")
    });
    let line = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line..start];
    if HEADING.is_match(before) {
        before
    } else {
        ""
    }
}

/// Which dollar a "$" is: Mexico's peso where the sentence says "M.N." or "pesos",
/// else the United States'.
fn dollar(caps: &Captures<'_>, text: &str) -> &'static str {
    let Some(whole) = caps.get(0) else {
        return "USD";
    };
    let (start, end) = sentence_around(text, whole.start(), whole.end());
    let sentence = &text[start..end];
    if sentence.contains("M.N.") || sentence.to_lowercase().contains("pesos") {
        "MXN"
    } else {
        "USD"
    }
}

/// An amount as written ("120,000.00", "120.000,00", "120 000", "50'000", "4,50,000",
/// "1.500") in normal form ("120000.00"): spaces and apostrophes group thousands; of a
/// point and a comma the later holds the cents; one alone holds them when one or two
/// digits follow it and groups thousands when three do.
pub(super) fn normal_amount(written: &str) -> Option<String> {
    let digits: String = written
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    let decimal = match (digits.rfind('.'), digits.rfind(',')) {
        (Some(point), Some(comma)) => Some(point.max(comma)),
        (Some(at), None) | (None, Some(at)) => (digits.len() - at - 1 <= 2).then_some(at),
        (None, None) => None,
    };
    let (whole, cents) = match decimal {
        Some(at) => (&digits[..at], &digits[at + 1..]),
        None => (digits.as_str(), ""),
    };
    // After the first, groups are of three digits, or two in India's "4,50,000".
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    let grouped = groups.len() == 1
        || (groups[0].len() <= 3
            && groups[1..].iter().all(|g| (2..=3).contains(&g.len()))
            && groups.last().is_some_and(|g| g.len() == 3));
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    let valid = grouped
        && !whole.is_empty()
        && whole.len() <= 15
        && cents.len() <= 2
        && cents.chars().all(|c| c.is_ascii_digit());
    valid.then(|| format!("{whole}.{cents:0<2}"))
}
