//! What the rule-based readers react to: every new contract, every change of its text,
//! terms or clauses, and every file of it read has its terms read again
//! ([`ExtractTerms`], when what they fill may have changed), its risk weighed again
//! ([`AssessRisk`]) and its dated obligations kept as tasks ([`TrackObligations`],
//! when its text, start or end date changed). None needs the model, so all react on every
//! server. A release whose rules read differently raises [`EDITION`]: the first
//! instance to start with it reads every contract of every tenant again ([`Reread`]),
//! so readings made by the rules before are not kept until a text next changes.

use std::time::Duration;

use uuid::Uuid;

use super::assessment::AssessRisk;
use super::indexing::contract_of_file;
use super::suggestions::ExtractTerms;
use super::tasks::TrackObligations;
use crate::kernel::jobs::walk::Walk;
use crate::kernel::jobs::{self, editions, BackgroundJob, JobKind, NewJob, Walking};
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
    jobs::enqueue(tx, readings(contract_id, terms, obligations)).await?;
    Ok(())
}

/// The jobs that read `contract_id` again: its risk always, its terms and its
/// obligations when asked.
fn readings(contract_id: Uuid, terms: bool, obligations: bool) -> Vec<NewJob> {
    let mut work: Vec<NewJob> = vec![AssessRisk { contract_id }.now()];
    if terms {
        work.push(ExtractTerms { contract_id }.now());
    }
    if obligations {
        work.push(TrackObligations { contract_id }.now());
    }
    work
}

/// The edition of the rules that read terms, obligations and risk. Raise it in a
/// release whose rules find something else in a text already read, so that every
/// contract is read again once.
pub const EDITION: i32 = 5;

/// The name [`EDITION`] is recorded under for each tenant.
const READER: &str = "intelligence.rules";

/// Every contract of a tenant read again by the rules, a batch of contracts to a job.
pub struct Reread;

impl Walk for Reread {
    const KIND: JobKind = JobKind {
        name: "intelligence.reread",
        queue: "default",
        priority: 8,
        max_attempts: 5,
        timeout: Duration::from_secs(120),
    };
    const SETTINGS: &'static [(&'static str, &'static [&'static str])] = &[];
    // Each batch enqueues three readers a contract, and the next batch behind them: a
    // tenant's own new work waits behind at most one batch's readers.
    const BATCH: i64 = 100;
    const IDS_SQL: &'static str =
        "select id from contracts where status <> all($1) and id > $2 order by id limit $3";
    // None left out: a contract in any status has readings.
    const STATUSES: &'static [&'static str] = &[];

    async fn redo(tx: &TenantTx, ids: &[Uuid]) -> Result<(), DomainError> {
        let work = ids
            .iter()
            .flat_map(|id| readings(*id, true, true))
            .collect();
        jobs::enqueue(tx, work).await?;
        Ok(())
    }
}

/// Starts [`Reread`] for every active tenant whose contracts were read by an older
/// [`EDITION`] (once across all instances: see [`editions::bring_up_to`]). At
/// start-up; a failure is logged and the start goes on, since it is retried at the
/// next start.
pub async fn bring_up_to_date(
    url: &crate::tenancy::pool::DatabaseUrl,
    now: chrono::DateTime<chrono::Utc>,
) {
    let walk = Walking::<Reread>::from_the_start();
    let brought = async {
        let mut client = url.connect().await?;
        editions::bring_up_to(&mut client, READER, EDITION, walk, now)
            .await
            .map_err(anyhow::Error::from)
    };
    match brought.await {
        Ok(0) => {}
        Ok(tenants) => tracing::info!(
            tenants,
            edition = EDITION,
            "reading every contract again with this release's rules"
        ),
        Err(error) => tracing::warn!(
            %error,
            "could not check which tenants' contracts were read by older rules; \
             trying again at the next start"
        ),
    }
}
