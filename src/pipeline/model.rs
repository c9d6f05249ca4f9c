//! The pipeline's types and the rules of their fields. No I/O.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::validate::{self, nullable, IsoDate};
use crate::kernel::DomainError;

/// The most stages a pipeline may have.
pub const MAX_STAGES: usize = 20;

/// A step of the tenant's pipeline.
#[derive(Serialize, Deserialize, ToSchema, Clone, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// `[a-z][a-z0-9_]*`, at most 50 characters; what opportunities name.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,49}$")]
    pub key: String,
    #[schema(min_length = 1, max_length = 100)]
    pub label: String,
    /// Percent chance a deal at this stage closes: weighs the forecast.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: i32,
    /// `open`, `won` or `lost`: whether reaching the stage closes the deal, and how.
    #[schema(pattern = "^(open|won|lost)$")]
    pub outcome: String,
}

impl From<&Row> for Stage {
    fn from(row: &Row) -> Self {
        Self {
            key: row.get(0),
            label: row.get(1),
            probability: row.get(2),
            outcome: row.get(3),
        }
    }
}

pub const STAGE_COLUMNS: &str = "key, label, probability, outcome";

/// The whole pipeline, in order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    #[schema(min_items = 3, max_items = 20)]
    pub stages: Vec<Stage>,
}

impl Pipeline {
    /// The stages checked: unique keys, sane fields, at least one open stage, one won
    /// and one lost (a deal must be able to close either way).
    pub fn checked(self) -> Result<Vec<Stage>, DomainError> {
        let stages = self.stages;
        if stages.len() > MAX_STAGES {
            return Err(DomainError::invalid(format!(
                "a pipeline has at most {MAX_STAGES} stages"
            )));
        }
        let mut keys = std::collections::BTreeSet::new();
        for stage in &stages {
            let key_ok = stage.key.len() <= 50
                && stage.key.starts_with(|c: char| c.is_ascii_lowercase())
                && stage
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                return Err(DomainError::invalid(format!(
                    "stage key {:?} must be lower-case letters, digits and '_', starting with a letter",
                    validate::truncate(&stage.key, 60)
                )));
            }
            if !keys.insert(stage.key.as_str()) {
                return Err(DomainError::invalid(format!(
                    "stage key {:?} is given twice",
                    stage.key
                )));
            }
            validate::text("label", &stage.label, 100)?;
            if !(0..=100).contains(&stage.probability) {
                return Err(DomainError::invalid(
                    "probability is a percentage, 0 to 100",
                ));
            }
            if !matches!(stage.outcome.as_str(), "open" | "won" | "lost") {
                return Err(DomainError::invalid("outcome must be open, won or lost"));
            }
        }
        for outcome in ["open", "won", "lost"] {
            if !stages.iter().any(|s| s.outcome == outcome) {
                return Err(DomainError::invalid(format!(
                    "a pipeline needs at least one {outcome} stage"
                )));
            }
        }
        Ok(stages)
    }
}

pub const COLUMNS: &str = "o.id, o.name, o.account_id, o.stage, o.amount::text, o.currency, \
     o.expected_close_date, o.owner_id, o.next_step, o.lost_reason, o.contract_id, o.closed_at, \
     array(select c.contact_id from opportunity_contacts c where c.opportunity_id = o.id \
           order by c.contact_id), \
     o.created_by, o.created_at, o.updated_at";

/// A deal with an account, somewhere on the pipeline.
#[derive(Serialize, ToSchema)]
pub struct OpportunityView {
    pub id: Uuid,
    pub name: String,
    /// The counterparty the deal is with.
    pub account_id: Uuid,
    pub stage: String,
    /// Exact decimal string.
    pub amount: String,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub owner_id: Option<Uuid>,
    pub next_step: Option<String>,
    pub lost_reason: Option<String>,
    /// The contract drafted when the deal was won.
    pub contract_id: Option<Uuid>,
    /// When the deal reached a won or lost stage.
    pub closed_at: Option<DateTime<Utc>>,
    pub contact_ids: Vec<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for OpportunityView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            account_id: row.get(2),
            stage: row.get(3),
            amount: row.get(4),
            currency: row.get(5),
            expected_close_date: row.get(6),
            owner_id: row.get(7),
            next_step: row.get(8),
            lost_reason: row.get(9),
            contract_id: row.get(10),
            closed_at: row.get(11),
            contact_ids: row.get(12),
            created_by: row.get(13),
            created_at: row.get(14),
            updated_at: row.get(15),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    #[schema(min_length = 1, max_length = 300)]
    pub name: String,
    pub account_id: Uuid,
    /// A stage key; the pipeline's first open stage when left out.
    pub stage: Option<String>,
    /// Decimal string (`"12000.00"`); 0 when left out.
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,4})?$")]
    pub amount: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub expected_close_date: Option<IsoDate>,
    /// An active user; the creator when left out.
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub contact_ids: Vec<Uuid>,
    #[schema(max_length = 500)]
    pub next_step: Option<String>,
}

