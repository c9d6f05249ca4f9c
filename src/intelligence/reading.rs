//! What the rule-based readers react to: every new contract, every change of its text,
//! terms or clauses, and every file of it read has its terms read again
//! ([`ExtractTerms`], when what they fill may have changed), its risk weighed again
//! ([`AssessRisk`]) and its dated obligations kept as tasks ([`TrackObligations`],
//! when its text, start or end date changed). None needs the model, so all react on every
//! server.

use uuid::Uuid;

use super::assessment::AssessRisk;
use super::indexing::contract_of_file;
use super::suggestions::ExtractTerms;
use super::tasks::TrackObligations;
use crate::kernel::jobs::{self, BackgroundJob, NewJob};
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

/// The contract's fields whose change the suggestions are weighed against.
const FILLED: [&str; 9] = [
    "body",
    "start_date",
    "end_date",
    "auto_renew",
    "renewal_notice_days",
    "value",
    "currency",
    "counterparty_id",
    "metadata",
];

pub fn react_to(reactions: &mut Reactions) {
    reactions
        .on("contract.created", on_contract)
        .on("contract.updated", on_contract)
        .on("contract.clause_attached", on_contract)
        .on("contract.clause_detached", on_contract)
        .on("attachment.text_extracted", on_file_text);
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
        // Suggestions are weighed again on a new text or a change of what one fills
        // (accepted, or typed in); risk on every change.
        let terms = match event.event_type {
            "contract.created" => true,
            "contract.updated" => FILLED.iter().any(|f| event.changes.get(*f).is_some()),
            _ => false,
        };
        // Obligations are read from the text; a period counted from the effective
        // date moves with the start date, and a recurring one's series ends with the
        // end date.
        let obligations = match event.event_type {
            "contract.created" => true,
            "contract.updated" => ["body", "start_date", "end_date"]
                .iter()
                .any(|f| event.changes.get(*f).is_some()),
            _ => false,
        };
        enqueue(tx, contract, terms, obligations).await
    })
}

fn on_file_text<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(attachment) = event.entity_id else {
            return Ok(());
        };
        match contract_of_file(tx, attachment).await? {
            Some(contract) => enqueue(tx, contract, true, true).await,
            None => Ok(()),
        }
    })
}

async fn enqueue(
    tx: &TenantTx,
    contract_id: Uuid,
    terms: bool,
    obligations: bool,
) -> Result<(), DomainError> {
    let mut work: Vec<NewJob> = vec![AssessRisk { contract_id }.now()];
    if terms {
        work.push(ExtractTerms { contract_id }.now());
    }
    if obligations {
        work.push(TrackObligations { contract_id }.now());
    }
    jobs::enqueue(tx, work).await?;
    Ok(())
}
