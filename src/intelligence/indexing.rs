//! Keeping a contract's passages in step with its text: every change of its body and
//! every file whose text has been read enqueues [`EmbedContract`], which cuts the body
//! and each file's text into passages, embeds them (outside any transaction: seconds
//! of CPU) and replaces the contract's passages, unless the text changed meanwhile (a
//! newer job, enqueued by that change, will do it). A contract that shows a redacted
//! copy in place of its original to some readers also gets the copy's passages, made
//! again when another copy takes its place. A change of model is seen by the
//! search, which enqueues [`EmbedStale`] to make again what the old model made. Library
//! clauses get a vector each the same way ([`EmbedClause`]).

use std::time::Duration;

use pactum_embedding::index::to_bytes;
use pactum_embedding::passages::passages;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::assessment::AssessRisk;
use super::engine::Engine;
use crate::attachments::originals::{self, Guard};
use crate::kernel::jobs::{self, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::reads::read_as;
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{unit, Actor, DomainError, Origin};
use crate::kernel::{Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const EMBED_CONTRACT: JobKind = JobKind {
    name: "intelligence.embed_contract",
    queue: crate::config::MODEL_QUEUE,
    priority: 5,
    max_attempts: 3,
    timeout: Duration::from_secs(600),
};

pub const EMBED_CLAUSE: JobKind = JobKind {
    name: "intelligence.embed_clause",
    queue: crate::config::MODEL_QUEUE,
    priority: 5,
    max_attempts: 3,
    timeout: Duration::from_secs(120),
};

pub const EMBED_STALE: JobKind = JobKind {
    name: "intelligence.embed_stale",
    queue: crate::config::MODEL_QUEUE,
    priority: 6,
    max_attempts: 3,
    timeout: Duration::from_secs(600),
};

/// The most contracts (and clauses) an [`EmbedStale`] run reads in one batch.
const STALE_BATCH: i64 = 50;
/// How long one [`EmbedStale`] run sweeps before it hands the rest to another job.
const SWEEP_TIME: Duration = Duration::from_secs(240);

/// The text a contract's passages are made of: its body, then each read file's pages
/// (joined by a blank line, with each page's number and length), and a fingerprint of
/// it all (to tell, at write time, whether it changed since).
const SOURCES_SQL: &str = "select c.body, \
     coalesce((select json_agg(json_build_object('id', a.id, 'text', \
        (select string_agg(p.body, E'\\n\\n' order by p.page) from attachment_pages p \
         where p.attachment_id = a.id), 'pages', \
        (select json_agg(json_build_array(p.page, char_length(p.body)) order by p.page) \
         from attachment_pages p where p.attachment_id = a.id)) order by a.id) \
      from attachments a where a.target_kind = 'contract' and a.target_id = c.id), '[]'::json)::text \
     from contracts c where c.id = $1";

/// Makes a contract's passages again from its current text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedContract {
    pub contract_id: Uuid,
}

/// Makes a library clause's vector again from its current title and text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedClause {
    pub clause_id: Uuid,
}

/// A clause as the model reads it: its title, then its text.
const CLAUSE_SQL: &str = "select title || E'\n' || body from clauses where id = $1";

/// Embeds and stores `clause`'s vector unless it changed meanwhile; says whether it
/// stored one.
pub async fn embed_clause(
    ctx: &JobContext,
    engine: &Engine,
    clause: Uuid,
) -> Result<bool, JobError> {
    let tx = ctx.db.begin().await?;
    let Some(text) = tx.query_opt(CLAUSE_SQL, &[&clause]).await? else {
        return Ok(false);
    };
    drop(tx);
    let text: String = text.get(0);
    let (vectors, model) = engine.embed(vec![text.clone()]).await?;
    let tx = ctx.db.begin().await?;
    let now_text = tx
        .query_opt(&format!("{CLAUSE_SQL} for update"), &[&clause])
        .await?;
    if now_text.is_none_or(|row| row.get::<_, String>(0) != text) {
        return Ok(false);
    }
    tx.execute(
        "insert into clause_vectors (clause_id, embedding, model, created_at) values ($1, $2, $3, $4) \
         on conflict (clause_id) do update set embedding = excluded.embedding, \
         model = excluded.model, created_at = excluded.created_at",
        &[&clause, &to_bytes(&vectors[0]), &model, &unit::now(&tx)],
    )
    .await?;
    bump_generation(&tx, &model).await?;
    // The library's standard clauses changed: contracts are weighed against them again.
    reassess_if_weighed(&tx, None).await?;
    tx.commit().await?;
    Ok(true)
}

