//! The dashboards' figures. No I/O: every amount is an exact decimal string summed by
//! PostgreSQL, per currency (amounts in different currencies are never added up).

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Pipeline value at one stage, in one currency.
#[derive(Serialize, ToSchema)]
pub struct StageValue {
    pub stage: String,
    pub label: String,
    /// `open`, `won` or `lost`.
    pub outcome: String,
    pub currency: String,
    pub count: i64,
    pub amount: String,
    /// The amount times the stage's probability.
    pub weighted: String,
}

/// One owner's closed deals over the range, in one currency.
#[derive(Serialize, ToSchema)]
pub struct OwnerWinRate {
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub currency: String,
    pub won: i64,
    pub lost: i64,
    /// won / (won + lost), 0 to 1, rounded to 4 places.
    pub win_rate: String,
    pub won_amount: String,
}

/// What the live contracts with one account are worth, in one currency.
#[derive(Serialize, ToSchema)]
pub struct AccountValue {
    pub account_id: Uuid,
    pub account_name: String,
    pub currency: String,
    pub contracts: i64,
    pub value: String,
}

/// A contract ending within the window.
#[derive(Serialize, ToSchema)]
pub struct Renewal {
    pub contract_id: Uuid,
    pub title: String,
    pub account_id: Option<Uuid>,
    pub end_date: NaiveDate,
    pub auto_renew: bool,
    /// The last day to give notice (end date minus the notice period), when there is one.
    pub notice_date: Option<NaiveDate>,
    pub value: Option<String>,
    pub currency: Option<String>,
}

/// Overdue invoices in one currency, by how late they are.
#[derive(Serialize, ToSchema)]
pub struct OverdueInvoices {
    pub currency: String,
    pub count: i64,
    pub balance: String,
    /// Balance 1-30, 31-60, 61-90 and over 90 days past due.
    pub days_1_30: String,
    pub days_31_60: String,
    pub days_61_90: String,
    pub days_over_90: String,
}

/// How one priority's cases kept their SLAs.
#[derive(Serialize, ToSchema)]
pub struct CaseSlaCompliance {
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// Cases opened in the window.
    pub opened: i64,
    pub first_response: ClockCompliance,
    pub resolution: ClockCompliance,
}

/// One SLA clock over a set of cases.
#[derive(Serialize, ToSchema)]
pub struct ClockCompliance {
    /// Met before its deadline.
    pub met: i64,
    pub breached: i64,
    /// Still running (neither met nor breached yet).
    pub running: i64,
    /// Percentage of the judged (met or breached) that were met; null when none was.
    pub compliance_percent: Option<f64>,
}
