//! Lists as CSV files: a header, one row per record, written by the `csv` crate
//! (quoting, embedded newlines). A cell a spreadsheet would run as a formula (one that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, so
//! a record's text can never execute in the reader's spreadsheet.

use actix_web::HttpResponse;

use crate::kernel::DomainError;
use crate::web::error::ApiError;

pub use crate::kernel::page::MAX_EXPORT_ROWS;

/// A cell as written: formula starters defused.
pub fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// An optional value's cell: empty for none.
pub fn opt<T: ToString>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map(|v| cell(&v.to_string()))
        .unwrap_or_default()
}

/// `rows` under `header` as `text/csv`, offered as `filename`; a 400 naming the bound
/// when there are more than [`MAX_EXPORT_ROWS`].
pub fn response(
    filename: &str,
    header: &[&str],
    rows: impl ExactSizeIterator<Item = Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    if rows.len() > MAX_EXPORT_ROWS {
        return Err(DomainError::invalid(format!(
            "an export holds at most {MAX_EXPORT_ROWS} rows"
        ))
        .into());
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let written = writer.write_record(header).and_then(|()| {
        rows.into_iter()
            .try_for_each(|row| writer.write_record(&row))
    });
    let bytes = written
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("csv: {e}")))
        .and_then(|()| {
            writer
                .into_inner()
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("csv: {e}")))
        })?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starters_are_defused_and_the_rest_kept() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("+1 555 0100"), "'+1 555 0100");
        assert_eq!(cell("Acme, Inc."), "Acme, Inc.");
        assert_eq!(opt::<String>(&None), "");
    }
}
