//! Imports' types. No I/O.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 5_000;
/// The largest file taken, in bytes.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Accounts,
    Contacts,
    Leads,
    Opportunities,
}

impl ImportKind {
    /// The columns a file may have: the fields of the record's create body, and the
    /// columns that name a record where the body takes its id
    /// ([`super::references`]).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Accounts => &[
                "name",
                "kind",
                "email",
                "website",
                "billing_address",
                "shipping_address",
                "industry",
                "owner_id",
                "owner",
                "tags",
                "parent_id",
                "parent",
                "notes",
            ],
            Self::Contacts => &[
                "name",
                "emails",
                "phones",
                "title",
                "role",
                "account_ids",
                "accounts",
            ],
            Self::Leads => &[
                "name",
                "company",
                "email",
                "phone",
                "website",
                "source",
                "status",
                "lost_reason",
                "owner_id",
                "owner",
                "score",
                "notes",
            ],
            Self::Opportunities => &[
                "name",
                "account_id",
                "account",
                "stage",
                "amount",
                "currency",
                "expected_close_date",
                "owner_id",
                "owner",
                "contact_ids",
                "contacts",
                "next_step",
            ],
        }
    }
}

/// How to run an import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check every row and report, then roll everything back.
    pub dry_run: bool,
    /// Leave duplicates out (reported as skipped) instead of refusing the file.
    pub skip_duplicates: bool,
}

/// What an import did, or would do, row by row. Rows are numbered as a spreadsheet
/// shows them: the header is row 1.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// True when nothing was kept (a dry run, or a run refused for its errors).
    pub dry_run: bool,
    /// Rows under the header.
    pub rows: usize,
    /// Whether the import was (or would be) made: no row has an error.
    pub valid: bool,
    /// What each good row made (in a dry run, ids that were rolled back).
    pub created: Vec<CreatedRow>,
    /// Every row that cannot be imported, and why.
    pub errors: Vec<RowNote>,
    /// Duplicates left out because `skip_duplicates` was asked.
    pub skipped: Vec<RowNote>,
}

impl ImportReport {
    pub fn new(dry_run: bool, rows: usize) -> Self {
        Self {
            dry_run,
            rows,
            valid: true,
            created: Vec::new(),
            errors: Vec::new(),
            skipped: Vec::new(),
        }
    }

    pub fn error(&mut self, row: usize, message: String) {
        self.valid = false;
        self.errors.push(RowNote { row, message });
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRow {
    pub row: usize,
    pub id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowNote {
    pub row: usize,
    pub message: String,
}
