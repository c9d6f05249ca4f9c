//! CSV import of accounts, contacts, leads and opportunities, without HTTP. Every row goes through the
//! owning area's own create (so an imported record is checked, audited and announced
//! exactly as one made by hand), each in a savepoint of one transaction, so one
//! bad row is reported without hiding the others. Duplicates are found by email
//! (contacts, leads), company domain (accounts) or account and name (opportunities),
//! against the tenant's records and the rows above. The caller commits only a real run with no error: an import is
//! all or nothing, and a dry run is the same run rolled back.

use std::collections::HashMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::model::*;
use super::references;
use crate::counterparties::{self, NewContact, NewCounterparty};
use crate::kernel::letters::fold_case;
use crate::kernel::validate::forbidden_char_in_json;
use crate::kernel::{Actor, DomainError, Origin};
use crate::leads::model::{company_domain, NewLead};
use crate::pipeline::model::NewOpportunity;
use crate::tenancy::scoped::TenantTx;

/// Columns whose cell holds several values, separated by `;`.
const LIST_COLUMNS: [&str; 7] = [
    "emails",
    "phones",
    "tags",
    "account_ids",
    "contact_ids",
    "accounts",
    "contacts",
];
/// Columns whose cell is a whole number.
const NUMBER_COLUMNS: [&str; 1] = ["score"];

/// The rows of `csv` as JSON objects (header -> cell; empty cells left out), or why
/// the file as a whole cannot be read.
pub fn rows(kind: ImportKind, csv: &[u8]) -> Result<Vec<Result<Fields, String>>, DomainError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(csv);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| DomainError::invalid(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let allowed = kind.columns();
    if let Some(unknown) = headers.iter().find(|h| !allowed.contains(&h.as_str())) {
        return Err(DomainError::invalid(format!(
            "unknown column {:?}; the columns are {}",
            crate::kernel::validate::truncate(unknown, 40),
            allowed.join(", ")
        )));
    }
    if !headers.iter().any(|h| h == "name") {
        return Err(DomainError::invalid("the file needs a name column"));
    }
    let mut seen = headers.clone();
    seen.sort();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(DomainError::invalid("a column is named twice"));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        if out.len() == MAX_ROWS {
            return Err(DomainError::invalid(format!(
                "an import takes at most {MAX_ROWS} rows"
            )));
        }
        out.push(match record {
            Err(e) => Err(format!("the row cannot be read: {e}")),
            Ok(record) => {
                let fields = object(&headers, &record);
                // Checked before any cell reaches a query (PostgreSQL refuses NUL).
                match forbidden_char_in_json(&Value::Object(fields.clone())) {
                    Some(column) => Err(format!(
                        "{column} contains a NUL or another control character"
                    )),
                    None => Ok(fields),
                }
            }
        });
    }
    if out.is_empty() {
        return Err(DomainError::invalid(
            "the file has no rows under its header",
        ));
    }
    Ok(out)
}

/// One row: column -> value.
pub type Fields = Map<String, Value>;

fn object(headers: &[String], record: &csv::StringRecord) -> Fields {
    let mut fields = Map::new();
    for (header, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = if LIST_COLUMNS.contains(&header.as_str()) {
            Value::Array(
                cell.split(';')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            )
        } else if NUMBER_COLUMNS.contains(&header.as_str()) {
            cell.parse::<i64>()
                .map_or_else(|_| Value::String(cell.to_owned()), Value::from)
        } else {
            Value::String(cell.to_owned())
        };
        fields.insert(header.clone(), value);
    }
    fields
}

/// What a row creates.
enum Record {
    Account(NewCounterparty),
    Contact(NewContact),
    Lead(NewLead),
    Opportunity(NewOpportunity),
}

impl Record {
    fn parse(kind: ImportKind, fields: Value) -> Result<Self, String> {
        let error = |e: serde_json::Error| e.to_string();
        Ok(match kind {
            ImportKind::Accounts => Self::Account(serde_json::from_value(fields).map_err(error)?),
            ImportKind::Contacts => Self::Contact(serde_json::from_value(fields).map_err(error)?),
            ImportKind::Leads => Self::Lead(serde_json::from_value(fields).map_err(error)?),
            ImportKind::Opportunities => {
                Self::Opportunity(serde_json::from_value(fields).map_err(error)?)
            }
        })
    }

