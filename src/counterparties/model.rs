//! Counterparties' types, and the rules of their fields. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::letters::fold_case;
use crate::kernel::validate::{self, nullable};
use crate::kernel::DomainError;

pub const COLUMNS: &str = "id, name, kind, email, website, billing_address, shipping_address, \
     industry, owner_id, tags, parent_id, notes, created_by, created_at, updated_at";

/// A counterparty: the organisation or person contracts are made with, and in the
/// CRM's words an account.
#[derive(Serialize, ToSchema)]
pub struct CounterpartyView {
    pub id: Uuid,
    pub name: String,
    /// `organisation` or `individual`.
    pub kind: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub billing_address: Option<String>,
    pub shipping_address: Option<String>,
    pub industry: Option<String>,
    /// The user who answers for the account (at first its creator); members may
    /// change the accounts they own or created.
    pub owner_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// The account this one belongs to (a subsidiary's group), never itself or one of
    /// its own descendants.
    pub parent_id: Option<Uuid>,
    pub notes: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when one counterparty is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactView>>,
}

impl From<&Row> for CounterpartyView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            kind: row.get(2),
            email: row.get(3),
            website: row.get(4),
            billing_address: row.get(5),
            shipping_address: row.get(6),
            industry: row.get(7),
            owner_id: row.get(8),
            tags: row.get(9),
            parent_id: row.get(10),
            notes: row.get(11),
            created_by: row.get(12),
            created_at: row.get(13),
            updated_at: row.get(14),
            contacts: None,
        }
    }
}

impl CounterpartyView {
    /// Who may change it besides managers: its owner, or its creator.
    pub fn held_by(&self, actor: &crate::kernel::Actor) -> bool {
        actor.may_edit(self.owner_id) || actor.may_edit(self.created_by)
    }
}

/// A contact's columns, with the accounts it belongs to gathered from the link table.
pub const CONTACT_COLUMNS: &str = "c.id, c.name, c.emails, c.phones, c.title, c.role, \
     array(select a.counterparty_id from account_contacts a where a.contact_id = c.id \
           order by a.counterparty_id), \
     c.created_by, c.created_at, c.updated_at";

/// A person at one or more accounts.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    /// Job title.
    pub title: Option<String>,
    /// What the contact is to the deal: decision maker, signatory, billing...
    pub role: Option<String>,
    /// The accounts (counterparties) the contact belongs to.
    pub account_ids: Vec<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for ContactView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            emails: row.get(2),
            phones: row.get(3),
            title: row.get(4),
            role: row.get(5),
            account_ids: row.get(6),
            created_by: row.get(7),
            created_at: row.get(8),
            updated_at: row.get(9),
        }
    }
}

/// At most this many emails, phones or accounts on one contact.
pub const MAX_CONTACT_ITEMS: usize = 10;

