//! Validated names: a value of these types is valid by construction, so code that holds
//! one never re-checks it and SQL that quotes one can never be broken out of.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// Longest identifier PostgreSQL keeps without truncating (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;
const TENANT_SCHEMA_PREFIX: &str = "t_";
const SPARE_SCHEMA_PREFIX: &str = "spare_";
/// Leaves room for the `t_` prefix inside PostgreSQL's identifier limit.
pub const MAX_SLUG_BYTES: usize = MAX_IDENTIFIER_BYTES - TENANT_SCHEMA_PREFIX.len();
const MAX_HOST_BYTES: usize = 253;
const MAX_LABEL_BYTES: usize = 63;
const MAX_EMAIL_BYTES: usize = 254;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("invalid tenant slug {value:?}: {reason}")]
    Slug { value: String, reason: &'static str },
    #[error("invalid host {value:?}: {reason}")]
    Host { value: String, reason: &'static str },
    #[error("invalid email address {value:?}: {reason}")]
    Email { value: String, reason: &'static str },
}

/// A tenant's slug: `[a-z][a-z0-9_]*`, at most 61 bytes. It names the tenant in the CLI,
/// in tokens and in its schema name, so it admits nothing that needs escaping anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let fail = |reason| {
            Err(NameError::Slug {
                value: truncate_for_message(value),
                reason,
            })
        };
        if value.is_empty() {
            return fail("it is empty");
        }
        if value.len() > MAX_SLUG_BYTES {
            return fail("it is longer than 61 characters");
        }
        if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return fail("it must start with a lower-case letter a-z");
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return fail("only lower-case letters a-z, digits and '_' are allowed");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn schema_name(&self) -> SchemaName {
        SchemaName(format!("{TENANT_SCHEMA_PREFIX}{}", self.0))
    }
}

/// A PostgreSQL schema that holds one tenant (`t_<slug>`) or a pre-provisioned spare
/// (`spare_<32 hex>`). Only `[a-z0-9_]`, so quoting it is all the escaping it needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaName(String);

impl SchemaName {
    /// A fresh, unguessable name for a spare schema.
    pub fn new_spare() -> Self {
        Self(format!(
            "{SPARE_SCHEMA_PREFIX}{}",
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// Re-validates a name read back from the registry. Only names this module could
    /// have produced are accepted, so a tampered registry row cannot inject SQL.
    pub fn from_stored(value: &str) -> Option<Self> {
        let tenant = value
            .strip_prefix(TENANT_SCHEMA_PREFIX)
            .is_some_and(|slug| TenantSlug::parse(slug).is_ok());
        let spare = value.strip_prefix(SPARE_SCHEMA_PREFIX).is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        (tenant || spare).then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier, safe to splice into DDL.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// A request host or a tenant domain: lower-cased, no port, no trailing dot, RFC 1123
/// labels. Upper case is folded (DNS is case-insensitive); anything else is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Host(String);

impl Host {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let fail = |reason| {
            Err(NameError::Host {
                value: truncate_for_message(value),
                reason,
            })
        };
        let trimmed = value.strip_suffix('.').unwrap_or(value);
        if trimmed.is_empty() {
            return fail("it is empty");
        }
        if trimmed.len() > MAX_HOST_BYTES {
            return fail("it is longer than 253 characters");
        }
        if trimmed.contains(':') {
            return fail("a port is not part of a host; give the name only");
        }
        if trimmed.contains(['/', '?', '#', '@', '\\']) {
            return fail("give a bare host name, without scheme, path or user");
        }
        let lower = trimmed.to_ascii_lowercase();
        for label in lower.split('.') {
            if label.is_empty() {
                return fail("it has an empty label (two dots in a row?)");
            }
            if label.len() > MAX_LABEL_BYTES {
                return fail("a label is longer than 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return fail("only letters, digits, '-' and '.' are allowed");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return fail("a label may not start or end with '-'");
            }
        }
        Ok(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for shape only (deliverability is the mail server's call).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let fail = |reason| {
            Err(NameError::Email {
                value: truncate_for_message(value),
                reason,
            })
        };
        let value = value.trim();
        if value.len() > MAX_EMAIL_BYTES {
            return fail("it is longer than 254 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return fail("it contains white space or control characters");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return fail("it has no '@'");
        };
        if local.is_empty() || local.contains('@') {
            return fail("the part before '@' is empty or holds another '@'");
        }
        if Host::parse(domain).is_err() || !domain.contains('.') && domain != "localhost" {
            return fail("the part after '@' is not a valid domain");
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }
}

/// Keeps error messages readable when someone pastes a megabyte into an argument.
fn truncate_for_message(value: &str) -> String {
    const LIMIT: usize = 80;
    if value.len() <= LIMIT {
        return value.to_owned();
    }
    let mut end = LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}

macro_rules! display_and_serialize_as_str {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    )*};
}
display_and_serialize_as_str!(TenantSlug, SchemaName, Host, Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lower_case_letters_digits_and_underscores() {
        for ok in ["acme", "a", "acme_2", "globex_corp_eu", &"a".repeat(61)] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn slug_refuses_anything_that_could_escape_an_identifier() {
        for bad in [
            "",
            "Acme",
            "acme; DROP SCHEMA public",
            "acme\"",
            "acme-corp",
            "1acme",
            "_acme",
            "acmé",
            "ac me",
            &"a".repeat(62),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn schema_name_of_a_slug_fits_postgres_identifier_limit() {
        let slug = TenantSlug::parse(&"z".repeat(61)).unwrap();
        assert_eq!(slug.schema_name().as_str().len(), 63);
        assert_eq!(
            TenantSlug::parse("acme").unwrap().schema_name().quoted(),
            "\"t_acme\""
        );
    }

    #[test]
    fn stored_schema_names_are_revalidated() {
        assert!(SchemaName::from_stored("t_acme").is_some());
        let spare = SchemaName::new_spare();
        assert_eq!(SchemaName::from_stored(spare.as_str()), Some(spare));
        for bad in [
            "public",
            "t_Acme",
            "t_a\"b",
            "spare_xyz",
            "t_",
            "pg_catalog",
        ] {
            assert!(SchemaName::from_stored(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn host_is_lower_cased_and_loses_its_trailing_dot() {
        assert_eq!(
            Host::parse("Acme.Example.COM.").unwrap().as_str(),
            "acme.example.com"
        );
        assert_eq!(
            Host::parse("acme.localhost").unwrap().as_str(),
            "acme.localhost"
        );
    }

    #[test]
    fn host_with_port_path_scheme_or_bad_labels_is_refused() {
        for bad in [
            "",
            "acme.localhost:8000",
            "acme.localhost/admin",
            "http://acme.localhost",
            "user@acme.localhost",
            "acme..localhost",
            "-acme.localhost",
            "acme_corp.localhost",
            "acme .localhost",
            "[::1]",
            &format!("{}.com", "a".repeat(64)),
            &"a.".repeat(130),
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn email_shape_is_checked_and_domain_lower_cased() {
        let email = Email::parse(" Ops@Acme.Example ").unwrap();
        assert_eq!(email.as_str(), "Ops@acme.example");
        assert_eq!(email.local_part(), "Ops");
        for bad in [
            "",
            "ops",
            "@acme.example",
            "ops@",
            "o ps@acme.example",
            "ops@acme",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn error_messages_do_not_echo_huge_inputs() {
        let huge = "A".repeat(100_000);
        let message = TenantSlug::parse(&huge).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }
}
