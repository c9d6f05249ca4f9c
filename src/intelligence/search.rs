//! Search by meaning: the query embedded, compared with every passage of the tenant's
//! contracts (exact search over the tenant's loaded vectors), passages grouped by
//! contract; `hybrid` fuses that ranking with full-text search's by reciprocal rank
//! (each list contributes 1/(60 + rank)), `text` is full-text search alone. "Contracts
//! like this one" compares the mean of a contract's passages with every other passage.
//! A reader a redacted original is kept from never matches its passages.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pactum_embedding::index::{from_bytes, Hit, Vectors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::engine::Engine;
use super::indexing;
use crate::attachments::originals::{self, Guard, Reader};
use crate::contracts::model::SUMMARY_COLUMNS;
use crate::contracts::search::ContractFilter;
use crate::contracts::ContractView;
use crate::kernel::page::PageRequest;
use crate::kernel::reads::read_as;
use crate::kernel::validate;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::TenantId;

/// Passages compared before grouping by contract: enough that the best contracts are
/// among them whatever their length.
const CANDIDATE_PASSAGES: usize = 200;
/// Passages shown per contract.
const PASSAGES_SHOWN: usize = 3;
/// Reciprocal rank fusion's constant (Cormack et al.: 60 works across collections).
const RRF_K: f64 = 60.0;
/// Contracts each ranking contributes to a hybrid search.
const FUSED_DEPTH: usize = 50;
const MAX_QUERY_CHARS: usize = 500;
const MAX_LIMIT: i64 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for, in words: 1 to 500 characters.
    pub q: String,
    /// `hybrid` (default: meaning and words fused), `semantic` (meaning alone) or
    /// `text` (full-text search alone, as `GET /contracts?q=`).
    pub mode: Option<String>,
    /// Contracts returned, best first: 1 to 50, 10 by default.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// Contracts returned, most alike first: 1 to 50, 10 by default.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Semantic,
    Hybrid,
}

impl Mode {
    fn parse(value: Option<&str>) -> Result<Self, DomainError> {
        match value.unwrap_or("hybrid") {
            "text" => Ok(Self::Text),
            "semantic" => Ok(Self::Semantic),
            "hybrid" => Ok(Self::Hybrid),
            other => Err(DomainError::Validation(format!(
                "mode {:?} is not one of text, semantic, hybrid",
                validate::truncate(other, 20)
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Semantic => "semantic",
            Self::Hybrid => "hybrid",
        }
    }
}

/// A passage of a contract that matched, by its place in the text it came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassageMatch {
    /// The file whose text it is from; null for the contract's body.
    pub attachment_id: Option<Uuid>,
    /// In characters of that text, end exclusive.
    pub start: i32,
    pub end: i32,
    pub text: String,
    /// Cosine similarity to the query, -1 to 1.
    pub score: f32,
}

/// A contract found, with why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractMatch {
    /// The contract, without its body.
    pub contract: ContractView,
    /// Higher is better: the best passage's similarity (semantic, similar), or the
    /// fused reciprocal ranks (hybrid, text).
    pub score: f64,
    /// Its passages closest to the query, best first (none from full-text search alone).
    pub passages: Vec<PassageMatch>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    /// `text`, `semantic`, `hybrid` or `similar`.
    pub mode: &'static str,
    pub items: Vec<ContractMatch>,
}

/// What a search needs to know before it compares: whose originals the reader reads,
/// and the tenant's vectors as the model now in use sees them.
struct Prepared {
    reader: Reader,
    vectors: Arc<Vectors>,
}

/// Reads the reader, the generation and (for "similar") the contract's guard in one
/// round trip, refusing a reader the contract's original is kept from; loads the tenant's vectors if the loaded ones are stale; and sweeps what
/// an older model made.
async fn prepare(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    contract: Option<Uuid>,
) -> Result<Prepared, DomainError> {
    let model = engine.model().await?;
    let identity = model.identity().to_owned();
    let id = contract.unwrap_or_else(Uuid::nil);
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (originals::ORIGINAL_ROLE_SQL, &[]),
            ("select generation, model from vector_state", &[]),
            (originals::CONTRACT_GUARD_SQL, &[&id]),
            ("select 1 from contracts where id = $1", &[&id]),
        ],
    )
    .await?;
    if contract.is_some() && results[3].is_empty() {
        return Err(DomainError::Missing("contract"));
    }
    // "Like this one" compares the original's text: for those who may read it.
    originals::require_original(Guard::from_rows(&results[2]).as_ref(), &actor)?;
    let reader = originals::reader(&actor, &results[0]);
    let (generation, made_by): (i64, Option<String>) = results[1]
        .first()
        .map_or((0, None), |r| (r.get(0), Some(r.get(1))));
    if made_by.as_deref() != Some(identity.as_str()) {
        // Never read, or read by another model: make the passages (again) in the
        // background; meanwhile the search sees what the current model made.
        let tx = db.begin().await?;
        indexing::sweep_stale(&tx, &identity).await?;
        tx.commit().await?;
    }
    let vectors = match engine.loaded(tenant, generation) {
        Some(v) => v,
        None => {
            let rows = db
                .read(&[(
                    "select id, embedding from contract_passages where model = $1",
                    &[&identity],
                )])
                .await?;
            let mut set = Vectors::with_capacity(rows[0].len());
            for row in &rows[0] {
                if let Some(vector) = from_bytes(row.get(1)) {
                    set.push(row.get(0), &vector).map_err(|e| {
                        DomainError::Internal(anyhow::anyhow!("a stored vector: {e}"))
                    })?;
                }
            }
            engine.keep(tenant, generation, set)
        }
    };
    Ok(Prepared { reader, vectors })
}

