//! Contracts as data: the lifecycle, the view every route returns, and the inputs of
//! create, update and transition with their validation. No I/O here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::Guard;
use crate::kernel::language::{titled_text_search_config, TextLanguage};
use crate::kernel::target::TargetKind;
use crate::kernel::validate::{self, nullable, IsoDate};
use crate::kernel::validate::{Amount, Currency};
use crate::kernel::{Actor, DomainError};

/// Contracts as something comments and files hang off.
pub static CONTRACT_TARGET: TargetKind = TargetKind {
    name: crate::attachments::originals::CONTRACT_KIND,
    table: "contracts",
    owner_column: "owner_id",
    deleted_event: "contract.deleted",
};

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_BODY_CHARS: usize = 1_000_000;
pub(super) const MAX_QUERY_CHARS: usize = 200;

pub const CONTRACT_COLUMNS: &str = "id, title, contract_type, status, value::text, currency, \
    counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, \
    metadata, body, version, created_by, created_at, updated_by, updated_at, shown_redaction, \
    text_language, text_language_set is not null";
/// The same columns without the (possibly large) body, for lists.
pub const SUMMARY_COLUMNS: &str = "id, title, contract_type, status, value::text, currency, \
    counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, \
    metadata, null::text, version, created_by, created_at, updated_by, updated_at, \
    shown_redaction, text_language, text_language_set is not null";

/// The lifecycle. `expired` and `terminated` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    InReview,
    Approved,
    Rejected,
    Executed,
    Expired,
    Terminated,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::InReview,
        Status::Approved,
        Status::Rejected,
        Status::Executed,
        Status::Expired,
        Status::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Executed => "executed",
            Self::Expired => "expired",
            Self::Terminated => "terminated",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Where a contract may go from here.
    pub fn next(self) -> &'static [Status] {
        match self {
            Self::Draft => &[Self::InReview],
            Self::InReview => &[Self::Approved, Self::Rejected],
            Self::Approved => &[Self::Executed],
            Self::Rejected => &[Self::Draft],
            Self::Executed => &[Self::Expired, Self::Terminated],
            Self::Expired | Self::Terminated => &[],
        }
    }

    /// Approving, rejecting, executing and ending contracts is for managers; owners
    /// may submit their drafts and take rejected ones back.
    pub(super) fn needs_manager(to: Status) -> bool {
        !matches!(to, Self::InReview | Self::Draft)
    }

    /// Whether the terms (title, body, parties, value, dates, type) may still change.
    pub(super) fn terms_editable(self) -> bool {
        matches!(self, Self::Draft | Self::InReview | Self::Rejected)
    }
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct ContractView {
    pub id: Uuid,
    pub title: String,
    pub contract_type: String,
    pub status: Status,
    /// Exact decimal string, e.g. "1250000.50".
    pub value: Option<String>,
    pub currency: Option<String>,
    pub counterparty_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub auto_renew: bool,
    pub renewal_notice_days: Option<i32>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    /// Whether a redacted copy stands in for the original for readers below the
    /// tenant's `original_role` (document settings) who do not own the contract.
    pub original_restricted: bool,
    /// Set when `body` is the text of this redacted copy, not the original: the reader
    /// may not read the original. Null otherwise.
    pub body_redaction_id: Option<Uuid>,
    /// The language full-text search stems its title and text in: told by the text's
    /// commonest short words whenever it is written, unless a person set it.
    pub text_language: TextLanguage,
    /// `set` when a person chose `text_language` (it then holds through every edit of
    /// the text until set to null), else `detected`.
    pub text_language_source: TextLanguageSource,
}

/// Who chose a contract's text language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextLanguageSource {
    Detected,
    Set,
}

impl ContractView {
    /// Where the contract lives in the API (a 201's `Location`).
    pub fn location(&self) -> String {
        format!("/api/v1/contracts/{}", self.id)
    }

    /// The text language a person set, if one did.
    pub fn text_language_set(&self) -> Option<TextLanguage> {
        (self.text_language_source == TextLanguageSource::Set).then_some(self.text_language)
    }

    /// Its strong ETag: the version an `If-Match` must name.
    pub fn etag(&self) -> String {
        crate::kernel::concurrency::etag(self.version)
    }

    pub fn from_row(row: &Row) -> Result<Self, DomainError> {
        let status: String = row.get(3);
        Ok(Self {
            id: row.get(0),
            title: row.get(1),
            contract_type: row.get(2),
            status: Status::parse(&status).ok_or_else(|| {
                DomainError::Internal(anyhow::anyhow!("unknown status {status:?}"))
            })?,
            value: row.get(4),
            currency: row.get(5),
            counterparty_id: row.get(6),
            owner_id: row.get(7),
            start_date: row.get(8),
            end_date: row.get(9),
            auto_renew: row.get(10),
            renewal_notice_days: row.get(11),
            tags: row.get(12),
            metadata: row.get(13),
            body: row.get(14),
            version: row.get(15),
            created_by: row.get(16),
            created_at: row.get(17),
            updated_by: row.get(18),
            updated_at: row.get(19),
            original_restricted: row.get::<_, Option<Uuid>>(20).is_some(),
            body_redaction_id: None,
            text_language: TextLanguage::of_config(row.get(21)),
            text_language_source: if row.get(22) {
                TextLanguageSource::Set
            } else {
                TextLanguageSource::Detected
            },
        })
    }

