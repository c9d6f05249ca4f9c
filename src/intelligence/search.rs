//! Search by meaning: the query embedded, compared with every passage of the tenant's
//! contracts (exact search over the tenant's loaded vectors), passages grouped by
//! contract; `hybrid` fuses that ranking with full-text search's by reciprocal rank
//! (each list contributes 1/(60 + rank)), `text` is full-text search alone. "Contracts
//! like this one" compares the mean of a contract's passages with every other passage.
//! A reader a redacted original is kept from never matches its passages, only those of
//! the copy shown in its place; every other reader only the original's.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pactum_embedding::index::{from_bytes, Hit, Vectors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::engine::{Engine, VectorSet};
use super::indexing;
use super::passage_words;
use crate::attachments::originals::{self, Guard, Reader};
use crate::contracts::model::SUMMARY_COLUMNS;
use crate::contracts::search::ContractFilter;
use crate::contracts::ContractView;
use crate::kernel::language::{own_language_query, parsed_query_sql};
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
/// Passages of one contract read for the words of a query, in text order.
const WORD_PASSAGES_READ: usize = 400;
/// Reciprocal rank fusion's constant (Cormack et al.: 60 works across collections).
pub(super) const RRF_K: f64 = 60.0;
/// Contracts each ranking contributes to a hybrid search.
pub(super) const FUSED_DEPTH: usize = 50;
pub(super) const MAX_QUERY_CHARS: usize = 500;
pub(super) const MAX_LIMIT: i64 = 50;

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

impl SearchQuery {
    /// The mode, the query trimmed and the limit, each checked.
    pub(super) fn checked(&self) -> Result<(Mode, &str, usize), DomainError> {
        let mode = Mode::parse(self.mode.as_deref())?;
        let q = self.q.trim();
        if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS || q.contains('\0') {
            return Err(DomainError::Validation(format!(
                "q must be 1 to {MAX_QUERY_CHARS} characters"
            )));
        }
        Ok((mode, q, checked_limit(self.limit)?))
    }
}

/// A result count: 1 to 50, 10 when not given.
pub(super) fn checked_limit(limit: Option<i64>) -> Result<usize, DomainError> {
    let limit = limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DomainError::Validation(format!("limit: 1 to {MAX_LIMIT}")));
    }
    Ok(limit as usize)
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
pub(super) enum Mode {
    Text,
    Semantic,
    Hybrid,
}

impl Mode {
    pub(super) fn parse(value: Option<&str>) -> Result<Self, DomainError> {
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

    /// How deep the word ranking goes: the results themselves for `text`, the fused
    /// depth otherwise.
    pub(super) fn words_depth(self, limit: usize) -> usize {
        if self == Self::Text {
            limit
        } else {
            FUSED_DEPTH
        }
    }

    pub(super) fn as_str(self) -> &'static str {
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
    /// The page of that file it starts on, from 1; null for the contract's body.
    pub page: Option<i32>,
    /// The page of that file it ends on (a passage can run over a page break); null
    /// for the contract's body.
    pub last_page: Option<i32>,
    /// In characters of that text, end exclusive.
    pub start: i32,
    pub end: i32,
    pub text: String,
    /// `meaning`: close to the query's embedding; `words`: holds the query's words.
    pub matched_by: MatchedBy,
    /// For `meaning`, the cosine similarity to the query, -1 to 1; for `words`,
    /// PostgreSQL's full-text rank (`ts_rank`), 0 to 1.
    pub score: f32,
}

/// How a passage matched its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    Meaning,
    Words,
}

/// A contract found, with why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractMatch {
    /// The contract, without its body.
    pub contract: ContractView,
    /// Higher is better: the best passage's similarity (semantic, similar), or the
    /// fused reciprocal ranks (hybrid, text).
    pub score: f64,
    /// Its passages that matched, best first: the closest in meaning; for a contract
    /// found by its words alone (every result of `text`), those holding the query's
    /// words. Passages are made by the model's job: a server without a model, or a
    /// contract not yet read, shows none.
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
pub(super) struct Prepared {
    pub(super) reader: Reader,
    pub(super) vectors: Arc<Vectors>,
}