/// Distinct (case aside) email addresses with lower-cased domains, in the order given.
pub fn emails(values: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    if values.len() > MAX_CONTACT_ITEMS {
        return Err(DomainError::invalid(format!(
            "at most {MAX_CONTACT_ITEMS} emails"
        )));
    }
    for value in values {
        let parsed =
            email(Some(value))?.ok_or_else(|| DomainError::invalid("emails may not be empty"))?;
        if !out.iter().any(|e| e.eq_ignore_ascii_case(&parsed)) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// How a contact is found by email, case aside: each of its addresses lower-cased
/// (`contacts.email_keys`, indexed). Written with the addresses; a lookup lower-cases
/// the address it looks for the same way.
pub fn email_keys(emails: &[String]) -> Vec<String> {
    emails.iter().map(|e| email_key(e)).collect()
}

/// The key an address is looked up by in `contacts.email_keys`.
pub fn email_key(email: &str) -> String {
    fold_case(email.trim())
}

/// Distinct phone numbers as written: digits with the usual separators, an optional
/// leading `+` and extension.
pub fn phones(values: &[String]) -> Result<Vec<String>, DomainError> {
    if values.len() > MAX_CONTACT_ITEMS {
        return Err(DomainError::invalid(format!(
            "at most {MAX_CONTACT_ITEMS} phones"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let phone = validate::text("phone", value.trim(), 50)?;
        let allowed = |c: char| c.is_ascii_digit() || " +-().x/".contains(c);
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !phone.chars().all(allowed) || !(3..=20).contains(&digits) {
            return Err(DomainError::invalid(format!(
                "phone {:?} must be 3 to 20 digits with spaces, '+', '-', '(', ')', '.', '/' or 'x'",
                validate::truncate(&phone, 60)
            )));
        }
        if !out.contains(&phone) {
            out.push(phone);
        }
    }
    Ok(out)
}

/// Distinct account ids, at most [`MAX_CONTACT_ITEMS`].
pub fn account_ids(values: &[Uuid]) -> Result<Vec<Uuid>, DomainError> {
    validate::distinct_ids(values, MAX_CONTACT_ITEMS, "accounts of a contact")
}

pub fn kind(value: &str) -> Result<String, DomainError> {
    match value {
        "organisation" | "individual" => Ok(value.to_owned()),
        _ => Err(DomainError::Validation(
            "kind must be organisation or individual".into(),
        )),
    }
}

pub fn email(value: Option<&str>) -> Result<Option<String>, DomainError> {
    validate::optional_text("email", value, 254)?
        .map(|e| {
            crate::tenancy::Email::parse(&e)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| DomainError::Validation(e.to_string()))
        })
        .transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    pub name: String,
    #[schema(pattern = "^(organisation|individual)$")]
    pub kind: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 500)]
    pub website: Option<String>,
    #[schema(max_length = 2000)]
    pub billing_address: Option<String>,
    #[schema(max_length = 2000)]
    pub shipping_address: Option<String>,
    #[schema(max_length = 100)]
    pub industry: Option<String>,
    /// An active user of the tenant; the creator when left out.
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    pub parent_id: Option<Uuid>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

/// Fields to change; `null` clears an optional one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[schema(pattern = "^(organisation|individual)$")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    pub billing_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    pub shipping_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 100)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub parent_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 10000)]
    pub notes: Option<Option<String>>,
}

pub fn patch_text(
    field: &str,
    patch: &Option<Option<String>>,
    old: &Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match patch {
        None => Ok(old.clone()),
        Some(value) => validate::optional_text(field, value.as_deref(), max),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub phones: Vec<String>,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 100)]
    pub role: Option<String>,
    /// The accounts the contact belongs to (with the account route, that account too).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub account_ids: Vec<Uuid>,
}

/// Fields to change; `null` clears an optional one, a list replaces the old one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_items = 10)]
    pub emails: Option<Vec<String>>,
    #[schema(max_items = 10)]
    pub phones: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 200)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 100)]
    pub role: Option<Option<String>>,
    #[schema(max_items = 10)]
    pub account_ids: Option<Vec<Uuid>>,
}

/// What comments hang off: a counterparty, whose owner may change them.
pub static COUNTERPARTY_TARGET: crate::kernel::target::TargetKind =
    crate::kernel::target::TargetKind {
        name: "counterparty",
        table: "counterparties",
        owner_column: "owner_id",
        deleted_event: "counterparty.deleted",
    };

/// What comments hang off: a contact, whose creator may change them.
pub static CONTACT_TARGET: crate::kernel::target::TargetKind = crate::kernel::target::TargetKind {
    name: "contact",
    table: "contacts",
    owner_column: "created_by",
    deleted_event: "contact.deleted",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn phones_are_digits_with_the_usual_separators() {
        assert_eq!(
            phones(&strings(&[
                " +46 (8) 123-456 ",
                "555.0101 x12",
                "+46 (8) 123-456"
            ]))
            .unwrap(),
            ["+46 (8) 123-456", "555.0101 x12"]
        );
        for bad in [
            "call me",
            "12",
            "1234567890123456789012",
            "+1 555 0100; drop",
        ] {
            assert!(phones(&strings(&[bad])).is_err(), "{bad}");
        }
        assert!(phones(&vec!["555 0100".to_owned(); 11]).is_err());
    }

    #[test]
    fn emails_are_checked_and_kept_once_case_aside() {
        assert_eq!(
            emails(&strings(&[
                "Ann@Example.COM",
                "ann@example.com",
                "b@x.example"
            ]))
            .unwrap(),
            ["Ann@example.com", "b@x.example"]
        );
        assert!(emails(&strings(&[""])).is_err());
        assert!(emails(&strings(&["no at sign"])).is_err());
    }
}
