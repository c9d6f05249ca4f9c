//! Templates' types and their one piece of pure logic: a body with named
//! `{{variables}}`, parsed, listed and filled. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::contracts::CreateContract;
use crate::kernel::validate;
use crate::kernel::{DomainError, Refusal};

pub const COLUMNS: &str =
    "id, name, contract_type, body, variables, created_by, created_at, updated_at";
pub const MAX_VARIABLES: usize = 200;
pub const MAX_VALUE_CHARS: usize = 10_000;

/// One piece of a template body.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits a body into text and `{{name}}` placeholders (`name`: a letter or `_`,
/// then letters, digits or `_`, at most 40; spaces inside the braces allowed).
pub fn parse(body: &str) -> Result<Vec<Piece<'_>>, DomainError> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            DomainError::Validation("a {{ in the template body is never closed with }}".into())
        })?;
        let name = after[..close].trim();
        let valid = (1..=40).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(DomainError::Validation(format!(
                "{{{{{}}}}} is not a valid variable name (letters, digits and _, up to 40)",
                validate::truncate(name, 40)
            )));
        }
        pieces.push(Piece::Variable(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

pub fn variables(pieces: &[Piece<'_>]) -> Vec<String> {
    let set: BTreeSet<&str> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Variable(name) => Some(*name),
            Piece::Text(_) => None,
        })
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

/// The variables a template body names, within the limit on their number.
pub fn template_variables(body: &str) -> Result<Vec<String>, DomainError> {
    let names = variables(&parse(body)?);
    if names.len() > MAX_VARIABLES {
        return Err(DomainError::Validation(format!(
            "a template names at most {MAX_VARIABLES} variables"
        )));
    }
    Ok(names)
}

/// Fills every placeholder, or lists what is missing and what was not asked for.
pub fn fill(body: &str, values: &BTreeMap<String, String>) -> Result<String, DomainError> {
    let pieces = parse(body)?;
    let wanted = variables(&pieces);
    let missing: Vec<&String> = wanted.iter().filter(|v| !values.contains_key(*v)).collect();
    let unknown: Vec<&String> = values.keys().filter(|k| !wanted.contains(k)).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "template_variables",
            format!(
                "template variables do not match: missing [{}], unknown [{}]",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                unknown
                    .iter()
                    .map(|s| validate::truncate(s, 40))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"missing": missing, "unknown": unknown}),
        ));
    }
    let mut out = String::with_capacity(body.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => out.push_str(&values[name]),
        }
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct TemplateView {
    pub id: Uuid,
    pub name: String,
    pub contract_type: String,
    pub body: String,
    /// The variables the body names, sorted.
    pub variables: Vec<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for TemplateView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            contract_type: row.get(2),
            body: row.get(3),
            variables: row.get(4),
            created_by: row.get(5),
            created_at: row.get(6),
            updated_at: row.get(7),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub contract_type: String,
    /// Text with `{{variable}}` placeholders.
    #[schema(max_length = 1000000)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub contract_type: Option<String>,
    /// New text; its variables are worked out again.
    #[schema(max_length = 1000000)]
    pub body: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// A value for every variable the template names, and nothing else.
    pub variables: BTreeMap<String, String>,
    /// The new contract's fields, as for `POST /api/v1/contracts`; `contract_type`
    /// defaults to the template's and `body` comes from the template.
    pub contract: CreateContract,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_filled_and_checked() {
        let body = "This agreement between {{ party }} and {{company}} ({{party}}).";
        assert_eq!(variables(&parse(body).unwrap()), ["company", "party"]);
        let values = BTreeMap::from([
            ("party".to_string(), "Acme".to_string()),
            ("company".to_string(), "Globex".to_string()),
        ]);
        assert_eq!(
            fill(body, &values).unwrap(),
            "This agreement between Acme and Globex (Acme)."
        );
        let partial = BTreeMap::from([
            ("party".to_string(), "Acme".to_string()),
            ("extra".to_string(), String::new()),
        ]);
        match fill(body, &partial).unwrap_err() {
            DomainError::Refused { code, details, .. } => {
                assert_eq!(code, "template_variables");
                assert_eq!(
                    details,
                    json!({"missing": ["company"], "unknown": ["extra"]})
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_placeholders_are_refused() {
        assert!(parse("{{ unclosed").is_err());
        assert!(parse("{{ two words }}").is_err());
        assert!(parse("{{}}").is_err());
        assert!(parse("{{1abc}}").is_err());
        assert_eq!(
            parse("no variables").unwrap(),
            [Piece::Text("no variables")]
        );
    }
}