impl BackgroundJob for EmbedClause {
    const KIND: JobKind = EMBED_CLAUSE;
    type Env = Engine;

    async fn run(self, ctx: JobContext, engine: Engine) -> Result<(), JobError> {
        embed_clause(&ctx, &engine, self.clause_id).await?;
        Ok(())
    }
}

/// Makes again the passages an older model made, and those of contracts never read, a
/// batch of contracts at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedStale {
    /// The model whose passages are to replace the others: a sweep for a model this
    /// process no longer runs has nothing to do (a sweep for the new one follows).
    pub model: String,
}

/// A passage to store.
struct Cut {
    attachment: Option<Uuid>,
    /// The pages of the file it starts and ends on.
    page: Option<i32>,
    last_page: Option<i32>,
    /// The redacted copy it is a passage of; `None` for the original's.
    redaction: Option<Uuid>,
    ordinal: i32,
    start: i32,
    end: i32,
    text: String,
}

#[derive(Deserialize)]
pub(super) struct FileText {
    pub(super) id: Uuid,
    pub(super) text: Option<String>,
    /// Each page's number and length in characters, in order: `text` is their bodies
    /// joined by a blank line.
    #[serde(default)]
    pub(super) pages: Option<Vec<(i32, i32)>>,
}

impl FileText {
    /// The page the character at `offset` of [`FileText::text`] is on.
    fn page_at(&self, offset: usize) -> Option<i32> {
        let mut first = 0usize;
        let mut found = None;
        for &(page, length) in self.pages.as_deref().unwrap_or_default() {
            if first > offset {
                break;
            }
            found = Some(page);
            first += usize::try_from(length).unwrap_or(0) + PAGE_SEPARATOR_CHARS;
        }
        found
    }
}

/// The blank line between two pages of a file's text.
const PAGE_SEPARATOR_CHARS: usize = 2;

