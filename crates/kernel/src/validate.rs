//! Input rules shared by the CLM routes. Each returns the value to store or an
//! `invalid_input` error naming the field.
//!
//! Why this file is long: the rules every area shares are kept together so that one
//! field means one rule everywhere, each beside the tests of its edges.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::DomainError;

/// A checked value binds as the value it wraps.
macro_rules! binds_as_inner {
    ($outer:ty, $inner:ty) => {
        impl tokio_postgres::types::ToSql for $outer {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
            {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <$inner as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }
    };
}

/// Active ISO 4217 currency codes.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Digits before and after the point that a contract value may have.
const MAX_INTEGER_DIGITS: usize = 14;
const MAX_FRACTION_DIGITS: usize = 4;
const MAX_TAGS: usize = 50;
const MAX_TAG_CHARS: usize = 50;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A non-negative exact decimal as text (`"1250000.50"`): never a float, never
/// rounded. Checked once by [`Amount::parse`]; bound to SQL as text (cast to numeric
/// by the statement).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Amount(String);

impl Amount {
    /// `value` if it is a decimal string within the digits a contract's value holds;
    /// `field` names it in the refusal.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let (integer, fraction) = value.split_once('.').unwrap_or((value, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let well_formed = !integer.is_empty()
            && digits(integer)
            && digits(fraction)
            && !(value.contains('.') && fraction.is_empty());
        if !well_formed {
            return Err(DomainError::invalid(format!(
                "{field} must be a decimal string such as \"1250.50\""
            )));
        }
        let integer = integer.trim_start_matches('0');
        if integer.len() > MAX_INTEGER_DIGITS || fraction.len() > MAX_FRACTION_DIGITS {
            return Err(DomainError::invalid(format!(
                "{field} allows at most {MAX_INTEGER_DIGITS} digits before the point and {MAX_FRACTION_DIGITS} after"
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// An amount read back from the database, which only ever stored parsed ones.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code (`EUR`), checked once by [`Currency::parse`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        if ISO_4217.binary_search(&value).is_ok() {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(format!(
                "currency must be an ISO 4217 code such as EUR or USD, not {:?}",
                truncate(value, 10)
            )))
        }
    }

    /// A currency read back from the database, which only ever stored parsed ones.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Both bind as text, as the strings they hold.
macro_rules! text_to_sql {
    ($($ty:ty),*) => {$(
        impl tokio_postgres::types::ToSql for $ty {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <String as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }
    )*};
}

text_to_sql!(Amount, Currency);

/// A list of days (reminder offsets, a dunning schedule): at most 10, none twice, each
/// in `range`; else a 400 with `code` naming `field`. Returns them in ascending order.
pub fn distinct_days(
    (field, code): (&str, &'static str),
    days: &[i32],
    range: std::ops::RangeInclusive<i32>,
) -> Result<Vec<i32>, DomainError> {
    let mut distinct = days.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != days.len() || days.len() > 10 || days.iter().any(|d| !range.contains(d)) {
        return Err(DomainError::invalid_as(
            code,
            format!(
                "{field}: at most 10 distinct whole numbers of days, {} to {}",
                range.start(),
                range.end()
            ),
            serde_json::json!({ field: days }),
        ));
    }
    Ok(distinct)
}

/// Trimmed text of 1 to `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Optional text: absent or blank is `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// A long body (contract text, clause, template): may be empty, no NUL bytes.
pub fn body(field: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    if value.chars().count() > max_chars {
        return Err(DomainError::invalid(format!(
            "{field} is longer than {max_chars} characters"
        )));
    }
    if value.contains('\0') {
        return Err(DomainError::invalid(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(value.to_owned())
}

/// Escapes LIKE's own wildcards in search text, so they match themselves, and wraps
/// it for a substring match; blank is no filter.
pub fn like_pattern(q: Option<&str>) -> Result<Option<String>, DomainError> {
    match q.map(str::trim) {
        None | Some("") => Ok(None),
        Some(q) if q.chars().count() > 200 => Err(DomainError::Validation(
            "q is longer than 200 characters".into(),
        )),
        Some(q) => Ok(Some(format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ))),
    }
}

/// Ids a record links to: sorted, each once, at most `max` (else a 400 saying `what`).
pub fn distinct_ids(
    values: &[uuid::Uuid],
    max: usize,
    what: &str,
) -> Result<Vec<uuid::Uuid>, DomainError> {
    if values.len() > max {
        return Err(DomainError::invalid(format!("{what}: at most {max}")));
    }
    let mut out = values.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The priorities tasks and cases share.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// One of [`PRIORITIES`].
pub fn priority(value: &str) -> Result<String, DomainError> {
    if PRIORITIES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            "priority must be low, normal, high or urgent",
        ))
    }
}

/// Lower-cased, de-duplicated, sorted tags of `[a-z0-9][a-z0-9 _-]*`.
pub fn tags(values: &[String]) -> Result<Vec<String>, DomainError> {
    if values.len() > MAX_TAGS {
        return Err(DomainError::invalid(format!("at most {MAX_TAGS} tags")));
    }
    let mut set = BTreeSet::new();
    for tag in values {
        let tag = crate::letters::fold_case(tag.trim());
        let ok = !tag.is_empty()
            && tag.chars().count() <= MAX_TAG_CHARS
            && tag.starts_with(|c: char| c.is_alphanumeric())
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-'));
        if !ok {
            return Err(DomainError::invalid(format!(
                "tag {:?} must be 1 to {MAX_TAG_CHARS} letters, digits, spaces, '_' or '-'",
                truncate(&tag, 60)
            )));
        }
        set.insert(tag);
    }
    Ok(set.into_iter().collect())
}

/// A JSON object of at most 16 KiB.
pub fn metadata(value: &serde_json::Value) -> Result<serde_json::Value, DomainError> {
    if !value.is_object() {
        return Err(DomainError::invalid("metadata must be a JSON object"));
    }
    if serde_json::to_vec(value).map_or(usize::MAX, |v| v.len()) > MAX_METADATA_BYTES {
        return Err(DomainError::invalid(format!(
            "metadata is larger than {MAX_METADATA_BYTES} bytes"
        )));
    }
    if value.to_string().contains("\\u0000") {
        return Err(DomainError::invalid("metadata contains a NUL character"));
    }
    Ok(value.clone())
}

/// Whether `value` is a key: 1 to `max` of a-z, 0-9 and the characters in `extra`,
/// starting with a letter (team names, queue names).
pub fn is_key(value: &str, max: usize, extra: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && value.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
}

pub fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

/// For PATCH bodies: tells "absent" (outer `None`) from "set to null" (`Some(None)`).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A character no text the API takes may hold: NUL and the other control characters,
/// except tab, line feed and carriage return (which bodies and comments may carry).
/// PostgreSQL refuses NUL in text outright, and the rest only forge log lines and
/// confuse readers.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Bidirectional formatting characters: they make `invoice<U+202E>fdp.exe` display
/// as `invoiceexe.pdf`, so names that people trust by their look (file names) drop them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Where in a JSON document the first string (or key) with a forbidden character is,
/// as a path such as `tags[2]` or `metadata.note`; `None` when there is none.
pub fn forbidden_char_in_json(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(text) => text.chars().any(is_forbidden_char),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(length);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(key, item)| {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&truncate(key, 60).replace(is_forbidden_char, "?"));
                let found = key.chars().any(is_forbidden_char) || walk(item, path);
                if !found {
                    path.truncate(length);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    })
}

/// Refuses a JSON body with a forbidden character anywhere, naming the field.
pub fn no_forbidden_chars_in_json(value: &serde_json::Value) -> Result<(), DomainError> {
    match forbidden_char_in_json(value) {
        None => Ok(()),
        Some(field) => Err(DomainError::invalid(format!(
            "{field} contains a NUL or another control character"
        ))),
    }
}

/// Refuses a query string whose decoded names or values hold any control character
/// (query parameters are one-line filters: not even a line feed belongs there), naming
/// the parameter.
pub fn no_forbidden_chars_in_query(query: &str) -> Result<(), DomainError> {
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name.chars().chain(value.chars()).any(char::is_control) {
            let name = truncate(&name, 60).replace(char::is_control, "?");
            return Err(DomainError::invalid(format!(
                "query parameter {name} contains a NUL or another control character"
            )));
        }
    }
    Ok(())
}

