//! Leads' types and the rules of their fields. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::letters::fold_case;
use crate::kernel::validate::{nullable, IsoDate};
use crate::kernel::DomainError;

pub const COLUMNS: &str = "id, name, company, email, phone, website, source, status, lost_reason, \
     owner_id, score, notes, converted_at, account_id, contact_id, opportunity_id, created_by, \
     created_at, updated_at";

/// Someone who may become a customer, before there is an account or a deal.
#[derive(Serialize, ToSchema)]
pub struct LeadView {
    pub id: Uuid,
    /// The person.
    pub name: String,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Where the lead came from (`web`, `referral`, `event`...).
    pub source: Option<String>,
    /// `new`, `contacted`, `qualified`, `lost` (with `lost_reason`) or `converted`.
    pub status: String,
    pub lost_reason: Option<String>,
    pub owner_id: Option<Uuid>,
    /// 0 to 100.
    pub score: i32,
    pub notes: Option<String>,
    /// A converted lead is read-only and names what it became.
    pub converted_at: Option<DateTime<Utc>>,
    pub account_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for LeadView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            company: row.get(2),
            email: row.get(3),
            phone: row.get(4),
            website: row.get(5),
            source: row.get(6),
            status: row.get(7),
            lost_reason: row.get(8),
            owner_id: row.get(9),
            score: row.get(10),
            notes: row.get(11),
            converted_at: row.get(12),
            account_id: row.get(13),
            contact_id: row.get(14),
            opportunity_id: row.get(15),
            created_by: row.get(16),
            created_at: row.get(17),
            updated_at: row.get(18),
        }
    }
}

/// The statuses a lead may be put in by an edit (`converted` comes from converting).
pub const EDITABLE_STATUSES: [&str; 4] = ["new", "contacted", "qualified", "lost"];

pub fn status(value: &str) -> Result<String, DomainError> {
    if EDITABLE_STATUSES.contains(&value) {
        Ok(value.to_owned())
    } else if value == "converted" {
        Err(DomainError::invalid(
            "a lead becomes converted by POST /api/v1/leads/{id}/convert",
        ))
    } else {
        Err(DomainError::invalid(
            "status must be new, contacted, qualified or lost",
        ))
    }
}

pub fn score(value: i32) -> Result<i32, DomainError> {
    if (0..=100).contains(&value) {
        Ok(value)
    } else {
        Err(DomainError::invalid("score must be 0 to 100"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 300)]
    pub company: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    #[schema(max_length = 500)]
    pub website: Option<String>,
    #[schema(max_length = 50)]
    pub source: Option<String>,
    /// `new` (default), `contacted`, `qualified` or `lost`.
    #[schema(pattern = "^(new|contacted|qualified|lost)$")]
    pub status: Option<String>,
    #[schema(max_length = 1000)]
    pub lost_reason: Option<String>,
    /// An active user; the creator when left out.
    pub owner_id: Option<Uuid>,
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<i32>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

/// Fields to change; `null` clears an optional one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLead {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 300)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 50)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 50)]
    pub source: Option<Option<String>>,
    #[schema(pattern = "^(new|contacted|qualified|lost)$")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 1000)]
    pub lost_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 10000)]
    pub notes: Option<Option<String>>,
}

/// Converting a lead: the account to link (else one matched by domain or name, else a
/// new one), and the opportunity to open.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLead {
    /// An existing account to link, instead of matching one.
    pub account_id: Option<Uuid>,
    pub opportunity: ConvertedOpportunity,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertedOpportunity {
    /// The lead's company (or name) when left out.
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[schema(pattern = r"^0*[0-9]{1,14}(\.[0-9]{1,4})?$")]
    pub amount: Option<String>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub expected_close_date: Option<IsoDate>,
    /// The pipeline's first open stage when left out.
    pub stage: Option<String>,
}

/// What a conversion made or linked.
#[derive(Serialize, ToSchema)]
pub struct Converted {
    pub lead: LeadView,
    pub account: crate::counterparties::CounterpartyView,
    /// `given`, `domain`, `name`, or `created` (no account matched).
    pub account_matched_by: String,
    pub contact: crate::counterparties::ContactView,
    /// Whether the contact existed already (matched by email).
    pub contact_existed: bool,
    pub opportunity: crate::pipeline::OpportunityView,
}

/// Mail providers whose domain says nothing about a lead's company.
const FREE_MAIL: [&str; 12] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.net",
];

/// The company domain a lead shows: its website's host, else its email's domain
/// unless that is a free mail provider; lower case, without `www.`.
pub fn company_domain(website: Option<&str>, email: Option<&str>) -> Option<String> {
    let from_site = website.and_then(|site| {
        let site = fold_case(site.trim());
        let rest = site.split_once("://").map_or(site.as_str(), |(_, r)| r);
        let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
        let host = host.strip_prefix("www.").unwrap_or(host);
        host.contains('.').then(|| host.to_owned())
    });
    from_site.or_else(|| {
        let domain = fold_case(email?.rsplit_once('@')?.1);
        (!FREE_MAIL.contains(&domain.as_str())).then_some(domain)
    })
}

/// What comments hang off: a lead, whose owner may change them.
pub static LEAD_TARGET: crate::kernel::target::TargetKind = crate::kernel::target::TargetKind {
    name: "lead",
    table: "leads",
    owner_column: "owner_id",
    deleted_event: "lead.deleted",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_domain_comes_from_the_site_then_a_work_email() {
        let domain = |site, mail| company_domain(site, mail);
        assert_eq!(
            domain(Some("https://www.Globex.example/about"), None).as_deref(),
            Some("globex.example")
        );
        assert_eq!(
            domain(Some("globex.example:8080"), None).as_deref(),
            Some("globex.example")
        );
        assert_eq!(
            domain(None, Some("hank@Globex.Example")).as_deref(),
            Some("globex.example")
        );
        assert_eq!(domain(None, Some("hank@gmail.com")), None);
        assert_eq!(domain(Some("localhost"), None), None);
    }

    #[test]
    fn converted_is_reached_only_by_converting() {
        assert!(status("qualified").is_ok());
        assert!(status("converted").is_err());
        assert!(status("won").is_err());
        assert!(score(101).is_err());
    }
}
