//! A generative summary asked for in the background: the member is answered at once
//! with the pending request, a job makes the call as that member (their role and
//! their right to the original checked again when it runs), and the request says how
//! it went. Every outcome, sent or not, is audited on the contract as
//! `contract.generative_summary` with `background` set, and that event tells the
//! member in their inbox. A request made while another for the same contract is
//! pending joins it: one call serves both.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{made, prepare, GenerativeSummary, Generator};
use crate::attachments::originals::{self, Guard};
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::reads::{as_actor, read_as};
use crate::kernel::{unit, validate, Actor, DomainError, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const MAKE_SUMMARY: JobKind = JobKind {
    name: "intelligence.generative_summary",
    queue: "default",
    priority: 4,
    max_attempts: 3,
    // The endpoint's 60 s, and the reading and recording around it.
    timeout: Duration::from_secs(90),
};

/// The last generative summary of a contract asked for in the background.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerativeRequest {
    pub contract_id: Uuid,
    /// `pending` until the job has made the call; then `answered` (the summary is
    /// kept: `GET /contracts/{id}/summary/generative`) or `failed`, with `error`.
    #[schema(pattern = "^(pending|answered|failed)$")]
    pub state: String,
    /// A new call was asked for even if the kept summary is current.
    pub refresh: bool,
    /// Who asked; null once that user is deleted.
    pub requested_by: Option<Uuid>,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why no summary was made: the endpoint's failure, or why nothing was sent.
    pub error: Option<String>,
}

const REQUEST_COLUMNS: &str =
    "contract_id, state, refresh, requested_by, requested_at, finished_at, error";

impl From<&Row> for GenerativeRequest {
    fn from(row: &Row) -> Self {
        Self {
            contract_id: row.get(0),
            state: row.get(1),
            refresh: row.get(2),
            requested_by: row.get(3),
            requested_at: row.get(4),
            finished_at: row.get(5),
            error: row.get(6),
        }
    }
}

/// What asking for a summary in the background gave.
#[derive(Debug)]
pub enum Asked {
    /// The kept summary was made from this same request: there is nothing to do.
    Kept(GenerativeSummary),
    /// The request, pending; the job that serves it is enqueued.
    Pending(GenerativeRequest),
}

/// A new pending request, or the pending one joined: its asker, time and job stay,
/// and a `refresh` is added to it. Followed by `returning` [`REQUEST_COLUMNS`].
const ASK_SQL: &str = "\
    insert into generative_requests as r (contract_id, state, refresh, requested_by, requested_at) \
    select id, 'pending', $2, $3, $4 from contracts where id = $1 \
    on conflict (contract_id) do update set \
        refresh = excluded.refresh or (r.state = 'pending' and r.refresh), \
        requested_by = case when r.state = 'pending' then r.requested_by else excluded.requested_by end, \
        requested_at = case when r.state = 'pending' then r.requested_at else excluded.requested_at end, \
        state = 'pending', finished_at = null, error = null";

/// Asks for `contract`'s generative summary in the background, for a member who may
/// read its original; refused at once, as an immediate call would be, while the
/// tenant has not turned generative summaries on.
pub async fn ask(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
    refresh: bool,
) -> Result<Asked, DomainError> {
    let mut prepared = prepare(db, principal, contract).await?;
    if let Some(kept) = prepared.reusable(refresh) {
        return Ok(Asked::Kept(kept));
    }
    let request = as_actor(db, principal, async |tx, actor| {
        let row = tx
            .query_opt(
                &format!("{ASK_SQL} returning {REQUEST_COLUMNS}"),
                &[&contract, &refresh, &actor.user_id(), &unit::now(tx)],
            )
            .await
            .map_err(DomainError::write)?
            .ok_or(DomainError::Missing("contract"))?;
        let request = GenerativeRequest::from(&row);
        // One job per request: one that has served an earlier request and is still
        // being marked done does not hold this one back.
        let key = format!("{contract}@{}", request.requested_at.to_rfc3339());
        let job = MakeSummary {
            contract_id: contract,
        };
        enqueue(tx, vec![job.now().unique(key)]).await?;
        Ok(request)
    })
    .await?;
    Ok(Asked::Pending(request))
}