    /// What tells it apart from the records it would duplicate: its emails, its
    /// company domain, or its account and name.
    fn keys(&self) -> Vec<String> {
        match self {
            Self::Account(a) => company_domain(a.website.as_deref(), a.email.as_deref())
                .into_iter()
                .collect(),
            Self::Contact(c) => c
                .emails
                .iter()
                .map(|e| counterparties::model::email_key(e))
                .collect(),
            Self::Lead(l) => l.email.iter().map(|e| fold_case(e.trim())).collect(),
            Self::Opportunity(o) => vec![opportunity_key(o.account_id, &o.name)],
        }
    }

    async fn create(
        self,
        tx: &TenantTx,
        actor: &Actor,
        origin: &Origin,
    ) -> Result<Uuid, DomainError> {
        Ok(match self {
            Self::Account(a) => {
                counterparties::service::create(tx, actor, origin, a)
                    .await?
                    .id
            }
            Self::Contact(c) => {
                counterparties::service::create_contact(tx, actor, origin, None, c)
                    .await?
                    .id
            }
            Self::Lead(l) => {
                crate::leads::service::create(tx, actor, origin, l)
                    .await?
                    .id
            }
            Self::Opportunity(o) => {
                crate::pipeline::service::create(tx, actor, origin, o)
                    .await?
                    .id
            }
        })
    }
}

/// An opportunity's duplicate key: its account and its name, case and the spaces around
/// it aside.
fn opportunity_key(account_id: Uuid, name: &str) -> String {
    format!("{account_id} {}", fold_case(name.trim()))
}

