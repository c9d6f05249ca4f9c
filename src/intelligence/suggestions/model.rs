//! Suggestions as data: the view every route returns, the inputs of a decision, and
//! how a suggested term maps onto the contract's fields. No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::contracts::model::ContractView;

/// The suggestion a term names in the contract: `counterparty` is the one existing
/// counterparty the parties name, the others are [`Field`]s.
pub(super) const COUNTERPARTY: &str = "counterparty";

pub(super) const COLUMNS: &str =
    "id, contract_id, attachment_id, field, value, passage, start_char, \
     end_char, confidence, status, contract_version, decided_by, decided_at, created_at";

/// A term read from the contract's text, for a person to accept or reject.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub id: Uuid,
    pub contract_id: Uuid,
    /// The file whose text it was read from; null for the contract's body.
    pub attachment_id: Option<Uuid>,
    /// `parties`, `counterparty`, `effective_date`, `end_date`, `term_months`,
    /// `auto_renew`, `renewal_notice_days`, `value`, `governing_law` or
    /// `payment_terms_days`.
    pub field: String,
    /// A date `YYYY-MM-DD`, a number, a boolean, a list of names, for `value`
    /// `{"amount", "currency"}`, for `counterparty` `{"id", "name"}`.
    #[schema(value_type = Object)]
    pub value: Value,
    /// The sentence it was read from.
    pub passage: String,
    /// Where that sentence is in the text, in characters.
    pub start_char: i32,
    pub end_char: i32,
    /// From 0 to 1: how plainly the text says it.
    pub confidence: f32,
    /// `open`, `accepted`, `rejected`, or `superseded` by a newer text.
    pub status: String,
    /// What accepting it changes: `start_date`, `end_date`, `auto_renew`,
    /// `renewal_notice_days`, `value` and `currency`, `counterparty_id`, or a key of
    /// `metadata`.
    pub fills: String,
    /// The contract version whose text said it.
    pub contract_version: i32,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Row> for SuggestionView {
    fn from(row: &Row) -> Self {
        let field: String = row.get(3);
        Self {
            id: row.get(0),
            contract_id: row.get(1),
            attachment_id: row.get(2),
            fills: fills(&field).to_owned(),
            field,
            value: row.get(4),
            passage: row.get(5),
            start_char: row.get(6),
            end_char: row.get(7),
            confidence: row.get(8),
            status: row.get(9),
            contract_version: row.get(10),
            decided_by: row.get(11),
            decided_at: row.get(12),
            created_at: row.get(13),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    /// Only suggestions in this state (`open` by default; `all` for every one).
    #[param(pattern = "^(open|accepted|rejected|superseded|all)$")]
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptSuggestion {
    /// The contract version this decision was based on; the current one when left out.
    #[schema(minimum = 1)]
    pub version: Option<i32>,
    /// Replace a value the contract already holds; without it such a suggestion is
    /// refused with `field_already_set`.
    #[serde(default)]
    pub replace: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedSuggestion {
    pub suggestion: SuggestionView,
    /// The contract as changed (a new version).
    pub contract: ContractView,
}

/// The contract's field (or `metadata` key) a suggestion's field fills.
pub(super) fn fills(field: &str) -> &'static str {
    match field {
        "effective_date" => "start_date",
        "end_date" => "end_date",
        "auto_renew" => "auto_renew",
        "renewal_notice_days" => "renewal_notice_days",
        "value" => "value",
        COUNTERPARTY => "counterparty_id",
        "parties" => "metadata.parties",
        "term_months" => "metadata.term_months",
        "governing_law" => "metadata.governing_law",
        "payment_terms_days" => "metadata.payment_terms_days",
        _ => "",
    }
}

/// What the contract holds now for `field`, in the form a suggestion's value has;
/// `None` when it holds nothing (`auto_renew` off counts as nothing).
pub(in crate::intelligence) fn current(field: &str, contract: &ContractView) -> Option<Value> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| json!(d.format("%Y-%m-%d").to_string()));
    match field {
        "effective_date" => date(contract.start_date),
        "end_date" => date(contract.end_date),
        "auto_renew" => contract.auto_renew.then_some(json!(true)),
        "renewal_notice_days" => contract.renewal_notice_days.map(|d| json!(d)),
        "value" => contract
            .value
            .as_ref()
            .map(|amount| json!({"amount": normal_amount(amount), "currency": contract.currency})),
        COUNTERPARTY => contract.counterparty_id.map(|id| json!(id)),
        _ => contract
            .metadata
            .get(field)
            .filter(|v| !v.is_null())
            .cloned(),
    }
}

/// Whether the contract already says what a suggestion says.
pub(super) fn holds(field: &str, contract: &ContractView, value: &Value) -> bool {
    let suggested = match field {
        COUNTERPARTY => value.get("id").cloned().unwrap_or(Value::Null),
        "value" => json!({
            "amount": normal_amount(value["amount"].as_str().unwrap_or_default()),
            "currency": value["currency"],
        }),
        "auto_renew" => return contract.auto_renew == value.as_bool().unwrap_or(false),
        _ => value.clone(),
    };
    current(field, contract).as_ref() == Some(&suggested)
}

/// "120000.00" and "120000" as one amount.
pub(super) fn normal_amount(amount: &str) -> String {
    match amount.split_once('.') {
        Some((whole, cents)) => {
            let cents = cents.trim_end_matches('0');
            if cents.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{cents}")
            }
        }
        None => amount.to_owned(),
    }
}

/// The body of a contract update that fills `field` with `value`.
pub(super) fn patch(field: &str, value: &Value, contract: &ContractView) -> Value {
    match field {
        "effective_date" => json!({"start_date": value}),
        "end_date" => json!({"end_date": value}),
        "auto_renew" => json!({"auto_renew": value}),
        "renewal_notice_days" => json!({"renewal_notice_days": value}),
        "value" => json!({"value": value["amount"], "currency": value["currency"]}),
        COUNTERPARTY => json!({"counterparty_id": value["id"]}),
        _ => {
            let mut metadata = contract.metadata.clone();
            if let Some(object) = metadata.as_object_mut() {
                object.insert(field.to_owned(), value.clone());
            }
            json!({ "metadata": metadata })
        }
    }
}

#[cfg(test)]
mod tests;