/// A contract's texts in order: its body (no file), then each file's.
pub(super) fn texts<'a>(
    body: &'a str,
    files: &'a [FileText],
) -> impl Iterator<Item = (Option<Uuid>, &'a str)> + 'a {
    std::iter::once((None, body)).chain(
        files
            .iter()
            .map(|f| (Some(f.id), f.text.as_deref().unwrap_or(""))),
    )
}

/// The passages of a contract's body and files.
fn cut(body: &str, files: &[FileText]) -> Vec<Cut> {
    let mut out = Vec::new();
    let file = |id: Uuid| files.iter().find(|f| f.id == id);
    for (attachment, text) in texts(body, files) {
        for (ordinal, p) in passages(text).into_iter().enumerate() {
            out.push(Cut {
                attachment,
                page: attachment.and_then(file).and_then(|f| f.page_at(p.start)),
                last_page: attachment
                    .and_then(file)
                    .and_then(|f| f.page_at(p.end.saturating_sub(1).max(p.start))),
                redaction: None,
                ordinal: ordinal as i32,
                start: p.start as i32,
                end: p.end as i32,
                text: p.text,
            });
        }
    }
    out
}

/// The redacted copy `contract` shows in place of its original, if it does: its id and
/// text. Read apart from [`sources`], which the jobs that read the original share.
async fn shown_copy(tx: &TenantTx, contract: Uuid) -> Result<Option<(Uuid, String)>, DomainError> {
    Ok(tx
        .query_opt(
            "select r.id, r.body from contracts c join contract_redactions r on r.id = c.shown_redaction \
             where c.id = $1",
            &[&contract],
        )
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// Reads `contract`'s sources (its body, and its files' text as JSON for [`FileText`]):
/// `None` when it is gone.
pub(super) async fn sources(
    tx: &TenantTx,
    contract: Uuid,
    lock: bool,
) -> Result<Option<(String, String)>, DomainError> {
    let sql = if lock {
        format!("{SOURCES_SQL} for update of c")
    } else {
        SOURCES_SQL.to_owned()
    };
    Ok(tx
        .query_opt(&sql, &[&contract])
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// A contract's text as a job read it, to tell once the contract is locked whether it
/// changed meanwhile.
pub(super) struct ReadText {
    body: String,
    files: String,
}

impl ReadText {
    /// What [`sources`] gave: the body, and the files' text as JSON.
    pub(super) fn new(body: String, files: String) -> Self {
        Self { body, files }
    }
}

/// For the jobs that read a contract's text by rules: reads it and runs `read` on it
/// off the runtime's threads (milliseconds of CPU for a long text). `None` when the
/// contract is gone.
pub(super) async fn read_text<T: Send + 'static>(
    ctx: &JobContext,
    contract: Uuid,
    read: impl FnOnce(&str, &[FileText]) -> T + Send + 'static,
) -> Result<Option<(ReadText, T)>, JobError> {
    let tx = ctx.db.begin().await?;
    let Some((body, files)) = sources(&tx, contract, false).await? else {
        return Ok(None);
    };
    drop(tx);
    let parsed: Vec<FileText> = serde_json::from_str(&files)
        .map_err(|e| JobError::Cancel(format!("the files' text of {contract}: {e}")))?;
    let text = body.clone();
    let found = tokio::task::spawn_blocking(move || read(&text, &parsed))
        .await
        .map_err(|e| JobError::Retry(format!("reading the text of {contract}: {e}")))?;
    Ok(Some((ReadText { body, files }, found)))
}

/// A transaction holding `contract` locked, if its text is still what was `read`; `None`
/// when it is gone or changed meanwhile (the job that change enqueued reads the new
/// text).
pub(super) async fn lock_unchanged(
    ctx: &JobContext,
    contract: Uuid,
    read: &ReadText,
) -> Result<Option<TenantTx>, JobError> {
    let tx = ctx.db.begin().await?;
    Ok(match sources(&tx, contract, true).await? {
        Some((body, files)) if body == read.body && files == read.files => Some(tx),
        _ => None,
    })
}

/// `contract`'s body and its files' text, for `principal`, who must be able to read it
/// and its original (what is made of them quotes it).
pub(super) async fn sources_for(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<(String, Vec<FileText>), DomainError> {
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (SOURCES_SQL, &[&contract]),
            (originals::CONTRACT_GUARD_SQL, &[&contract]),
        ],
    )
    .await?;
    let source = results[0].first().ok_or(DomainError::Missing("contract"))?;
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    let files: Vec<FileText> = serde_json::from_str(source.get(1))
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("the files' text: {e}")))?;
    Ok((source.get(0), files))
}

/// Embeds and stores `contract`'s passages, and says how many it stored (none when the
/// contract is gone or changed meanwhile); what the job and the stale sweep share.
pub async fn embed_contract(
    ctx: &JobContext,
    engine: &Engine,
    contract: Uuid,
) -> Result<usize, JobError> {
    let tx = ctx.db.begin().await?;
    let Some((body, files)) = sources(&tx, contract, false).await? else {
        return Ok(0);
    };
    let shown = shown_copy(&tx, contract).await?;
    drop(tx);
    let parsed: Vec<FileText> = serde_json::from_str(&files)
        .map_err(|e| JobError::Cancel(format!("the files' text of {contract}: {e}")))?;
    let mut cuts = cut(&body, &parsed);
    // The copy's body only: readers the original is kept from are refused its files.
    if let Some((redaction, text)) = &shown {
        cuts.extend(cut(text, &[]).into_iter().map(|c| Cut {
            redaction: Some(*redaction),
            ..c
        }));
    }
    let (vectors, model) = if cuts.is_empty() {
        (Vec::new(), engine.model().await?.identity().to_owned())
    } else {
        engine
            .embed(cuts.iter().map(|c| c.text.clone()).collect())
            .await?
    };
    let Some(tx) = lock_unchanged(ctx, contract, &ReadText::new(body, files)).await? else {
        return Ok(0);
    };
    // The copy shown changed meanwhile: the job that change enqueued reads the new one.
    if shown_copy(&tx, contract).await? != shown {
        return Ok(0);
    }
    tx.execute(
        "delete from contract_passages where contract_id = $1",
        &[&contract],
    )
    .await?;
    // One statement for all of them, each with its words parsed in its language.
    let embeddings: Vec<Vec<u8>> = vectors.iter().map(|v| to_bytes(v)).collect();
    tx.execute(
        &format!(
            "insert into contract_passages \
             (contract_id, attachment_id, page, last_page, redaction_id, ordinal, start_char, \
              end_char, body, embedding, model, created_at, words, words_language) \
             select $1, p.attachment_id, p.page, p.last_page, p.redaction_id, p.ordinal, p.start_char, \
                    p.end_char, p.body, p.embedding, $11, $12, \
                    to_tsvector(l.language::regconfig, p.body), l.language \
             from (select $1::uuid as contract_id, * from unnest($2::uuid[], $3::int[], $4::int[], \
                   $5::uuid[], $6::int[], $7::int[], $8::int[], $9::text[], $10::bytea[]) \
                   as u(attachment_id, page, last_page, redaction_id, ordinal, start_char, \
                        end_char, body, embedding)) p \
             cross join lateral (select {} as language) l",
            super::passage_words::language_sql("p")
        ),
        &[
            &contract,
            &cuts.iter().map(|c| c.attachment).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.page).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.last_page).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.redaction).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.ordinal).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.start).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.end).collect::<Vec<_>>(),
            &cuts.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            &embeddings,
            &model,
            &unit::now(&tx),
        ],
    )
    .await?;
    bump_generation(&tx, &model).await?;
    reassess_if_weighed(&tx, Some(contract)).await?;
    tx.commit().await?;
    Ok(cuts.len())
}

