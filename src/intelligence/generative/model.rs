//! The shapes of generative summaries: the tenant's settings as saved and as shown,
//! a summary, and the reading of an OpenAI-compatible answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::kernel::{validate, DomainError};

/// What the endpoint is asked to do with a contract's text.
pub const SYSTEM_PROMPT: &str = "You summarise contracts for the lawyers and buyers who \
    manage them. In at most 200 words of plain prose, say who the parties are, what each \
    must do, the money, the dates and the term, how it renews and ends, and anything \
    unusual or risky. Use only what the text says; say when something is not stated.";

/// The columns a [`GenerativeSettingsView`] is read from.
pub const SETTINGS_COLUMNS: &str =
    "enabled, base_url, model, api_key is not null, max_input_chars, updated_at";

/// How much of a contract's text is sent when the settings do not say.
const DEFAULT_MAX_INPUT_CHARS: i32 = 24_000;

/// The tenant's generative endpoint, as its admin saves it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerativeSettings {
    /// Nothing is sent while this is false.
    pub enabled: bool,
    /// An OpenAI-compatible API's base, such as `https://api.openai.com/v1`:
    /// `/chat/completions` is added. https, unless the operator allows private
    /// destinations; a name that resolves to an internal address is refused.
    #[schema(max_length = 2000)]
    pub base_url: String,
    #[schema(min_length = 1, max_length = 200)]
    pub model: String,
    /// Sent as a bearer token; never shown again. Absent: the saved key is kept;
    /// empty: it is removed.
    #[schema(max_length = 500)]
    pub api_key: Option<String>,
    /// The most characters of a contract's text sent (24,000 by default).
    #[schema(minimum = 1000, maximum = 200000)]
    pub max_input_chars: Option<i32>,
}

impl GenerativeSettings {
    pub(super) fn max_input_chars(&self) -> i32 {
        self.max_input_chars.unwrap_or(DEFAULT_MAX_INPUT_CHARS)
    }

    pub(super) fn check(&self) -> Result<(), DomainError> {
        validate::text("model", &self.model, 200)?;
        if self.base_url.trim().is_empty() {
            return Err(DomainError::invalid("base_url is required"));
        }
        if let Some(key) = &self.api_key {
            let key = key.trim();
            if key.chars().count() > 500 || key.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(DomainError::invalid_as(
                    "invalid_api_key",
                    "api_key: at most 500 printable ASCII characters without spaces",
                    json!({}),
                ));
            }
        }
        if !(1000..=200_000).contains(&self.max_input_chars()) {
            return Err(DomainError::invalid("max_input_chars: 1000 to 200000"));
        }
        Ok(())
    }
}

/// The tenant's generative endpoint as shown: the key only as whether one is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerativeSettingsView {
    /// False until the tenant's admin turns it on.
    pub enabled: bool,
    /// Empty until saved.
    pub base_url: String,
    pub model: String,
    pub api_key_set: bool,
    pub max_input_chars: i32,
    /// Null until saved.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for GenerativeSettingsView {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: String::new(),
            model: String::new(),
            api_key_set: false,
            max_input_chars: DEFAULT_MAX_INPUT_CHARS,
            updated_at: None,
        }
    }
}

impl From<&Row> for GenerativeSettingsView {
    fn from(row: &Row) -> Self {
        Self {
            enabled: row.get(0),
            base_url: row.get(1),
            model: row.get(2),
            api_key_set: row.get(3),
            max_input_chars: row.get(4),
            updated_at: row.get(5),
        }
    }
}

/// A contract's summary written by the tenant's endpoint, as kept for the contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerativeSummary {
    pub contract_id: Uuid,
    pub summary: String,
    pub model: String,
    /// How many characters of its text were sent.
    pub input_chars: usize,
    /// The text was longer than the tenant's `max_input_chars`: its end was not sent.
    pub truncated: bool,
    /// The endpoint's `usage` (tokens), as it gave it; null when it gave none.
    #[schema(value_type = Object)]
    pub usage: Value,
    /// Who asked for it; null once that user is deleted.
    pub generated_by: Option<Uuid>,
    pub generated_at: DateTime<Utc>,
    /// Made from what a call would send now (the same text, cut, endpoint and model);
    /// false once the contract's text or the tenant's settings changed since.
    pub current: bool,
    /// Served as kept, without calling the endpoint.
    pub reused: bool,
}

/// A contract's kept summary, its digest first.
pub const KEPT_SQL: &str = "select digest, summary, model, input_chars, text_chars, usage, \
    generated_by, generated_at from generative_summaries where contract_id = $1";

impl GenerativeSummary {
    /// A kept summary (a row of [`KEPT_SQL`]), `current` when its digest is
    /// `digest_now`.
    pub(super) fn kept(contract_id: Uuid, row: &Row, digest_now: Option<&str>) -> Self {
        let (input_chars, text_chars): (i32, i32) = (row.get(3), row.get(4));
        Self {
            contract_id,
            summary: row.get(1),
            model: row.get(2),
            input_chars: input_chars.max(0) as usize,
            truncated: input_chars < text_chars,
            usage: row.get(5),
            generated_by: row.get(6),
            generated_at: row.get(7),
            current: digest_now == Some(row.get::<_, &str>(0)),
            reused: true,
        }
    }
}

/// Whether `refresh` was asked for: a new call even when the kept summary is current.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryRequest {
    /// Call the endpoint even when the kept summary was made from the same text.
    #[serde(default)]
    pub refresh: bool,
}

/// The summary and the usage in an OpenAI-compatible chat completion.
pub(super) fn answer(body: &[u8]) -> Result<(String, Value), String> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|_| "its answer is not JSON".to_owned())?;
    let text = parsed["choices"][0]["message"]["content"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "its answer holds no choices[0].message.content".to_owned())?;
    let text: String = text
        .chars()
        .filter(|c| !validate::is_forbidden_char(*c))
        .take(20_000)
        .collect();
    Ok((text, parsed["usage"].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_completion_gives_its_first_choice_and_usage() {
        let body = br#"{"choices": [{"message": {"role": "assistant", "content": " The parties ... "}}], "usage": {"total_tokens": 12}}"#;
        let (text, usage) = answer(body).unwrap();
        assert_eq!(text, "The parties ...");
        assert_eq!(usage["total_tokens"], 12);
    }

    #[test]
    fn answers_without_a_summary_are_refused_not_shown() {
        for body in [
            &b"not json"[..],
            br#"{"choices": []}"#,
            br#"{"choices": [{"message": {"content": "   "}}]}"#,
            br#"{"error": {"message": "quota"}}"#,
        ] {
            assert!(answer(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn settings_refuse_keys_with_spaces_and_inputs_out_of_range() {
        let settings = |key: Option<&str>, max: Option<i32>| GenerativeSettings {
            enabled: true,
            base_url: "https://api.example.com/v1".into(),
            model: "m".into(),
            api_key: key.map(str::to_owned),
            max_input_chars: max,
        };
        assert!(settings(Some("sk-abc"), None).check().is_ok());
        assert!(settings(Some("sk abc"), None).check().is_err());
        assert!(settings(Some("sk-\u{202e}"), None).check().is_err());
        assert!(settings(None, Some(10)).check().is_err());
        assert!(settings(None, Some(200_001)).check().is_err());
    }
}
