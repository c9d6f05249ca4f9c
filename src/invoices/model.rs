//! Invoices' types and the rules of their fields. No I/O: the amounts are computed by
//! PostgreSQL from the lines (numeric, never floats) and read back as strings.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::validate::{self, nullable, Amount, IsoDate};
use crate::kernel::DomainError;

/// The most lines one invoice has.
pub const MAX_LINES: usize = 200;

pub const COLUMNS: &str = "id, number, account_id, contract_id, currency, status, issue_date, due_date, \
     subtotal::text, discount_total::text, tax_total::text, total::text, paid::text, (total - paid)::text, \
     notes, void_reason, sent_at, paid_at, voided_at, created_by, created_at, updated_at";

#[derive(Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// From the tenant's format; kept when the invoice is void.
    pub number: String,
    pub account_id: Uuid,
    pub contract_id: Option<Uuid>,
    pub currency: String,
    /// `draft`, `sent`, `partly_paid`, `paid`, `overdue` or `void`.
    pub status: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    /// Exact decimal strings: the lines' gross, their discounts, their tax, and the
    /// total (gross - discounts + tax).
    pub subtotal: String,
    pub discount_total: String,
    pub tax_total: String,
    pub total: String,
    pub paid: String,
    /// What is still owed.
    pub balance: String,
    pub notes: Option<String>,
    pub void_reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when one invoice is fetched or written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PaymentView>>,
}

impl From<&Row> for InvoiceView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            number: row.get(1),
            account_id: row.get(2),
            contract_id: row.get(3),
            currency: row.get(4),
            status: row.get(5),
            issue_date: row.get(6),
            due_date: row.get(7),
            subtotal: row.get(8),
            discount_total: row.get(9),
            tax_total: row.get(10),
            total: row.get(11),
            paid: row.get(12),
            balance: row.get(13),
            notes: row.get(14),
            void_reason: row.get(15),
            sent_at: row.get(16),
            paid_at: row.get(17),
            voided_at: row.get(18),
            created_by: row.get(19),
            created_at: row.get(20),
            updated_at: row.get(21),
            lines: None,
            payments: None,
        }
    }
}

pub const LINE_COLUMNS: &str = "position, description, quantity::text, unit_price::text, \
     discount_percent::text, tax_rate::text, gross::text, discount::text, net::text, tax::text, \
     (net + tax)::text";

/// One line: its amounts rounded to its currency's minor unit (cents, mostly) half away
/// from zero.
#[derive(Serialize, ToSchema)]
pub struct LineView {
    pub position: i32,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: String,
    pub tax_rate: String,
    /// quantity x unit price.
    pub gross: String,
    pub discount: String,
    /// gross - discount.
    pub net: String,
    pub tax: String,
    /// net + tax.
    pub total: String,
}

impl From<&Row> for LineView {
    fn from(row: &Row) -> Self {
        Self {
            position: row.get(0),
            description: row.get(1),
            quantity: row.get(2),
            unit_price: row.get(3),
            discount_percent: row.get(4),
            tax_rate: row.get(5),
            gross: row.get(6),
            discount: row.get(7),
            net: row.get(8),
            tax: row.get(9),
            total: row.get(10),
        }
    }
}

pub const PAYMENT_COLUMNS: &str =
    "id, amount::text, paid_on, method, reference, created_by, created_at";

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub amount: String,
    pub paid_on: NaiveDate,
    pub method: Option<String>,
    pub reference: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&Row> for PaymentView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            amount: row.get(1),
            paid_on: row.get(2),
            method: row.get(3),
            reference: row.get(4),
            created_by: row.get(5),
            created_at: row.get(6),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    #[schema(min_length = 1, max_length = 1000)]
    pub description: String,
    /// Decimal string, more than 0, at most 4 decimals.
    #[schema(pattern = r"^0*[0-9]{1,9}(\.[0-9]{1,4})?$")]
    pub quantity: String,
    /// Decimal string, at most 4 decimals.
    #[schema(pattern = r"^0*[0-9]{1,12}(\.[0-9]{1,4})?$")]
    pub unit_price: String,
    /// Percent, 0 to 100, at most 2 decimals.
    #[schema(pattern = r"^0*[0-9]{1,3}(\.[0-9]{1,2})?$")]
    pub discount_percent: Option<String>,
    /// Percent, 0 to 100, at most 2 decimals.
    #[schema(pattern = r"^0*[0-9]{1,3}(\.[0-9]{1,2})?$")]
    pub tax_rate: Option<String>,
}

/// A line's fields, checked, as bound to SQL.
pub struct CheckedLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: String,
    pub tax_rate: String,
}