/// When the tenant's policy weighs clauses against its standard ones, has `contract`
/// (every contract with passages when `None`: the library changed) weighed again: the
/// vectors just stored or removed are what it reads.
pub(super) async fn reassess_if_weighed(
    tx: &TenantTx,
    contract: Option<Uuid>,
) -> Result<(), DomainError> {
    let weighs = tx
        .query_opt(
            "select 1 from risk_policy where deviation_min_similarity is not null",
            &[],
        )
        .await?
        .is_some();
    if !weighs {
        return Ok(());
    }
    let contracts: Vec<Uuid> = match contract {
        Some(contract) => vec![contract],
        None => tx
            .query("select distinct contract_id from contract_passages", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect(),
    };
    let work = contracts
        .into_iter()
        .map(|contract_id| AssessRisk { contract_id }.now())
        .collect();
    jobs::enqueue(tx, work).await?;
    Ok(())
}

/// Moves the tenant's vector generation on, naming the model that made the newest.
async fn bump_generation(tx: &TenantTx, model: &str) -> Result<(), DomainError> {
    tx.execute(
        "insert into vector_state (id, generation, model) values (true, 1, $1) \
         on conflict (id) do update set generation = vector_state.generation + 1, model = excluded.model",
        &[&model],
    )
    .await?;
    Ok(())
}

impl BackgroundJob for EmbedContract {
    const KIND: JobKind = EMBED_CONTRACT;
    type Env = Engine;

    async fn run(self, ctx: JobContext, engine: Engine) -> Result<(), JobError> {
        embed_contract(&ctx, &engine, self.contract_id).await?;
        Ok(())
    }
}

impl BackgroundJob for EmbedStale {
    const KIND: JobKind = EMBED_STALE;
    type Env = Engine;

    async fn run(self, ctx: JobContext, engine: Engine) -> Result<(), JobError> {
        let model = engine.model().await?.identity().to_owned();
        if model != self.model {
            return Ok(());
        }
        let started = std::time::Instant::now();
        loop {
            let (contracts, clauses) = stale_batch(&ctx, &model).await?;
            let mut stored = 0;
            for contract in &contracts {
                stored += embed_contract(&ctx, &engine, *contract).await?;
            }
            for clause in &clauses {
                stored += usize::from(embed_clause(&ctx, &engine, *clause).await?);
            }
            let full = contracts.len() as i64 == STALE_BATCH || clauses.len() as i64 == STALE_BATCH;
            // Done, or a batch that stored nothing (texts with no words): stop.
            if !full || stored == 0 {
                return Ok(());
            }
            if started.elapsed() > SWEEP_TIME {
                // Well within the job's timeout: the rest in a job of its own (under
                // another key, as this one still runs).
                let tx = ctx.db.begin().await?;
                jobs::enqueue(&tx, vec![self.clone().now().unique("stale-continued")]).await?;
                tx.commit().await?;
                return Ok(());
            }
        }
    }
}

/// The next contracts and clauses whose vectors another model made, or none did (a
/// tenant's texts from before the model was configured).
async fn stale_batch(ctx: &JobContext, model: &str) -> Result<(Vec<Uuid>, Vec<Uuid>), JobError> {
    let rows = ctx
        .db
        .read(&[
            (
                "(select distinct contract_id from contract_passages where model <> $1 limit $2) \
                 union (select c.id from contracts c where btrim(c.body, E' \\t\\r\\n') <> '' \
                 and not exists (select 1 from contract_passages p where p.contract_id = c.id) limit $2)",
                &[&model, &STALE_BATCH],
            ),
            (
                "select c.id from clauses c where not exists \
                 (select 1 from clause_vectors v where v.clause_id = c.id and v.model = $1) limit $2",
                &[&model, &STALE_BATCH],
            ),
        ])
        .await?;
    let ids = |rows: &[tokio_postgres::Row]| rows.iter().map(|r| r.get(0)).collect();
    Ok((ids(&rows[0]), ids(&rows[1])))
}

/// Enqueues the sweep of what another model made, and of what none has, for `model`
/// (once while one is pending).
pub async fn sweep_stale(tx: &TenantTx, model: &str) -> Result<(), DomainError> {
    let sweep = EmbedStale {
        model: model.to_owned(),
    };
    jobs::enqueue(tx, vec![sweep.now().unique("stale")]).await?;
    Ok(())
}

pub fn react_to(reactions: &mut Reactions) {
    reactions
        .on("contract.created", on_contract_text)
        .on("contract.updated", on_contract_text)
        .on("attachment.text_extracted", on_file_text)
        .on("contract_redaction.created", on_redaction)
        .on("clause.created", on_clause)
        .on("clause.updated", on_clause)
        .on("clause.deleted", on_clause_deleted);
}

/// A standard clause gone (its vector with it) changes what contracts are weighed
/// against.
fn on_clause_deleted<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    _: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(reassess_if_weighed(tx, None))
}

