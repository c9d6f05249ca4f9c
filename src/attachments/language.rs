//! The language a file's text is stemmed in: the one a person set on the file, else
//! each page's own, told by its words. The page writers (reading, OCR) read the set
//! one after locking the file's text, and a change re-stems under the same lock, so no
//! page is left in the language it had before.

use uuid::Uuid;

use crate::kernel::language::{text_search_config, TextLanguage};
use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

/// The language a person set `attachment`'s text to be stemmed in. Read by a statement
/// of its own after the page writer has locked the file's text, so a change that held
/// that lock first is seen.
pub(super) async fn set_language(
    tx: &TenantTx,
    attachment: Uuid,
) -> Result<Option<TextLanguage>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "select text_language_set from attachments where id = $1",
            &[&attachment],
        )
        .await?;
    Ok(row.and_then(|row| row.get::<_, Option<&str>>(0).map(TextLanguage::of_config)))
}

/// Stems every page of `attachment` read so far in `language`, or each in the language
/// its own words tell. Holds the file's text first, as the page writers do, so a page
/// being written now is either re-stemmed here or written after, in the new language.
pub(super) async fn restem(
    tx: &TenantTx,
    attachment: Uuid,
    language: Option<TextLanguage>,
) -> Result<(), DomainError> {
    tx.execute(
        "select 1 from attachment_texts where attachment_id = $1 for update",
        &[&attachment],
    )
    .await?;
    if let Some(language) = language {
        tx.execute(
            "update attachment_pages set text_language = $2 \
             where attachment_id = $1 and text_language <> $2",
            &[&attachment, &language.config()],
        )
        .await?;
        return Ok(());
    }
    let rows = tx
        .query(
            "select page, body from attachment_pages where attachment_id = $1",
            &[&attachment],
        )
        .await?;
    let (pages, languages): (Vec<i32>, Vec<&str>) = rows
        .iter()
        .map(|row| (row.get::<_, i32>(0), text_search_config(row.get(1))))
        .unzip();
    tx.execute(
        "update attachment_pages p set text_language = l.language \
         from unnest($2::int[], $3::text[]) as l(page, language) \
         where p.attachment_id = $1 and p.page = l.page and p.text_language <> l.language",
        &[&attachment, &pages, &languages],
    )
    .await?;
    Ok(())
}