/// A decimal string with at most `integer` digits before the point and `fraction`
/// after.
fn decimal(
    field: &str,
    value: &str,
    integer: usize,
    fraction: usize,
) -> Result<String, DomainError> {
    let amount = Amount::parse(field, value)?;
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if int.trim_start_matches('0').len() > integer || frac.len() > fraction {
        return Err(DomainError::invalid(format!(
            "{field} allows at most {integer} digits before the point and {fraction} after"
        )));
    }
    Ok(amount.as_str().to_owned())
}

fn percent(field: &str, value: Option<&str>) -> Result<String, DomainError> {
    let value = decimal(field, value.unwrap_or("0"), 3, 2)?;
    let (int, frac) = value.split_once('.').unwrap_or((&value, ""));
    let int: u32 = int.parse().unwrap_or(u32::MAX);
    if int > 100 || (int == 100 && frac.bytes().any(|b| b != b'0')) {
        return Err(DomainError::invalid(format!(
            "{field} is a percentage, 0 to 100"
        )));
    }
    Ok(value)
}

/// The lines checked: 1 to [`MAX_LINES`], each quantity more than zero.
pub fn lines(lines: &[NewLine]) -> Result<Vec<CheckedLine>, DomainError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(DomainError::invalid(format!(
            "an invoice has 1 to {MAX_LINES} lines"
        )));
    }
    lines
        .iter()
        .map(|line| {
            let quantity = decimal("quantity", &line.quantity, 9, 4)?;
            if !quantity.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
                return Err(DomainError::invalid("quantity must be more than 0"));
            }
            Ok(CheckedLine {
                description: validate::text("description", &line.description, 1000)?,
                quantity,
                unit_price: decimal("unit_price", &line.unit_price, 12, 4)?,
                discount_percent: percent("discount_percent", line.discount_percent.as_deref())?,
                tax_rate: percent("tax_rate", line.tax_rate.as_deref())?,
            })
        })
        .collect()
}

/// A payment's amount: more than zero, in the currency's minor unit at most.
pub fn payment_amount(value: &str, currency: &str) -> Result<String, DomainError> {
    let amount = decimal(
        "amount",
        value,
        14,
        minor_units(currency).unsigned_abs().into(),
    )?;
    if !amount.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(DomainError::invalid("amount must be more than 0"));
    }
    Ok(amount)
}

/// The digits after the point a currency's amounts have (ISO 4217's minor unit): none
/// for the yen, three for the Kuwaiti dinar, four for the Chilean UF, two for the rest.
pub fn minor_units(currency: &str) -> i16 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    pub account_id: Uuid,
    pub contract_id: Option<Uuid>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Today when left out; it picks the number's period.
    pub issue_date: Option<IsoDate>,
    /// The issue date plus the tenant's payment terms when left out.
    pub due_date: Option<IsoDate>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<NewLine>,
}

/// A draft's fields to change; `lines` replaces them all.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInvoice {
    #[serde(default, deserialize_with = "nullable")]
    pub contract_id: Option<Option<Uuid>>,
    pub due_date: Option<IsoDate>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 5000)]
    pub notes: Option<Option<String>>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Option<Vec<NewLine>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// Decimal string, more than 0, at most the balance.
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,2})?$")]
    pub amount: String,
    /// Today when left out.
    pub paid_on: Option<IsoDate>,
    #[schema(max_length = 50)]
    pub method: Option<String>,
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInvoice {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// How a tenant numbers and times its invoices.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSettings {
    /// `{YYYY}` or `{YY}`, `{MM}` (with a year) and one `{NNNN}` (the least digits
    /// shown) among letters, digits and `- / _ .`; the counter restarts each year (or
    /// month) the format shows.
    #[schema(min_length = 1, max_length = 50)]
    pub number_format: String,
    /// Days from issue to due, when an invoice names no due date.
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: i32,
    /// Days before the due date the reminder fires (0: none).
    #[schema(minimum = 0, maximum = 60)]
    pub reminder_days: i32,
    /// Whether the reminder, and the overdue mark, also mail the invoice again to the
    /// customer: to whoever its last sent email reached (never mailed, never reminded).
    #[serde(default)]
    pub email_reminders: bool,
    /// Days after the due date on which an invoice still unpaid is reminded again, its
    /// dunning schedule (event `invoice.dunning`, mailed too with `email_reminders`):
    /// at most 10 distinct days, 1 to 365, kept in order. Empty: nothing after the
    /// overdue mark.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub dunning_days: Vec<i32>,
}

/// The most recipients (and, apart, copies) of one invoice email.
pub const MAX_RECIPIENTS: usize = 20;

/// An invoice to mail to its customer, with its PDF attached.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoiceEmail {
    /// 1-20 addresses; the account's email when left out.
    #[schema(max_items = 20)]
    pub to: Option<Vec<String>>,
    /// At most 20 addresses copied.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub cc: Vec<String>,
    /// `Invoice <number> from <tenant>` when left out.
    #[schema(min_length = 1, max_length = 300)]
    pub subject: Option<String>,
    /// A note above the invoice's summary.
    #[schema(max_length = 5000)]
    pub message: Option<String>,
}

