//! The language a redacted copy's text is stemmed in follows its contract's: the
//! language a person set on the contract, else the one the copy's own words tell. A
//! copy takes it when it is made, and again whenever the contract's changes.

use uuid::Uuid;

use crate::kernel::language::{set_or_told, TextLanguage};
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

pub fn react_to(reactions: &mut Reactions) {
    reactions.on("contract.updated", on_contract);
}

fn on_contract<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(contract) = event.entity_id else {
            return Ok(());
        };
        let language_changed = ["text_language", "text_language_source"]
            .iter()
            .any(|f| event.changes.get(*f).is_some());
        if language_changed {
            restem(tx, contract).await?;
        }
        Ok(())
    })
}

/// Stems every copy of `contract` in the language it now says.
async fn restem(tx: &TenantTx, contract: Uuid) -> Result<(), DomainError> {
    let set: Option<String> = tx
        .query_opt(
            "select text_language_set from contracts where id = $1",
            &[&contract],
        )
        .await?
        .and_then(|row| row.get(0));
    let set = set.as_deref().map(TextLanguage::of_config);
    let copies = tx
        .query(
            "select id, body from contract_redactions where contract_id = $1",
            &[&contract],
        )
        .await?;
    let (ids, languages): (Vec<Uuid>, Vec<&str>) = copies
        .iter()
        .map(|row| (row.get::<_, Uuid>(0), set_or_told(set, row.get(1))))
        .unzip();
    tx.execute(
        "update contract_redactions r set text_language = l.language \
         from unnest($1::uuid[], $2::text[]) as l(id, language) \
         where r.id = l.id and r.text_language <> l.language",
        &[&ids, &languages],
    )
    .await?;
    Ok(())
}