/// Reads the reader, the generation and (for "similar") the contract's guard in one
/// round trip, refusing a reader the contract's original is kept from; loads the tenant's vectors if the loaded ones are stale; and sweeps what
/// an older model made.
pub(super) async fn prepare(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    contract: Option<Uuid>,
    set: VectorSet,
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
    let vectors = match engine.loaded(tenant, set, generation) {
        Some(v) => v,
        None => {
            let sql = match set {
                VectorSet::Passages => {
                    "select id::text, embedding from contract_passages where model = $1"
                }
                VectorSet::Clauses => {
                    "select clause_id::text, embedding from clause_vectors where model = $1"
                }
            };
            let rows = db.read(&[(sql, &[&identity])]).await?;
            let mut loaded = Vectors::with_capacity(rows[0].len());
            for row in &rows[0] {
                if let (Some(key), Some(vector)) = (key_of(row.get(0)), from_bytes(row.get(1))) {
                    loaded.push(key, &vector).map_err(|e| {
                        DomainError::Internal(anyhow::anyhow!("a stored vector: {e}"))
                    })?;
                }
            }
            // Above the threshold, the graph is built once per load (every core, seconds
            // for 100,000 vectors) off the async runtime.
            let threshold = engine.exact_max().saturating_add(1);
            if loaded.len() >= threshold {
                loaded = tokio::task::spawn_blocking(move || {
                    loaded.index_above(threshold);
                    loaded
                })
                .await
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("indexing vectors: {e}")))?;
            }
            engine.keep(tenant, set, generation, loaded)
        }
    };
    Ok(Prepared { reader, vectors })
}

/// A row's key as the index keeps it: a passage's number or a clause's UUID.
fn key_of(text: &str) -> Option<u128> {
    text.parse::<u128>()
        .ok()
        .or_else(|| Uuid::parse_str(text).ok().map(|u| u.as_u128()))
}

