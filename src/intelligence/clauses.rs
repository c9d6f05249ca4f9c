//! The clause library by meaning: a search that finds clauses saying what the query
//! means (`semantic`), its words as trigram similarity does (`text`), or both fused by
//! reciprocal rank (`hybrid`); and the clauses closest in meaning to one, beside the
//! library's own trigram similarity. Each clause has one vector, of its title and text.

use std::collections::HashMap;

use pactum_embedding::index::from_bytes;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::engine::{Engine, VectorSet};
use super::search::{checked_limit, fuse, prepare, Mode, SearchQuery, FUSED_DEPTH};
use crate::clauses::model::{ClauseView, COLUMNS};
use crate::kernel::reads::read_as;
use crate::kernel::{DomainError, Principal, Role};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::TenantId;

/// A clause found, and how well.
#[derive(Serialize, ToSchema)]
pub struct ClauseMatch {
    pub clause: ClauseView,
    /// Higher is better: cosine similarity (semantic, similar), trigram word
    /// similarity (text) or the fused reciprocal ranks (hybrid).
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ClauseResults {
    /// `text`, `semantic`, `hybrid` or `similar`.
    pub mode: &'static str,
    pub items: Vec<ClauseMatch>,
}

/// The clauses whose words are most like `q`'s, by trigram word similarity.
async fn by_words(
    db: &TenantDb,
    principal: &Principal,
    q: &str,
    depth: usize,
) -> Result<Vec<(Uuid, f64)>, DomainError> {
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[(
            "select id, word_similarity($1, title || ' ' || body)::float8 as score from clauses \
             where word_similarity($1, title || ' ' || body) >= 0.3 \
             order by score desc, id limit $2",
            &[&q, &(depth as i64)],
        )],
    )
    .await?;
    Ok(results[0].iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// `ranked` as results, in order, with each clause read.
async fn results(
    db: &TenantDb,
    mode: &'static str,
    ranked: Vec<(Uuid, f64)>,
) -> Result<ClauseResults, DomainError> {
    let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let sql = format!("select {COLUMNS} from clauses where id = any($1)");
    let rows = db.read(&[(&sql, &[&ids])]).await?;
    let mut found: HashMap<Uuid, ClauseView> = rows[0]
        .iter()
        .map(|r| {
            let view = ClauseView::from(r);
            (view.id, view)
        })
        .collect();
    Ok(ClauseResults {
        mode,
        items: ranked
            .into_iter()
            .filter_map(|(id, score)| {
                found
                    .remove(&id)
                    .map(|clause| ClauseMatch { clause, score })
            })
            .collect(),
    })
}

/// Clauses matching `query` by meaning, words or both, for anyone who may read the
/// library.
pub async fn search(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    query: &SearchQuery,
) -> Result<ClauseResults, DomainError> {
    let (mode, q, limit) = query.checked()?;
    let words = if mode == Mode::Semantic {
        Vec::new()
    } else {
        by_words(db, principal, q, mode.words_depth(limit)).await?
    };
    let mut ranked = if mode == Mode::Text {
        words
    } else {
        let prepared = prepare(db, tenant, engine, principal, None, VectorSet::Clauses).await?;
        let (vectors, _) = engine.embed(vec![q.to_owned()]).await?;
        let depth = if mode == Mode::Semantic {
            limit
        } else {
            FUSED_DEPTH
        };
        let meaning: Vec<(Uuid, f64)> = prepared
            .vectors
            .top(&vectors[0], depth, |_| true)
            .iter()
            .map(|h| (Uuid::from_u128(h.key), f64::from(h.score)))
            .collect();
        if mode == Mode::Semantic {
            meaning
        } else {
            let ids = |ranking: &[(Uuid, f64)]| ranking.iter().map(|r| r.0).collect::<Vec<_>>();
            fuse(&[&ids(&meaning), &ids(&words)])
        }
    };
    ranked.truncate(limit);
    results(db, mode.as_str(), ranked).await
}

/// The clauses closest in meaning to `clause`, most alike first.
pub async fn similar(
    db: &TenantDb,
    tenant: TenantId,
    engine: &Engine,
    principal: &Principal,
    clause: Uuid,
    limit: Option<i64>,
) -> Result<ClauseResults, DomainError> {
    let limit = checked_limit(limit)?;
    let prepared = prepare(db, tenant, engine, principal, None, VectorSet::Clauses).await?;
    let model = engine.model().await?;
    let rows = db
        .read(&[
            ("select 1 from clauses where id = $1", &[&clause]),
            (
                "select embedding from clause_vectors where clause_id = $1 and model = $2",
                &[&clause, &model.identity()],
            ),
        ])
        .await?;
    if rows[0].is_empty() {
        return Err(DomainError::Missing("clause"));
    }
    let Some(vector) = rows[1].first().and_then(|r| from_bytes(r.get(0))) else {
        // Not read by the model yet.
        return results(db, "similar", Vec::new()).await;
    };
    let me = clause.as_u128();
    let ranked = prepared
        .vectors
        .top(&vector, limit, |key| key != me)
        .into_iter()
        .map(|h| (Uuid::from_u128(h.key), f64::from(h.score)))
        .collect();
    results(db, "similar", ranked).await
}
