//! Terms suggested from a contract's text. Every change of its body and every file
//! whose text has been read enqueues [`ExtractTerms`], which reads the text with the
//! rules of [`super::terms`] (no model needed) and keeps one open suggestion per term
//! that differs from what the contract already says, with the sentence it came from.
//! A person accepts one (the contract's fields change through the contracts service, so
//! versions, audit, events, workflows and reminders all follow) or rejects it (the same
//! value is never suggested again). Nothing is written to the contract by the job, and
//! accepting a term the contract already holds with another value needs `replace`.

mod model;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

pub(super) use self::model::current as held_value;
use self::model::{current, holds, patch, COLUMNS, COUNTERPARTY};
pub use self::model::{AcceptSuggestion, AcceptedSuggestion, SuggestionQuery, SuggestionView};
use super::indexing::{lock_unchanged, read_text, texts, FileText};
use super::terms::{self, Field, Found};
use crate::attachments::originals::{self, Guard};
use crate::contracts::model::{ContractView, UpdateContract};
use crate::contracts::service as contracts;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::query::Filter;
use crate::kernel::reads::read_as;
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const EXTRACT_TERMS: JobKind = JobKind {
    name: "intelligence.extract_terms",
    queue: "default",
    priority: 5,
    max_attempts: 3,
    timeout: Duration::from_secs(120),
};

/// Reads a contract's terms from its current text again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractTerms {
    pub contract_id: Uuid,
}

/// A term found, with the file it was found in.
struct Located {
    attachment: Option<Uuid>,
    field: String,
    found: Found,
}

/// The surest finding per field over the body and then each file.
fn read_all(body: &str, files: &[FileText]) -> Vec<Located> {
    let mut best: Vec<Located> = Vec::new();
    for (attachment, text) in texts(body, files) {
        for found in terms::extract(text) {
            match best.iter_mut().find(|b| b.found.field == found.field) {
                Some(b) if b.found.confidence >= found.confidence => {}
                Some(b) => {
                    *b = Located {
                        attachment,
                        field: found.field.as_str().to_owned(),
                        found,
                    }
                }
                None => best.push(Located {
                    attachment,
                    field: found.field.as_str().to_owned(),
                    found,
                }),
            }
        }
    }
    best
}

impl BackgroundJob for ExtractTerms {
    const KIND: JobKind = EXTRACT_TERMS;
    type Env = ();

    async fn run(self, ctx: JobContext, _: ()) -> Result<(), JobError> {
        extract_terms(&ctx, self.contract_id).await?;
        Ok(())
    }
}

/// Reads `contract`'s terms and keeps its open suggestions in step; says how many new
/// suggestions it made.
pub async fn extract_terms(ctx: &JobContext, contract: Uuid) -> Result<usize, JobError> {
    let Some((read, found)) = read_text(ctx, contract, read_all).await? else {
        return Ok(0);
    };
    let Some(tx) = lock_unchanged(ctx, contract, &read).await? else {
        return Ok(0);
    };
    let made = keep(&tx, contract, found).await?;
    tx.commit().await?;
    Ok(made)
}

/// Stores what was `found` as `contract`'s open suggestions, in `tx` (the contract row
/// locked): keeps an open one that says the same, never offers again what was rejected
/// or accepted, and supersedes the open ones the text no longer says.
async fn keep(
    tx: &TenantTx,
    contract: Uuid,
    mut found: Vec<Located>,
) -> Result<usize, DomainError> {
    let row = tx
        .query_one(
            &format!(
                "select {} from contracts where id = $1",
                crate::contracts::model::SUMMARY_COLUMNS
            ),
            &[&contract],
        )
        .await?;
    let view = ContractView::from_row(&row)?;
    if let Some(parties) = found.iter().find(|l| l.found.field == Field::Parties) {
        if let Some(named) = named_counterparty(tx, &parties.found.value).await? {
            let mut located = Located {
                attachment: parties.attachment,
                field: COUNTERPARTY.to_owned(),
                found: parties.found.clone(),
            };
            located.found.value = named;
            found.push(located);
        }
    }
    let known = tx
        .query(
            "select id, field, value, status from contract_suggestions \
             where contract_id = $1 and status <> 'superseded'",
            &[&contract],
        )
        .await?;
    let now = unit::now(tx);
    let mut kept: Vec<Uuid> = Vec::new();
    let mut made = 0;
    for located in found {
        let Located {
            attachment,
            field,
            found,
        } = located;
        if holds(&field, &view, &found.value) {
            continue;
        }
        let same = known
            .iter()
            .find(|row| row.get::<_, &str>(1) == field && row.get::<_, Value>(2) == found.value);
        match same.map(|row| (row.get::<_, Uuid>(0), row.get::<_, &str>(3))) {
            Some((_, "accepted" | "rejected")) => {}
            Some((id, _)) => {
                tx.execute(
                    "update contract_suggestions set attachment_id = $2, passage = $3, start_char = $4, \
                     end_char = $5, confidence = $6, contract_version = $7 where id = $1",
                    &[&id, &attachment, &found.passage, &(found.start as i32), &(found.end as i32), &found.confidence, &view.version],
                )
                .await?;
                kept.push(id);
            }
            None => {
                let id = Uuid::new_v4();
                tx.execute(
                    "insert into contract_suggestions (id, contract_id, attachment_id, field, value, passage, \
                     start_char, end_char, confidence, status, contract_version, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
                    &[&id, &contract, &attachment, &field, &found.value, &found.passage, &(found.start as i32),
                      &(found.end as i32), &found.confidence, &view.version, &now],
                )
                .await?;
                kept.push(id);
                made += 1;
            }
        }
    }
    tx.execute(
        "update contract_suggestions set status = 'superseded' \
         where contract_id = $1 and status = 'open' and id <> all($2)",
        &[&contract, &kept],
    )
    .await?;
    Ok(made)
}