/// A calendar date written exactly `YYYY-MM-DD`. chrono alone also takes `2026-1-1`
/// and `+002026-01-01`; a date that round-trips differently from how it was written is
/// refused, so what a client sends is what is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[schema(value_type = String, format = Date, example = "2026-01-31")]
#[serde(transparent)]
pub struct IsoDate(pub NaiveDate);

impl IsoDate {
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        // Year 0 is a valid proleptic date to chrono but not to PostgreSQL.
        if !well_formed || text.starts_with("0000") {
            return None;
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Self)
    }
}

/// A wall-clock time written exactly `HH:MM` (24 hours): chrono alone also takes
/// `7:00`, which would be shown back as `07:00`.
pub fn hh_mm(text: &str) -> Option<chrono::NaiveTime> {
    let well_formed = text.len() == 5
        && text.bytes().enumerate().all(|(i, b)| match i {
            2 => b == b':',
            _ => b.is_ascii_digit(),
        });
    well_formed
        .then(|| chrono::NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
}

/// An instant written in RFC 3339 (`2026-12-01T09:30:00Z`, any offset), in years 1 to
/// 9999: the range dates have, and one that PostgreSQL stores and every client reads
/// back as RFC 3339. chrono's own parser takes signed years of up to six digits
/// (`+262142-01-01T00:00:00Z`), which PostgreSQL refuses or cannot give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-12-01T09:30:00Z")]
#[serde(transparent)]
pub struct Timestamp(pub chrono::DateTime<chrono::Utc>);

impl Timestamp {
    pub fn parse(text: &str) -> Option<Self> {
        let first = text.as_bytes().first()?;
        if !first.is_ascii_digit() || text.len() > 64 {
            return None;
        }
        let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        let at = at.with_timezone(&chrono::Utc);
        Self::within_range(at)
    }

    /// `at`, when it lies in the years every reader can handle.
    pub fn within_range(at: chrono::DateTime<chrono::Utc>) -> Option<Self> {
        use chrono::Datelike;
        (1..=9999).contains(&at.year()).then_some(Self(at))
    }
}

impl std::ops::Deref for Timestamp {
    type Target = chrono::DateTime<chrono::Utc>;
    fn deref(&self) -> &chrono::DateTime<chrono::Utc> {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{:?} is not an RFC 3339 time in the years 0001 to 9999",
                truncate(&text, 40)
            ))
        })
    }
}