/// The tenant's records that hold any of `keys`: key -> record id.
async fn existing(
    tx: &TenantTx,
    kind: ImportKind,
    keys: &[String],
) -> Result<HashMap<String, Uuid>, DomainError> {
    Ok(tx
        .query(duplicates_sql(kind), &[&keys])
        .await
        .map_err(DomainError::database)?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// The statement that finds the records of `kind` holding any of the keys `$1` (one
/// row's, looked up as the row is read): `(key, record id)` rows. Each reads an index,
/// never the whole table: it runs once for every row of a file.
pub fn duplicates_sql(kind: ImportKind) -> &'static str {
    match kind {
        // Each domain through its own index (tenant migration V61 indexes these very
        // expressions, for the accounts that have one): a branch per domain.
        ImportKind::Accounts => {
            "select k, c.id from unnest($1::text[]) k join counterparties c on c.website is not null \
                 and lower(regexp_replace(regexp_replace(coalesce(c.website, ''), '^[a-zA-Z][a-zA-Z0-9+.-]*://', ''), \
                                          '^www\\.|[/:?#].*$', '', 'g')) = k \
             union \
             select k, c.id from unnest($1::text[]) k join counterparties c on c.email is not null \
                 and lower(split_part(coalesce(c.email, ''), '@', 2)) = k"
        }
        // Through the index of every contact's lower-cased addresses.
        ImportKind::Contacts => {
            "select k, c.id from unnest($1::text[]) k join contacts c on c.email_keys @> array[k]"
        }
        ImportKind::Leads => {
            "select k, l.id from unnest($1::text[]) k join leads l on lower(l.email) = k"
        }
        // As `opportunity_key` makes it (the account's id, 36 characters, a space, the
        // name): the account's opportunities through its index, then by name.
        ImportKind::Opportunities => {
            "select k, o.id from unnest($1::text[]) k join opportunities o \
                 on o.account_id = left(k, 36)::uuid and lower(btrim(o.name)) = substr(k, 38)"
        }
    }
}

/// Runs an import in `tx`: every row checked and created in its own savepoint. The
/// report says what each row made or why it could not; the caller commits only when
/// it is a real run and `report.errors` is empty.
pub async fn run(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    kind: ImportKind,
    rows: Vec<Result<Fields, String>>,
    options: ImportOptions,
) -> Result<ImportReport, DomainError> {
    actor.require(crate::kernel::Role::Member)?;
    let mut report = ImportReport::new(options.dry_run, rows.len());
    let mut first_row: HashMap<String, usize> = HashMap::new();
    for (i, row) in rows.into_iter().enumerate() {
        let line = i + 2;
        // Row by row, so a row may name a record made on a row above.
        let record = match row {
            Err(message) => Err(message),
            Ok(fields) => references::resolve(tx, kind, fields)
                .await?
                .and_then(|fields| Record::parse(kind, Value::Object(fields))),
        };
        let record = match record {
            Ok(record) => record,
            Err(message) => {
                report.error(line, message);
                continue;
            }
        };
        let keys = record.keys();
        let known = existing(tx, kind, &keys).await?;
        let duplicate = keys.iter().find_map(|key| {
            first_row
                .get(key)
                .map(|row| Duplicate::Row { key, row: *row })
                .or_else(|| {
                    known
                        .get(key)
                        .map(|id| Duplicate::Existing { key, id: *id })
                })
        });
        if let Some(duplicate) = duplicate {
            let message = duplicate.describe();
            if options.skip_duplicates {
                report.skipped.push(RowNote { row: line, message });
            } else {
                report.error(line, message);
            }
            continue;
        }
        for key in keys {
            first_row.entry(key).or_insert(line);
        }
        tx.execute("savepoint import_row", &[])
            .await
            .map_err(DomainError::database)?;
        match record.create(tx, actor, origin).await {
            Ok(id) => {
                tx.execute("release savepoint import_row", &[])
                    .await
                    .map_err(DomainError::database)?;
                report.created.push(CreatedRow { row: line, id });
            }
            Err(error @ (DomainError::Internal(_) | DomainError::Unavailable(_))) => {
                return Err(error)
            }
            Err(error) => {
                tx.execute("rollback to savepoint import_row", &[])
                    .await
                    .map_err(DomainError::database)?;
                report.error(line, error.to_string());
            }
        }
    }
    report.errors.sort_by_key(|note| note.row);
    Ok(report)
}

enum Duplicate<'a> {
    Existing { key: &'a str, id: Uuid },
    Row { key: &'a str, row: usize },
}

impl Duplicate<'_> {
    fn describe(&self) -> String {
        match self {
            Self::Existing { key, id } => format!("duplicate: {key} is already held by {id}"),
            Self::Row { key, row } => format!("duplicate: {key} is already on row {row}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_fields_lists_split_and_empty_cells_are_left_out() {
        let csv = "name,emails,phones,title\nBill, bill@a.example; b@a.example ,,Boss\n";
        let rows = rows(ImportKind::Contacts, csv.as_bytes()).unwrap();
        assert_eq!(
            &Value::Object(rows[0].clone().unwrap()),
            &serde_json::json!({"name": "Bill", "emails": ["bill@a.example", "b@a.example"], "title": "Boss"})
        );
    }

    #[test]
    fn a_file_with_unknown_or_repeated_columns_or_no_rows_is_refused_whole() {
        assert!(rows(ImportKind::Leads, b"name,colour\nA,red\n").is_err());
        assert!(rows(ImportKind::Leads, b"name,name\nA,B\n").is_err());
        assert!(rows(ImportKind::Leads, b"email\na@b.example\n").is_err());
        assert!(rows(ImportKind::Leads, b"name\n").is_err());
        // A row with the wrong number of cells is that row's error, not the file's.
        let read = rows(ImportKind::Leads, b"name,email\nA,a@b.example\nB\n").unwrap();
        assert!(read[0].is_ok() && read[1].is_err());
    }

    #[test]
    fn a_cell_with_a_control_character_is_its_rows_error() {
        let read = rows(
            ImportKind::Leads,
            b"name,email\nA,a\x00@b.example\nB,b@b.example\n",
        )
        .unwrap();
        assert!(read[0].as_ref().unwrap_err().contains("email"));
        assert!(read[1].is_ok());
    }

    #[test]
    fn a_score_is_a_number_and_anything_else_is_left_for_the_row_check() {
        let read = rows(ImportKind::Leads, b"name,score\nA,40\nB,high\n").unwrap();
        assert_eq!(read[0].as_ref().unwrap()["score"], 40);
        assert_eq!(read[1].as_ref().unwrap()["score"], "high");
    }
}