/// The one counterparty the parties name (either name holding the other, case aside),
/// as `{"id", "name"}`, if exactly one does.
async fn named_counterparty(tx: &TenantTx, parties: &Value) -> Result<Option<Value>, DomainError> {
    let names: Vec<String> = parties
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let rows = tx
        .query(
            "select id, name from counterparties where char_length(name) >= 3 and exists \
             (select 1 from unnest($1::text[]) p where strpos(p, lower(name)) > 0 or strpos(lower(name), p) > 0) \
             limit 2",
            &[&names],
        )
        .await?;
    Ok(match rows.as_slice() {
        [only] => Some(json!({"id": only.get::<_, Uuid>(0), "name": only.get::<_, String>(1)})),
        _ => None,
    })
}

/// A contract's suggestions, for anyone who may read it and its original (they are
/// read from the original's text).
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
    query: &SuggestionQuery,
) -> Result<Vec<SuggestionView>, DomainError> {
    let status = query.status.as_deref().unwrap_or("open");
    if !["open", "accepted", "rejected", "superseded", "all"].contains(&status) {
        return Err(DomainError::invalid(
            "status is one of open, accepted, rejected, superseded, all",
        ));
    }
    let mut w = Filter::new();
    w.push(|n| format!("contract_id = ${n}"), contract);
    if status != "all" {
        w.push(|n| format!("status = ${n}"), status.to_owned());
    }
    let sql = format!(
        "select {COLUMNS} from contract_suggestions{} order by field, created_at desc",
        w.where_clause()
    );
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract]),
            (originals::CONTRACT_GUARD_SQL, &[&contract]),
            (&sql, &w.params()),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("contract"));
    }
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    Ok(results[2].iter().map(SuggestionView::from).collect())
}

/// Locks `contract`'s open suggestion `id`, for someone who may change the contract
/// and read its original.
async fn lock_open(
    tx: &TenantTx,
    actor: &Actor,
    contract: Uuid,
    id: Uuid,
) -> Result<(ContractView, SuggestionView), DomainError> {
    let current = contracts::lock_editable_contract(tx, actor, contract).await?;
    contracts::require_original(tx, actor, contract).await?;
    let row = tx
        .query_opt(
            &format!("select {COLUMNS} from contract_suggestions where id = $1 and contract_id = $2 for update"),
            &[&id, &contract],
        )
        .await?
        .ok_or(DomainError::Missing("suggestion"))?;
    let suggestion = SuggestionView::from(&row);
    if suggestion.status != "open" {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "suggestion_decided",
            format!("this suggestion is {} already", suggestion.status),
            json!({ "status": suggestion.status }),
        ));
    }
    Ok((current, suggestion))
}

/// Marks `id` decided by `actor` and records the decision on the contract.
async fn decide(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    suggestion: &SuggestionView,
    status: &str,
) -> Result<SuggestionView, DomainError> {
    let row = tx
        .query_one(
            &format!(
                "update contract_suggestions set status = $2, decided_by = $3, decided_at = $4 \
                 where id = $1 returning {COLUMNS}"
            ),
            &[&suggestion.id, &status, &actor.user_id(), &unit::now(tx)],
        )
        .await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: if status == "accepted" {
                "suggestion_accepted"
            } else {
                "suggestion_rejected"
            },
            entity: "contract",
            entity_id: Some(suggestion.contract_id),
            changes: json!({
                "suggestion_id": suggestion.id,
                "field": suggestion.field,
                "value": suggestion.value,
            }),
        },
    )
    .await?;
    Ok(SuggestionView::from(&row))
}

/// Fills the contract's field from suggestion `id` through the contracts service.
pub async fn accept(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract: Uuid,
    id: Uuid,
    decision: AcceptSuggestion,
) -> Result<AcceptedSuggestion, DomainError> {
    if decision.version.is_some_and(|v| v < 1) {
        return Err(DomainError::invalid("version must be 1 or more"));
    }
    let (now, suggestion) = lock_open(tx, actor, contract, id).await?;
    if let Some(held) = current(&suggestion.field, &now) {
        if !decision.replace && !holds(&suggestion.field, &now, &suggestion.value) {
            return Err(DomainError::refused(
                Refusal::Conflict,
                "field_already_set",
                format!(
                    "the contract already has {}; accept with \"replace\": true to change it",
                    suggestion.fills
                ),
                json!({ "current": held, "suggested": suggestion.value }),
            ));
        }
    }
    let update: UpdateContract =
        serde_json::from_value(patch(&suggestion.field, &suggestion.value, &now)).map_err(|e| {
            DomainError::invalid(format!(
                "the suggested value does not fit the contract: {e}"
            ))
        })?;
    let expected = decision.version.unwrap_or(now.version);
    let contract = contracts::update(tx, actor, origin, contract, expected, update).await?;
    let suggestion = decide(tx, actor, origin, &suggestion, "accepted").await?;
    Ok(AcceptedSuggestion {
        suggestion,
        contract,
    })
}

/// Turns suggestion `id` down: the same value is not suggested again.
pub async fn reject(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    contract: Uuid,
    id: Uuid,
) -> Result<SuggestionView, DomainError> {
    let (_, suggestion) = lock_open(tx, actor, contract, id).await?;
    decide(tx, actor, origin, &suggestion, "rejected").await
}