/// The last background request for `contract`'s summary, for readers who may read
/// its original.
pub async fn last(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<GenerativeRequest, DomainError> {
    let sql = format!("select {REQUEST_COLUMNS} from generative_requests where contract_id = $1");
    let (actor, rows) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract]),
            (originals::CONTRACT_GUARD_SQL, &[&contract]),
            (&sql, &[&contract]),
        ],
    )
    .await?;
    rows[0].first().ok_or(DomainError::Missing("contract"))?;
    originals::require_original(Guard::from_rows(&rows[1]).as_ref(), &actor)?;
    rows[2]
        .first()
        .map(GenerativeRequest::from)
        .ok_or(DomainError::Missing("generative summary request"))
}

/// Ends `contract`'s pending request: answered, or failed with `error`.
pub(super) async fn finish(
    tx: &TenantTx,
    contract: Uuid,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    let state = if error.is_some() {
        "failed"
    } else {
        "answered"
    };
    let error = error.map(|why| validate::truncate(why, 400));
    tx.execute(
        "update generative_requests set state = $2, error = $3, finished_at = $4 \
         where contract_id = $1 and state = 'pending'",
        &[&contract, &state, &error, &at],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(())
}

/// Makes the summary of a contract's pending request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MakeSummary {
    pub contract_id: Uuid,
}

impl BackgroundJob for MakeSummary {
    const KIND: JobKind = MAKE_SUMMARY;
    type Env = Generator;

    async fn run(self, ctx: JobContext, generator: Generator) -> Result<(), JobError> {
        let contract = self.contract_id;
        let tx = ctx.db.begin().await?;
        let row = tx
            .query_opt(
                "select requested_by, refresh from generative_requests \
                 where contract_id = $1 and state = 'pending'",
                &[&contract],
            )
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(()); // served already, or the contract is gone
        };
        let (requested_by, refresh): (Option<Uuid>, bool) = (row.get(0), row.get(1));
        let Some(user) = requested_by else {
            let why = "not sent: the member who asked for it was deleted";
            return not_sent(&ctx, contract, None, why).await;
        };
        let principal = Principal::User(user);
        let mut prepared = match prepare(&ctx.db, &principal, contract).await {
            Ok(prepared) => prepared,
            Err(DomainError::Missing(_)) => return Ok(()),
            Err(error) => {
                let Some(why) = cannot_serve(&error) else {
                    return Err(error.into());
                };
                return not_sent(&ctx, contract, Some(user), &format!("not sent: {why}")).await;
            }
        };
        if prepared.reusable(refresh).is_some() {
            return not_sent(&ctx, contract, Some(user), REUSED).await;
        }
        match made(
            &ctx.db,
            &principal,
            &ctx.origin(),
            &generator,
            contract,
            &prepared,
            true,
        )
        .await
        {
            // A failed call is recorded and ends the request: sending the text again
            // is for the member to ask.
            Ok(_) | Err(DomainError::Refused { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The outcome of a request the kept summary already answers.
const REUSED: &str = "reused";

/// Why a request cannot be served, when the refusal is about the request and not a
/// passing failure worth another attempt.
fn cannot_serve(error: &DomainError) -> Option<String> {
    match error {
        DomainError::Unavailable(_)
        | DomainError::OutcomeUnknown(_)
        | DomainError::Internal(_)
        | DomainError::TenantMigrating => None,
        DomainError::InvalidToken => Some("the member who asked for it is no longer active".into()),
        other => Some(other.to_string()),
    }
}

/// Ends `contract`'s pending request without a call (`REUSED`, or why nothing was
/// sent), audited as the calls are, so the member who asked is told.
async fn not_sent(
    ctx: &JobContext,
    contract: Uuid,
    requested_by: Option<Uuid>,
    outcome: &str,
) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    let at = unit::now(&tx).trunc_subsecs(6);
    audit::record(
        &tx,
        &Actor::system("generative summaries"),
        &ctx.origin(),
        Entry {
            action: "generative_summary",
            entity: "contract",
            entity_id: Some(contract),
            changes: json!({
                "sent_chars": 0,
                "outcome": outcome,
                "background": true,
                "requested_by": requested_by,
            }),
        },
    )
    .await?;
    let error = (outcome != REUSED).then_some(outcome);
    finish(&tx, contract, error, at).await?;
    tx.commit().await?;
    Ok(())
}