/// The contracts the passages in `hits` belong to, best first, each with its best
/// passages, leaving out what `reader` may not read and `except`.
async fn group(
    db: &TenantDb,
    reader: Reader,
    hits: &[Hit],
    except: Option<Uuid>,
) -> Result<Vec<(Uuid, f32, Vec<PassageMatch>)>, DomainError> {
    let ids: Vec<i64> = hits.iter().map(|h| h.key).collect();
    let me = match reader {
        Reader::Everyone => None,
        Reader::OwnerOnly(user) => Some(user),
    };
    let rows = db
        .read(&[(
            "select p.id, p.contract_id, p.attachment_id, p.start_char, p.end_char, p.body \
             from contract_passages p join contracts c on c.id = p.contract_id \
             where p.id = any($1) and ($2::uuid is null or c.shown_redaction is null \
             or c.owner_id = $2) and ($3::uuid is null or c.id <> $3)",
            &[&ids, &me, &except],
        )])
        .await?;
    let score: HashMap<i64, f32> = hits.iter().map(|h| (h.key, h.score)).collect();
    let mut by_contract: HashMap<Uuid, Vec<PassageMatch>> = HashMap::new();
    for row in &rows[0] {
        let id: i64 = row.get(0);
        by_contract
            .entry(row.get(1))
            .or_default()
            .push(PassageMatch {
                attachment_id: row.get(2),
                start: row.get(3),
                end: row.get(4),
                text: row.get(5),
                score: score.get(&id).copied().unwrap_or(-1.0),
            });
    }
    let mut grouped: Vec<(Uuid, f32, Vec<PassageMatch>)> = by_contract
        .into_iter()
        .map(|(contract, mut passages)| {
            passages.sort_by(|a, b| b.score.total_cmp(&a.score));
            passages.truncate(PASSAGES_SHOWN);
            (contract, passages[0].score, passages)
        })
        .collect();
    grouped.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(grouped)
}