/// Fields to change; `null` clears an optional one, a list replaces the old one.
/// Moving to a lost stage needs a `lost_reason`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOpportunity {
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    pub stage: Option<String>,
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,4})?$")]
    pub amount: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub expected_close_date: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[schema(max_items = 10)]
    pub contact_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    pub next_step: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 1000)]
    pub lost_reason: Option<Option<String>>,
}

/// Winning a deal: to which won stage, and the contract to draft from a template.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WinOpportunity {
    /// A won stage; the pipeline's first when left out.
    pub stage: Option<String>,
    /// Drafts the contract in the same transaction, when given.
    pub contract: Option<ContractFromTemplate>,
}

/// The contract a won deal starts: the template's variables named after the deal
/// (`opportunity_name`, `amount`, `currency`, `expected_close_date`, `account_name`,
/// `account_email`, `account_website`, `billing_address`, `shipping_address`,
/// `contact_name`, `contact_email`, `owner_name`) are filled from it; `variables`
/// gives the rest, or overrides.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractFromTemplate {
    pub template_id: Uuid,
    /// The opportunity's name when left out.
    #[schema(min_length = 1, max_length = 500)]
    pub title: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// A won deal and the contract drafted from it.
#[derive(Serialize, ToSchema)]
pub struct Won {
    pub opportunity: OpportunityView,
    pub contract: Option<crate::contracts::ContractView>,
}

/// A stage of the board: its deals' count and totals per currency (and weighted by
/// the stage's probability), with the largest deals.
#[derive(Serialize, ToSchema)]
pub struct BoardColumn {
    pub stage: Stage,
    pub count: i64,
    pub totals: Vec<CurrencyTotal>,
    /// The stage's 50 largest deals.
    pub opportunities: Vec<OpportunityView>,
}

#[derive(Serialize, ToSchema)]
pub struct CurrencyTotal {
    pub currency: String,
    /// Exact decimal string.
    pub amount: String,
    /// The amount times the stage's probability.
    pub weighted: String,
}

/// One month of the weighted forecast, per currency.
#[derive(Serialize, ToSchema)]
pub struct ForecastMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub currency: String,
    pub count: i64,
    /// Every open or won deal expected to close in the month.
    pub amount: String,
    /// Each deal times its stage's probability (won: 100).
    pub weighted: String,
    /// Deals already won.
    pub won: String,
}

/// The text a lost deal gives for being lost, required by a lost stage.
pub fn lost_reason(outcome: &str, reason: Option<&str>) -> Result<Option<String>, DomainError> {
    let reason = validate::optional_text("lost_reason", reason, 1000)?;
    if outcome == "lost" && reason.is_none() {
        return Err(DomainError::invalid(
            "moving to a lost stage needs a lost_reason",
        ));
    }
    Ok(reason.filter(|_| outcome == "lost"))
}

/// What comments hang off: a opportunity, whose owner may change them.
pub static OPPORTUNITY_TARGET: crate::kernel::target::TargetKind =
    crate::kernel::target::TargetKind {
        name: "opportunity",
        table: "opportunities",
        owner_column: "owner_id",
        deleted_event: "opportunity.deleted",
    };

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(key: &str, outcome: &str) -> Stage {
        Stage {
            key: key.into(),
            label: key.into(),
            probability: 50,
            outcome: outcome.into(),
        }
    }

    #[test]
    fn a_pipeline_needs_unique_keys_and_a_way_to_win_and_to_lose() {
        let good = || {
            vec![
                stage("lead", "open"),
                stage("won", "won"),
                stage("lost", "lost"),
            ]
        };
        assert!(Pipeline { stages: good() }.checked().is_ok());
        let mut twice = good();
        twice.push(stage("lead", "open"));
        assert!(Pipeline { stages: twice }.checked().is_err());
        let no_loss = vec![stage("lead", "open"), stage("won", "won")];
        assert!(Pipeline { stages: no_loss }.checked().is_err());
        let mut bad_key = good();
        bad_key[0].key = "Lead Stage".into();
        assert!(Pipeline { stages: bad_key }.checked().is_err());
        let mut odds = good();
        odds[0].probability = 101;
        assert!(Pipeline { stages: odds }.checked().is_err());
    }

    #[test]
    fn only_a_lost_stage_keeps_and_needs_a_reason() {
        assert!(lost_reason("lost", None).is_err());
        assert_eq!(
            lost_reason("lost", Some("price")).unwrap().as_deref(),
            Some("price")
        );
        assert_eq!(lost_reason("open", Some("stale")).unwrap(), None);
    }
}