/// The contracts the passages in `hits` belong to, best first, each with its best
/// passages, leaving out what `reader` may not read and `except`.
async fn group(
    db: &TenantDb,
    reader: Reader,
    hits: &[Hit],
    except: Option<Uuid>,
) -> Result<Vec<(Uuid, f32, Vec<PassageMatch>)>, DomainError> {
    let ids: Vec<i64> = hits.iter().map(|h| h.key as i64).collect();
    let me = reader.only_owner();
    let rows = db
        .read(&[(
            "select p.id, p.contract_id, p.attachment_id, p.start_char, p.end_char, p.body, p.page, \
                    p.last_page \
             from contract_passages p join contracts c on c.id = p.contract_id \
             where p.id = any($1) and ($3::uuid is null or c.id <> $3) \
               and case when $2::uuid is null or c.shown_redaction is null or c.owner_id = $2 \
                        then p.redaction_id is null \
                        else p.redaction_id is not distinct from c.shown_redaction end",
            &[&ids, &me, &except],
        )])
        .await?;
    let score: HashMap<i64, f32> = hits.iter().map(|h| (h.key as i64, h.score)).collect();
    let mut by_contract: HashMap<Uuid, Vec<PassageMatch>> = HashMap::new();
    for row in &rows[0] {
        let id: i64 = row.get(0);
        by_contract
            .entry(row.get(1))
            .or_default()
            .push(PassageMatch {
                attachment_id: row.get(2),
                page: row.get(6),
                last_page: row.get(7),
                start: row.get(3),
                end: row.get(4),
                text: row.get(5),
                matched_by: MatchedBy::Meaning,
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

/// The passages of `contracts` holding the words of `q`: of each contract, the first
/// [`PASSAGES_SHOWN`] in text order among its first [`WORD_PASSAGES_READ`], best first
/// by full-text rank, each in its own text's language (the words stored with it, or
/// parsed again when its language was set otherwise since), leaving out what `reader`
/// may not read (as [`group`] does). The passages are read in the order of the
/// (contract, id) index and the read stops at the last one shown (the `offset 0`
/// subqueries keep the planner from sorting, which would read them all), and the
/// bound on passages read bounds a search of long contracts that match by their title
/// alone.
async fn word_passages(
    db: &TenantDb,
    reader: Reader,
    contracts: &[Uuid],
    q: &str,
) -> Result<HashMap<Uuid, Vec<PassageMatch>>, DomainError> {
    if contracts.is_empty() {
        return Ok(HashMap::new());
    }
    let me = reader.only_owner();
    let sql = format!(
        "select c.id, m.attachment_id, m.page, m.last_page, m.start_char, m.end_char, m.body, m.rank \
         from {parsed}, contracts c cross join lateral ( \
           select p.attachment_id, p.page, p.last_page, p.start_char, p.end_char, p.body, \
                  ts_rank(t.words, t.query) as rank \
           from (select * from contract_passages p where p.contract_id = c.id \
                   and case when $2::uuid is null or c.shown_redaction is null or c.owner_id = $2 \
                            then p.redaction_id is null \
                            else p.redaction_id is not distinct from c.shown_redaction end \
                 order by p.id limit {WORD_PASSAGES_READ}) p \
           cross join lateral (select {language} as language offset 0) l \
           cross join lateral (select {words} as words, {own} as query offset 0) t \
           where t.words @@ t.query limit {PASSAGES_SHOWN}) m \
         where c.id = any($1) order by c.id, m.rank desc",
        parsed = parsed_query_sql(3, "pq"),
        language = passage_words::language_sql("p"),
        words = passage_words::words_sql("p", "l.language"),
        own = own_language_query("pq", "l.language"),
    );
    let rows = db.read(&[(&sql, &[&contracts, &me, &q])]).await?;
    let mut found: HashMap<Uuid, Vec<PassageMatch>> = HashMap::new();
    for row in &rows[0] {
        found.entry(row.get(0)).or_default().push(PassageMatch {
            attachment_id: row.get(1),
            page: row.get(2),
            last_page: row.get(3),
            start: row.get(4),
            end: row.get(5),
            text: row.get(6),
            matched_by: MatchedBy::Words,
            score: row.get(7),
        });
    }
    Ok(found)
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
    let (mode, q, limit) = query.checked()?;
    // The words' query in PostgreSQL, and the query's embedding, the loaded set and its
    // scan on this server, at once: hybrid costs the slower of the two, not their sum.
    let words = async {
        if mode == Mode::Semantic {
            Ok(Vec::new())
        } else {
            text_ranking(db, principal, q, mode.words_depth(limit)).await
        }
    };
    let meaning = async {
        if mode == Mode::Text {
            return Ok((None, Vec::new()));
        }
        let (prepared, (vectors, _)) = tokio::try_join!(
            prepare(db, tenant, engine, principal, None, VectorSet::Passages),
            engine.embed(vec![q.to_owned()])
        )?;
        let query = vectors.into_iter().next().unwrap_or_default();
        let hits = nearest(prepared.vectors, query, None).await?;
        let grouped = group(db, prepared.reader, &hits, None).await?;
        Ok::<_, DomainError>((Some(prepared.reader), grouped))
    };
    let (words, (reader, meaning)) = tokio::try_join!(words, meaning)?;
    let word_ids: Vec<Uuid> = words.iter().map(|c| c.id).collect();
    let mut known: HashMap<Uuid, ContractView> = words.into_iter().map(|c| (c.id, c)).collect();
    let mut passages: HashMap<Uuid, Vec<PassageMatch>> = HashMap::new();
    let mut ranked = if mode == Mode::Text {
        fuse(&[&word_ids])
    } else {
        let mut meaning_ranked = Vec::with_capacity(meaning.len());
        for (contract, similarity, matched) in meaning.into_iter().take(FUSED_DEPTH) {
            meaning_ranked.push((contract, f64::from(similarity)));
            passages.insert(contract, matched);
        }
        if mode == Mode::Semantic {
            meaning_ranked
        } else {
            let meaning_ids: Vec<Uuid> = meaning_ranked.iter().map(|m| m.0).collect();
            fuse(&[&meaning_ids, &word_ids])
        }
    };
    ranked.truncate(limit);
    let missing: Vec<Uuid> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|id| !known.contains_key(id))
        .collect();
    known.extend(summaries(db, &missing).await?);
    // Found by words alone: the passages that hold them.
    let by_words: Vec<Uuid> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|id| !passages.contains_key(id))
        .collect();
    if !by_words.is_empty() {
        let reader = match reader {
            Some(reader) => reader,
            None => originals::read_as_reader(db, principal).await?.1,
        };
        passages.extend(word_passages(db, reader, &by_words, q).await?);
    }
    Ok(SearchResults {
        mode: mode.as_str(),
        items: ranked
            .into_iter()
            .filter_map(|(id, score)| {
                known.remove(&id).map(|contract| ContractMatch {
                    contract,
                    score,
                    passages: passages.remove(&id).unwrap_or_default(),
                })
            })
            .collect(),
    })
}

/// The passages of `vectors` nearest `query` (leaving out the keys in `except`), scanned
/// on a blocking thread: at 100,000 passages a scan is milliseconds of CPU that would
/// otherwise hold one of the server's few async workers.
async fn nearest(
    vectors: Arc<Vectors>,
    query: Vec<f32>,
    except: Option<HashSet<u128>>,
) -> Result<Vec<Hit>, DomainError> {
    tokio::task::spawn_blocking(move || {
        vectors.top(&query, CANDIDATE_PASSAGES, |key| {
            except.as_ref().is_none_or(|own| !own.contains(&key))
        })
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("searching vectors: {e}")))
}

/// Reciprocal rank fusion: each id scores the sum, over the rankings (best first) it is
/// in, of 1/(60 + its rank from 1); best first, ties by id.
pub(super) fn fuse(rankings: &[&[Uuid]]) -> Vec<(Uuid, f64)> {
    let mut scores: HashMap<Uuid, f64> = HashMap::new();
    for ranking in rankings {
        for (rank, id) in ranking.iter().enumerate() {
            *scores.entry(*id).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(Uuid, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
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
    let limit = checked_limit(limit)?;
    let prepared = prepare(
        db,
        tenant,
        engine,
        principal,
        Some(contract),
        VectorSet::Passages,
    )
    .await?;
    let model = engine.model().await?;
    let rows = db
        .read(&[(
            "select id, embedding from contract_passages \
             where contract_id = $1 and model = $2 and redaction_id is null",
            &[&contract, &model.identity()],
        )])
        .await?;
    let own: HashSet<u128> = rows[0].iter().map(|r| r.get::<_, i64>(0) as u128).collect();
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
    let hits = nearest(prepared.vectors, mean, Some(own)).await?;
    let mut grouped = group(db, prepared.reader, &hits, Some(contract)).await?;
    grouped.truncate(limit);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_agreement_and_keeps_what_one_ranking_alone_found() {
        let [a, b, c, d] = [1u128, 2, 3, 4].map(Uuid::from_u128);
        let fused = fuse(&[&[a, b, c], &[b, d]]);
        let order: Vec<Uuid> = fused.iter().map(|f| f.0).collect();
        assert_eq!(order[0], b, "second and first beats first alone");
        assert_eq!(order.len(), 4);
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-12);
        // a (first in one) and d (second in the other): a is ahead.
        assert!(order.iter().position(|x| *x == a) < order.iter().position(|x| *x == d));
        assert!(fuse(&[]).is_empty());
    }
}