    /// The view as `actor` may read it: with the redacted copy's text in place of the
    /// original when `guard` (the contract's, from
    /// [`CONTRACT_GUARD_SQL`](crate::attachments::originals::CONTRACT_GUARD_SQL)) does
    /// not admit them.
    pub fn shielded(mut self, guard: Option<&Guard>, actor: &Actor) -> Self {
        if let Some(guard) = guard.filter(|g| !g.admits(actor)) {
            if self.body.is_some() {
                self.body = Some(guard.copy_body.clone().unwrap_or_default());
            }
            self.body_redaction_id = Some(guard.copy);
        }
        self
    }

    /// The view as the audit log records it: the body by its length only (every text
    /// is kept in `contract_versions` anyway).
    pub(super) fn audit_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            let chars = self.body.as_deref().map_or(0, |b| b.chars().count());
            object.insert("body".into(), json!(format!("({chars} characters)")));
        }
        value
    }
}

/// The fields every write shares, validated together.
pub(super) struct Terms {
    pub(super) title: String,
    pub(super) contract_type: String,
    pub(super) value: Option<Amount>,
    pub(super) currency: Option<Currency>,
    pub(super) counterparty_id: Option<Uuid>,
    pub(super) owner_id: Uuid,
    pub(super) start_date: Option<NaiveDate>,
    pub(super) end_date: Option<NaiveDate>,
    pub(super) auto_renew: bool,
    pub(super) renewal_notice_days: Option<i32>,
    pub(super) tags: Vec<String>,
    pub(super) metadata: Value,
    pub(super) body: String,
    /// The text language a person set, if one did.
    pub(super) text_language_set: Option<TextLanguage>,
}

impl Terms {
    /// The configuration its title and text are stemmed with: the one set, else the
    /// one their words tell.
    pub(super) fn text_search_config(&self) -> &'static str {
        self.text_language_set.map_or_else(
            || titled_text_search_config(&self.title, &self.body),
            TextLanguage::config,
        )
    }

    pub(super) fn check(&self) -> Result<(), DomainError> {
        if self.value.is_some() != self.currency.is_some() {
            return Err(DomainError::Validation(
                "value and currency go together: give both or neither".into(),
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date) {
            if end < start {
                return Err(DomainError::Validation(
                    "end_date must not be before start_date".into(),
                ));
            }
        }
        for date in [self.start_date, self.end_date].into_iter().flatten() {
            if !(1900..=2200).contains(&chrono::Datelike::year(&date)) {
                return Err(DomainError::Validation(
                    "dates must fall between the years 1900 and 2200".into(),
                ));
            }
        }
        if let Some(days) = self.renewal_notice_days {
            if !(0..=3650).contains(&days) {
                return Err(DomainError::Validation(
                    "renewal_notice_days must be 0 to 3650".into(),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContract {
    #[schema(min_length = 1, max_length = 500)]
    pub(crate) title: String,
    /// Required, except when generating from a template (which gives its own).
    #[serde(default)]
    #[schema(max_length = 40)]
    pub(crate) contract_type: String,
    /// Decimal string; a JSON number is refused.
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,4})?$")]
    pub(super) value: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub(super) currency: Option<String>,
    pub(super) counterparty_id: Option<Uuid>,
    /// Defaults to the caller; members may only name themselves.
    pub(super) owner_id: Option<Uuid>,
    pub(super) start_date: Option<IsoDate>,
    pub(super) end_date: Option<IsoDate>,
    #[serde(default)]
    pub(super) auto_renew: bool,
    #[schema(minimum = 0, maximum = 3650)]
    pub(super) renewal_notice_days: Option<i32>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub(super) tags: Vec<String>,
    #[schema(value_type = Object)]
    pub(super) metadata: Option<Value>,
    #[serde(default)]
    #[schema(max_length = 1000000)]
    pub(crate) body: String,
    /// The language to stem its text in, in place of the one its words tell.
    pub(super) text_language: Option<TextLanguage>,
}

impl CreateContract {
    /// A contract drafted for a won deal: type and body come from a template, the
    /// caller owns it.
    pub fn for_deal(
        title: String,
        value: Option<String>,
        currency: Option<String>,
        counterparty_id: Uuid,
    ) -> Self {
        Self {
            title,
            contract_type: String::new(),
            value,
            currency,
            counterparty_id: Some(counterparty_id),
            owner_id: None,
            start_date: None,
            end_date: None,
            auto_renew: false,
            renewal_notice_days: None,
            tags: Vec::new(),
            metadata: None,
            body: String::new(),
            text_language: None,
        }
    }

    pub(super) fn terms(self, caller: Uuid) -> Result<Terms, DomainError> {
        let terms = Terms {
            title: validate::text("title", &self.title, MAX_TITLE_CHARS)?,
            contract_type: match self.contract_type.trim() {
                "" => return Err(DomainError::Validation("contract_type is required".into())),
                key => key.to_owned(),
            },
            value: self
                .value
                .as_deref()
                .map(|v| Amount::parse("value", v))
                .transpose()?,
            currency: self.currency.as_deref().map(Currency::parse).transpose()?,
            counterparty_id: self.counterparty_id,
            owner_id: self.owner_id.unwrap_or(caller),
            start_date: self.start_date.map(|d| d.0),
            end_date: self.end_date.map(|d| d.0),
            auto_renew: self.auto_renew,
            renewal_notice_days: self.renewal_notice_days,
            tags: validate::tags(&self.tags)?,
            metadata: validate::metadata(&self.metadata.unwrap_or_else(|| json!({})))?,
            body: validate::body("body", &self.body, MAX_BODY_CHARS)?,
            text_language_set: self.text_language,
        };
        terms.check()?;
        Ok(terms)
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateContract {
    /// The version this change was based on (or send `If-Match: "<version>"`).
    #[schema(minimum = 1)]
    pub(super) version: Option<i32>,
    #[schema(min_length = 1, max_length = 500)]
    pub(super) title: Option<String>,
    #[schema(max_length = 40)]
    pub(super) contract_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,4})?$")]
    pub(super) value: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub(super) currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) counterparty_id: Option<Option<Uuid>>,
    pub(super) owner_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) start_date: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) end_date: Option<Option<IsoDate>>,
    pub(super) auto_renew: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 0, maximum = 3650)]
    pub(super) renewal_notice_days: Option<Option<i32>>,
    #[schema(max_items = 50)]
    pub(super) tags: Option<Vec<String>>,
    #[schema(value_type = Object)]
    pub(super) metadata: Option<Value>,
    #[schema(max_length = 1000000)]
    pub(super) body: Option<String>,
    /// The language to stem its text in from now on, whatever its words; null: the
    /// words tell again. Not a term: it may change in any status.
    #[serde(default, deserialize_with = "nullable")]
    pub(super) text_language: Option<Option<TextLanguage>>,
}