/// For `#[serde(deserialize_with = "...")]` on a `DateTime<Utc>` field: what
/// [`Timestamp`] accepts.
pub fn rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<chrono::DateTime<chrono::Utc>, D::Error> {
    Timestamp::deserialize(deserializer).map(|at| at.0)
}

/// [`rfc3339`] for an optional field (with `#[serde(default)]`).
pub fn optional_rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    Option::<Timestamp>::deserialize(deserializer).map(|at| at.map(|at| at.0))
}

binds_as_inner!(Timestamp, chrono::DateTime<chrono::Utc>);

impl std::ops::Deref for IsoDate {
    type Target = NaiveDate;
    fn deref(&self) -> &NaiveDate {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{:?} is not a date written YYYY-MM-DD",
                truncate(&text, 40)
            ))
        })
    }
}

binds_as_inner!(IsoDate, NaiveDate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_the_years_dates_have() {
        assert!(Timestamp::parse("2026-12-01T09:30:00Z").is_some());
        assert!(Timestamp::parse("2026-12-01T09:30:00.123456+05:30").is_some());
        assert!(Timestamp::parse("0001-01-01T00:00:00Z").is_some());
        for bad in [
            "-5000-01-01T00:00:00Z",
            "+262142-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2026-12-01",
            "2026-12-01 09:30",
            "",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
        assert!(serde_json::from_str::<Timestamp>("\"+262142-01-01T00:00:00Z\"").is_err());
        // An offset can carry a time just past the range into it, and out of it.
        assert!(Timestamp::parse("9999-12-31T23:00:00-05:00").is_none());
        assert!(IsoDate::parse("0000-01-01").is_none());
        assert!(hh_mm("07:00").is_some());
        for bad in ["7:00", "07:0", "24:00", "07-00", "07:00 ", "+7:00"] {
            assert!(hh_mm(bad).is_none(), "{bad}");
        }
        assert!(IsoDate::parse("0001-01-01").is_some());
    }

    #[test]
    fn control_characters_are_found_and_named_wherever_they_hide() {
        use serde_json::json;
        assert_eq!(
            forbidden_char_in_json(&json!({"title": "ok\n\tfine"})),
            None
        );
        assert_eq!(
            forbidden_char_in_json(&json!({"email": "a\u{0}@x.example"})).as_deref(),
            Some("email")
        );
        assert_eq!(
            forbidden_char_in_json(&json!({"tags": ["a", "b\u{1b}[31m"]})).as_deref(),
            Some("tags[1]")
        );
        assert_eq!(
            forbidden_char_in_json(&json!({"metadata": {"note": "\u{85}"}})).as_deref(),
            Some("metadata.note")
        );
        assert_eq!(
            forbidden_char_in_json(&json!({"metadata": {"k\u{0}": 1}})).as_deref(),
            Some("metadata.k?")
        );
        assert_eq!(
            forbidden_char_in_json(&json!("\u{0}")).as_deref(),
            Some("body")
        );
        assert!(no_forbidden_chars_in_query("status=draft&q=caf%C3%A9").is_ok());
        let error = no_forbidden_chars_in_query("status=draft&q=a%00b").unwrap_err();
        assert!(error.to_string().contains("query parameter q"), "{error}");
        assert!(no_forbidden_chars_in_query("a%0Ab=1").is_err());
    }

    #[test]
    fn dates_are_exactly_year_month_day() {
        assert_eq!(
            IsoDate::parse("2026-01-31").map(|d| d.0),
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        for bad in [
            "2026-1-1",
            "+002026-01-01",
            "2026-02-30",
            "20260101",
            " 2026-01-01",
            "2026-01-01T00:00:00",
            "２０２６-01-01",
            "",
        ] {
            assert!(IsoDate::parse(bad).is_none(), "{bad:?}");
        }
        let parsed: IsoDate = serde_json::from_str("\"2026-12-01\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"2026-12-01\"");
        assert!(serde_json::from_str::<IsoDate>("\"2026-1-1\"").is_err());
    }

    #[test]
    fn decimals_are_exact_strings_within_numeric_18_4() {
        for ok in ["0", "1250000.50", "00012.5", "99999999999999.9999"] {
            assert_eq!(Amount::parse("value", ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            ".5",
            "5.",
            "-1",
            "1e6",
            "1,000",
            "NaN",
            " 1",
            "1.23456",
            "999999999999999",
            "1.2.3",
            "'; drop table contracts; --",
        ] {
            assert!(Amount::parse("value", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn currencies_are_iso_4217_and_the_table_is_sorted() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EURO", "XXX", "ABC", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tags_are_normalised_and_bounded() {
        let tags = tags(&["Renewal".into(), "renewal".into(), "q3-2026".into()]).unwrap();
        assert_eq!(tags, ["q3-2026", "renewal"]);
        assert!(super::tags(&["".into()]).is_err());
        assert!(super::tags(&["<script>".into()]).is_err());
        assert!(super::tags(&vec!["a".to_string(); 51]).is_err());
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(text("title", "  MSA  ", 10).unwrap(), "MSA");
        assert!(text("title", "   ", 10).is_err());
        assert!(text("title", "abcdefghijk", 10).is_err());
        assert!(text("title", "a\u{0}b", 10).is_err());
    }
}