fn on_clause<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(clause) = event.entity_id else {
            return Ok(());
        };
        let job = EmbedClause { clause_id: clause };
        jobs::enqueue(tx, vec![job.now()]).await?;
        Ok(())
    })
}

fn on_contract_text<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(contract) = event.entity_id else {
            return Ok(());
        };
        // A new contract, or a new text; other changes leave the passages as they are.
        if event.event_type == "contract.updated" && event.changes.get("body").is_none() {
            return Ok(());
        }
        reread(tx, contract).await
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
            Some(contract) => reread(tx, contract).await,
            None => Ok(()),
        }
    })
}

/// A new redacted copy may stand in for its original now, or stop another from doing so:
/// the copy's passages follow.
fn on_redaction<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let contract = event
            .changes
            .get("contract_id")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<Uuid>().ok());
        match contract {
            Some(contract) => reread(tx, contract).await,
            None => Ok(()),
        }
    })
}

/// The contract `attachment` is a file of, if it is one of a contract's.
pub(super) async fn contract_of_file(
    tx: &TenantTx,
    attachment: Uuid,
) -> Result<Option<Uuid>, DomainError> {
    Ok(tx
        .query_opt(
            "select target_id from attachments where id = $1 and target_kind = 'contract'",
            &[&attachment],
        )
        .await?
        .map(|row| row.get(0)))
}

/// Enqueues the job that makes `contract`'s passages again.
async fn reread(tx: &TenantTx, contract: Uuid) -> Result<(), DomainError> {
    let job = EmbedContract {
        contract_id: contract,
    };
    jobs::enqueue(tx, vec![job.now()]).await?;
    Ok(())
}