impl UpdateContract {
    pub(super) fn touches_terms(&self) -> bool {
        self.title.is_some()
            || self.contract_type.is_some()
            || self.value.is_some()
            || self.currency.is_some()
            || self.counterparty_id.is_some()
            || self.start_date.is_some()
            || self.end_date.is_some()
            || self.body.is_some()
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The status to move to.
    #[schema(pattern = "^(draft|in_review|approved|rejected|executed|expired|terminated)$")]
    pub(super) to: String,
    /// The version this decision was based on (or `If-Match`); optional here.
    #[schema(minimum = 1)]
    pub(super) version: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn the_lifecycle_allows_only_its_transitions() {
        use Status::*;
        let edges: Vec<(Status, Status)> = Status::ALL
            .iter()
            .flat_map(|from| from.next().iter().map(move |to| (*from, *to)))
            .collect();
        assert_eq!(
            edges,
            [
                (Draft, InReview),
                (InReview, Approved),
                (InReview, Rejected),
                (Approved, Executed),
                (Rejected, Draft),
                (Executed, Expired),
                (Executed, Terminated),
            ]
        );
    }
}

/// The categories a clause may have, which a contract type may require.
pub const CLAUSE_CATEGORIES: [&str; 15] = [
    "payment",
    "liability",
    "confidentiality",
    "termination",
    "indemnity",
    "governing_law",
    "intellectual_property",
    "warranty",
    "force_majeure",
    "data_protection",
    "dispute_resolution",
    "non_compete",
    "assignment",
    "auto_renewal",
    "other",
];

pub fn clause_category(value: &str) -> Result<String, DomainError> {
    CLAUSE_CATEGORIES
        .iter()
        .find(|c| **c == value)
        .map(|c| (*c).to_owned())
        .ok_or_else(|| {
            DomainError::Validation(format!(
                "category {:?} is not one of {}",
                validate::truncate(value, 40),
                CLAUSE_CATEGORIES.join(", ")
            ))
        })
}

/// A contract type: eight built in, more per tenant, each with the clause categories
/// it requires.
#[derive(Serialize, ToSchema)]
pub struct ContractTypeView {
    pub key: String,
    pub label: String,
    pub required_clause_categories: Vec<String>,
    pub builtin: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContractType {
    /// `[a-z][a-z0-9_]{0,39}`, e.g. `reseller`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    #[schema(min_length = 1, max_length = 100)]
    pub label: String,
    #[serde(default)]
    pub required_clause_categories: Vec<String>,
}
