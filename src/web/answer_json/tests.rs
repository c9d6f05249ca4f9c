use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::to_vec;

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Pair(i32, &'static str);

#[derive(Serialize)]
struct Wrapper(DateTime<Utc>);

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Plain,
    Newtype(NaiveDate),
    Tuple(u8, DateTime<Utc>),
    Struct { at: DateTime<Utc>, note: String },
}

#[derive(Serialize)]
struct Everything {
    id: Uuid,
    created_at: DateTime<Utc>,
    at_nanos: DateTime<Utc>,
    day: NaiveDate,
    maybe_day: Option<NaiveDate>,
    missing: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    text: String,
    character: char,
    flag: bool,
    small: i8,
    big: u64,
    huge: i128,
    ratio: f64,
    not_a_number: f64,
    bytes: Vec<u8>,
    unit: Unit,
    pair: Pair,
    wrapper: Wrapper,
    shapes: Vec<Shape>,
    by_day: BTreeMap<NaiveDate, Vec<DateTime<Utc>>>,
    by_number: BTreeMap<i64, bool>,
    tuple: (DateTime<Utc>, NaiveDate),
    value: serde_json::Value,
    raw: Box<RawValue>,
}

fn everything() -> Everything {
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 6, 30, 5).unwrap();
    let at_nanos = at + chrono::Duration::nanoseconds(123_456_789);
    let day = NaiveDate::from_ymd_opt(1900, 1, 31).unwrap();
    Everything {
        id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        created_at: at,
        at_nanos,
        day,
        maybe_day: Some(NaiveDate::from_ymd_opt(2200, 12, 31).unwrap()),
        missing: None,
        skipped: None,
        text: "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 漢 😀".into(),
        character: '"',
        flag: true,
        small: -8,
        big: u64::MAX,
        huge: i128::MIN,
        ratio: 0.1 + 0.2,
        not_a_number: f64::NAN,
        bytes: vec![0, 1, 255],
        unit: Unit,
        pair: Pair(-1, "two"),
        wrapper: Wrapper(at_nanos),
        shapes: vec![
            Shape::Plain,
            Shape::Newtype(day),
            Shape::Tuple(7, at),
            Shape::Struct {
                at: at_nanos,
                note: "\u{1f}".into(),
            },
        ],
        by_day: BTreeMap::from([(day, vec![at, at_nanos])]),
        by_number: BTreeMap::from([(-3, false), (42, true)]),
        tuple: (at, day),
        value: json!({"nested": [1, 2.5, null, "x\"y", {"deep": true}], "empty": {}}),
        raw: RawValue::from_string(r#"{"kept" : [1,2]}"#.into()).unwrap(),
    }
}

#[test]
fn answers_are_byte_for_byte_what_serde_json_writes() {
    let value = everything();
    let ours = to_vec(&value).unwrap();
    let theirs = serde_json::to_vec(&value).unwrap();
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(theirs).unwrap()
    );
}

#[test]
fn times_in_every_position_keep_chrono_s_form() {
    let at =
        Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap() + chrono::Duration::microseconds(1_500);
    let body = String::from_utf8(to_vec(&vec![Some(at), None]).unwrap()).unwrap();
    assert_eq!(body, r#"["2026-03-29T01:00:00.001500Z",null]"#);
}

#[test]
fn a_failing_serialize_fails_as_serde_json_does() {
    // A map whose keys are not strings or numbers: serde_json refuses it.
    let refused = BTreeMap::from([(vec![1], 1)]);
    assert!(to_vec(&refused).is_err());
    assert!(serde_json::to_vec(&refused).is_err());
}