pub const EMAIL_COLUMNS: &str =
    "id, invoice_id, recipients, cc, subject, message, status, attempts, \
     last_error, requested_by, created_at, sent_at, failed_at, delivered, refused";

/// One mailing of an invoice and where it stands.
#[derive(Serialize, ToSchema)]
pub struct InvoiceEmailView {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub message: Option<String>,
    /// `queued` (waiting for the mail server, retried through outages), `sent` (it
    /// reached at least one address: see `delivered` and `refused`) or `failed`
    /// (refused by the mail server for every address, or out of attempts: see
    /// `last_error`).
    pub status: String,
    pub attempts: i32,
    /// What the mail server said on the last failed attempt.
    pub last_error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// The addresses the mail server took it for, so far.
    pub delivered: Vec<String>,
    /// The addresses the mail server refused for good (an unknown user), or that still
    /// failed on the last attempt: the others are reached all the same.
    pub refused: Vec<String>,
}

impl From<&Row> for InvoiceEmailView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            invoice_id: row.get(1),
            to: row.get(2),
            cc: row.get(3),
            subject: row.get(4),
            message: row.get(5),
            status: row.get(6),
            attempts: row.get(7),
            last_error: row.get(8),
            requested_by: row.get(9),
            created_at: row.get(10),
            sent_at: row.get(11),
            failed_at: row.get(12),
            delivered: row.get(13),
            refused: row.get(14),
        }
    }
}

/// Mail addresses as a mail server will take them, distinct (case aside), in the
/// order given, at most [`MAX_RECIPIENTS`].
pub fn mail_addresses(field: &str, values: &[String]) -> Result<Vec<String>, DomainError> {
    if values.len() > MAX_RECIPIENTS {
        return Err(DomainError::invalid(format!(
            "{field}: at most {MAX_RECIPIENTS} addresses"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let address = validate::text(field, value.trim(), 254)?;
        if crate::tenancy::Email::parse(&address).is_err()
            || crate::notifications::mail::mailbox(None, &address).is_err()
        {
            return Err(DomainError::invalid(format!(
                "{field}: {:?} is not an email address",
                validate::truncate(&address, 60)
            )));
        }
        if !out.iter().any(|known| known.eq_ignore_ascii_case(&address)) {
            out.push(address);
        }
    }
    Ok(out)
}

/// What comments hang off: a invoice, whose creator may change them.
pub static INVOICE_TARGET: crate::kernel::target::TargetKind = crate::kernel::target::TargetKind {
    name: "invoice",
    table: "invoices",
    owner_column: "created_by",
    deleted_event: "invoice.deleted",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: &str, price: &str, discount: Option<&str>, tax: Option<&str>) -> NewLine {
        NewLine {
            description: "x".into(),
            quantity: quantity.into(),
            unit_price: price.into(),
            discount_percent: discount.map(Into::into),
            tax_rate: tax.map(Into::into),
        }
    }

    #[test]
    fn lines_take_exact_decimals_within_their_bounds() {
        assert!(lines(&[line("1.5", "19.99", Some("10"), Some("21"))]).is_ok());
        for bad in [
            line("0", "1", None, None),
            line("1.00001", "1", None, None),
            line("1", "-1", None, None),
            line("1", "1e3", None, None),
            line("1", "1", Some("100.01"), None),
            line("1", "1", None, Some("101")),
            line("1", "1", None, Some("7.125")),
        ] {
            assert!(lines(&[bad]).is_err());
        }
        assert!(lines(&[]).is_err());
    }

    #[test]
    fn payments_are_positive_and_in_the_minor_unit_of_their_currency() {
        assert_eq!(payment_amount("10.50", "EUR").unwrap(), "10.50");
        assert!(payment_amount("0.00", "EUR").is_err());
        assert!(payment_amount("1.001", "EUR").is_err());
        assert_eq!(payment_amount("1500", "JPY").unwrap(), "1500");
        assert!(payment_amount("1500.5", "JPY").is_err());
        assert_eq!(payment_amount("1.125", "KWD").unwrap(), "1.125");
    }

    #[test]
    fn mail_addresses_are_bare_distinct_and_bounded() {
        let given = ["ap@globex.test".to_owned(), " AP@Globex.test ".to_owned()];
        assert_eq!(mail_addresses("to", &given).unwrap(), ["ap@globex.test"]);
        for bad in [
            "Jane <jane@globex.test>",
            "a@globex.test\r\nBcc: evil@example.com",
            "no-at-sign",
            "",
        ] {
            assert!(mail_addresses("to", &[bad.to_owned()]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_RECIPIENTS)
            .map(|n| format!("p{n}@x.test"))
            .collect();
        assert!(mail_addresses("to", &many).is_err());
    }
}
