//! Columns that name another record the way a spreadsheet from elsewhere does: an
//! account by its name, a user or a contact by an email, beside the create body's id
//! columns (`account` beside `account_id`, `owner` beside `owner_id`). Each name is
//! looked up in the import's own transaction, so a row may name an account made on a
//! row above; a name that matches no record, or more than one, is that row's error,
//! never a guess.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::model::ImportKind;
use crate::kernel::letters::fold_case;
use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

/// The most names one cell may hold.
pub const MAX_NAMES_PER_CELL: usize = 100;

/// What a reference column names, and by what.
#[derive(Debug, Clone, Copy)]
enum Named {
    /// An account, by its name (case and surrounding spaces aside; account names are
    /// stored trimmed and unique regardless of case).
    Account,
    /// A user of the tenant, by email.
    User,
    /// A contact, by any of its emails.
    Contact,
}

impl Named {
    fn noun(self) -> (&'static str, &'static str) {
        match self {
            Self::Account => ("account", "named"),
            Self::User => ("user", "with the email"),
            Self::Contact => ("contact", "with the email"),
        }
    }

    /// Each key (lowered, trimmed) with the ids of the records it names.
    fn sql(self) -> &'static str {
        match self {
            Self::Account => {
                "select k, array_remove(array_agg(x.id order by x.id), null) \
                 from unnest($1::text[]) k left join counterparties x on lower(x.name) = k \
                 group by k"
            }
            Self::User => {
                "select k, array_remove(array_agg(x.id order by x.id), null) \
                 from unnest($1::text[]) k left join users x on lower(x.email) = k \
                 group by k"
            }
            Self::Contact => {
                "select k, array_remove(array_agg(x.id order by x.id), null) \
                 from unnest($1::text[]) k left join contacts x on x.email_keys @> array[k] \
                 group by k"
            }
        }
    }
}

/// A column of names standing in for an id column of the create body.
#[derive(Debug)]
pub struct Reference {
    /// The column the file may have.
    pub column: &'static str,
    /// The create body's field it fills.
    pub field: &'static str,
    named: Named,
    /// A list of names (`;`-separated), filling a list of ids.
    many: bool,
}

const fn one(column: &'static str, field: &'static str, named: Named) -> Reference {
    Reference {
        column,
        field,
        named,
        many: false,
    }
}

const fn many(column: &'static str, field: &'static str, named: Named) -> Reference {
    Reference {
        column,
        field,
        named,
        many: true,
    }
}

impl Reference {
    /// The statement that finds the records a cell's names (`$1`, lower-cased, up to
    /// [`MAX_NAMES_PER_CELL`]) stand for: each name with the ids it matches.
    pub fn lookup_sql(&self) -> &'static str {
        self.named.sql()
    }
}

/// The reference columns a file of `kind` may have.
pub fn references(kind: ImportKind) -> &'static [Reference] {
    const ACCOUNTS: [Reference; 2] = [
        one("owner", "owner_id", Named::User),
        one("parent", "parent_id", Named::Account),
    ];
    const CONTACTS: [Reference; 1] = [many("accounts", "account_ids", Named::Account)];
    const LEADS: [Reference; 1] = [one("owner", "owner_id", Named::User)];
    const OPPORTUNITIES: [Reference; 3] = [
        one("account", "account_id", Named::Account),
        one("owner", "owner_id", Named::User),
        many("contacts", "contact_ids", Named::Contact),
    ];
    match kind {
        ImportKind::Accounts => &ACCOUNTS,
        ImportKind::Contacts => &CONTACTS,
        ImportKind::Leads => &LEADS,
        ImportKind::Opportunities => &OPPORTUNITIES,
    }
}

/// A row's fields with every reference column replaced by the ids it names, or why
/// the row cannot be read that way (the row's error). Only a failed query is the
/// import's error.
pub async fn resolve(
    tx: &TenantTx,
    kind: ImportKind,
    mut fields: Map<String, Value>,
) -> Result<Result<Map<String, Value>, String>, DomainError> {
    for reference in references(kind) {
        let Some(cell) = fields.remove(reference.column) else {
            continue;
        };
        if fields.contains_key(reference.field) {
            return Ok(Err(format!(
                "give {} or {}, not both",
                reference.column, reference.field
            )));
        }
        // As written (for the row's error) and as looked up.
        let written: Vec<&str> = match &cell {
            Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
            Value::String(name) => vec![name.as_str()],
            _ => Vec::new(),
        };
        if written.len() > MAX_NAMES_PER_CELL {
            return Ok(Err(format!(
                "{} names at most {MAX_NAMES_PER_CELL} records",
                reference.column
            )));
        }
        let keys: Vec<String> = written.iter().map(|name| fold_case(name.trim())).collect();
        let found = tx
            .query(reference.lookup_sql(), &[&keys])
            .await
            .map_err(DomainError::database)?;
        let mut ids = Vec::with_capacity(keys.len());
        for (key, name) in keys.iter().zip(&written) {
            let matches: Vec<Uuid> = found
                .iter()
                .find(|row| row.get::<_, &str>(0) == key)
                .map(|row| row.get(1))
                .unwrap_or_default();
            let (noun, by) = reference.named.noun();
            let shown = crate::kernel::validate::truncate(name.trim(), 80);
            match matches.as_slice() {
                [id] => ids.push(Value::String(id.to_string())),
                [] => {
                    return Ok(Err(format!(
                        "{}: no {noun} {by} {shown:?}",
                        reference.column
                    )))
                }
                several => {
                    return Ok(Err(format!(
                        "{}: {} {noun}s match {shown:?}; name it by id in {}",
                        reference.column,
                        several.len(),
                        reference.field
                    )))
                }
            }
        }
        let value = if reference.many {
            Value::Array(ids)
        } else {
            ids.pop().unwrap_or(Value::Null)
        };
        fields.insert(reference.field.to_owned(), value);
    }
    Ok(Ok(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_is_a_column_of_its_kind_beside_the_field_it_fills() {
        for kind in [
            ImportKind::Accounts,
            ImportKind::Contacts,
            ImportKind::Leads,
            ImportKind::Opportunities,
        ] {
            for reference in references(kind) {
                let columns = kind.columns();
                assert!(
                    columns.contains(&reference.column),
                    "{kind:?} {reference:?}"
                );
                assert!(columns.contains(&reference.field), "{kind:?} {reference:?}");
            }
        }
    }
}