/// The summaries of `ids`, by id.
async fn summaries(
    db: &TenantDb,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ContractView>, DomainError> {
    let sql = format!("select {SUMMARY_COLUMNS} from contracts where id = any($1)");
    let rows = db.read(&[(&sql, &[&ids])]).await?;
    rows[0]
        .iter()
        .map(|row| ContractView::from_row(row).map(|c| (c.id, c)))
        .collect()
}

/// Full-text search's ranking of the contracts for `q`, best first.
async fn text_ranking(
    db: &TenantDb,
    principal: &Principal,
    q: &str,
    depth: usize,
) -> Result<Vec<ContractView>, DomainError> {
    let filter = ContractFilter {
        q: Some(q.to_owned()),
        ..ContractFilter::default()
    };
    let page = PageRequest::parse(Some(depth as i64), None, 100)?;
    Ok(
        crate::contracts::search::list(db, principal, &filter, &page)
            .await?
            .items,
    )
}

/// Contracts matching `query` by meaning, words or both, for anyone who may read
/// contracts (restricted originals matched only by those who may read them).
pub async fn search(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    query: &SearchQuery,
) -> Result<SearchResults, DomainError> {
    let mode = Mode::parse(query.mode.as_deref())?;
    let q = query.q.trim();
    if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS || q.contains('\0') {
        return Err(DomainError::Validation(format!(
            "q must be 1 to {MAX_QUERY_CHARS} characters"
        )));
    }
    let limit = query.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DomainError::Validation(format!("limit: 1 to {MAX_LIMIT}")));
    }
    let limit = limit as usize;
    let words = if mode == Mode::Semantic {
        Vec::new()
    } else {
        text_ranking(
            db,
            principal,
            q,
            if mode == Mode::Text {
                limit
            } else {
                FUSED_DEPTH
            },
        )
        .await?
    };
    if mode == Mode::Text {
        let items = words
            .into_iter()
            .enumerate()
            .map(|(rank, contract)| ContractMatch {
                contract,
                score: 1.0 / (RRF_K + rank as f64 + 1.0),
                passages: Vec::new(),
            })
            .collect();
        return Ok(SearchResults {
            mode: mode.as_str(),
            items,
        });
    }
    let prepared = prepare(db, tenant, engine, principal, None).await?;
    let (vectors, _) = engine.embed(vec![q.to_owned()]).await?;
    let hits = prepared
        .vectors
        .top(&vectors[0], CANDIDATE_PASSAGES, |_| true);
    let meaning = group(db, prepared.reader, &hits, None).await?;
    let mut fused: HashMap<Uuid, (f64, Vec<PassageMatch>)> = HashMap::new();
    for (rank, (contract, similarity, passages)) in
        meaning.into_iter().take(FUSED_DEPTH).enumerate()
    {
        let score = if mode == Mode::Semantic {
            f64::from(similarity)
        } else {
            1.0 / (RRF_K + rank as f64 + 1.0)
        };
        fused.insert(contract, (score, passages));
    }
    let mut known: HashMap<Uuid, ContractView> = HashMap::new();
    for (rank, contract) in words.into_iter().enumerate() {
        fused.entry(contract.id).or_insert((0.0, Vec::new())).0 +=
            1.0 / (RRF_K + rank as f64 + 1.0);
        known.insert(contract.id, contract);
    }
    let mut ranked: Vec<(Uuid, f64, Vec<PassageMatch>)> =
        fused.into_iter().map(|(id, (s, p))| (id, s, p)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    let missing: Vec<Uuid> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|id| !known.contains_key(id))
        .collect();
    known.extend(summaries(db, &missing).await?);
    Ok(SearchResults {
        mode: mode.as_str(),
        items: ranked
            .into_iter()
            .filter_map(|(id, score, passages)| {
                known.remove(&id).map(|contract| ContractMatch {
                    contract,
                    score,
                    passages,
                })
            })
            .collect(),
    })
}

/// The contracts most like `contract` in meaning (the mean of its passages against
/// every other passage), for anyone who may read its original.
pub async fn similar(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    contract: Uuid,
    limit: Option<i64>,
) -> Result<SearchResults, DomainError> {
    let limit = limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DomainError::Validation(format!("limit: 1 to {MAX_LIMIT}")));
    }
    let prepared = prepare(db, tenant, engine, principal, Some(contract)).await?;
    let model = engine.model().await?;
    let rows = db
        .read(&[(
            "select id, embedding from contract_passages where contract_id = $1 and model = $2",
            &[&contract, &model.identity()],
        )])
        .await?;
    let own: HashSet<i64> = rows[0].iter().map(|r| r.get(0)).collect();
    let mut mean = vec![0f32; pactum_embedding::DIMENSIONS];
    for row in &rows[0] {
        if let Some(v) = from_bytes(row.get(1)) {
            mean.iter_mut().zip(&v).for_each(|(m, x)| *m += x);
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if own.is_empty() || norm == 0.0 {
        return Ok(SearchResults {
            mode: "similar",
            items: Vec::new(),
        });
    }
    mean.iter_mut().for_each(|x| *x /= norm);
    let hits = prepared
        .vectors
        .top(&mean, CANDIDATE_PASSAGES, |key| !own.contains(&key));
    let mut grouped = group(db, prepared.reader, &hits, Some(contract)).await?;
    grouped.truncate(limit as usize);
    let ids: Vec<Uuid> = grouped.iter().map(|g| g.0).collect();
    let mut known = summaries(db, &ids).await?;
    Ok(SearchResults {
        mode: "similar",
        items: grouped
            .into_iter()
            .filter_map(|(id, score, passages)| {
                known.remove(&id).map(|contract| ContractMatch {
                    contract,
                    score: f64::from(score),
                    passages,
                })
            })
            .collect(),
    })
}
