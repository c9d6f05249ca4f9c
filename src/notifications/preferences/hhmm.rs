//! Quiet hours as `HH:MM`, strictly: two digits each side.

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.format("%H:%M").to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(d)?;
    crate::kernel::validate::hh_mm(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected HH:MM, got {:?}",
            crate::kernel::validate::truncate(&text, 20)
        ))
    })
}
