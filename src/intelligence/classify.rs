//! Clause classification: each passage of a contract given one of the clause
//! categories, with a confidence and how it was decided. With the model, a passage's
//! nearest clauses in the tenant's own library vote by similarity (so a tenant teaches
//! it by the clauses it keeps, in its own wording); a few words per category decide
//! where the library is silent or has not been read, and without a model. A paragraph
//! that holds two clauses also gets, as secondary, the categories one of its sentences
//! is about on its own.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use pactum_embedding::index::{dot, from_bytes};
use pactum_embedding::passages::passages;

use super::engine::Engine;
use super::indexing::{sources_for, texts};
use super::risk::assess::{categories_by_sentence, most_said, word_hits};
use crate::kernel::language::english;
use crate::kernel::{DomainError, Principal};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// How many library clauses vote on a passage, and how alike one must be to vote.
const NEIGHBOURS: usize = 5;
const MIN_SIMILARITY: f32 = 0.35;
/// The most library clauses read for one classification.
const MAX_LIBRARY: i64 = 5_000;

/// A library clause a passage is like.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NearestClause {
    pub id: Uuid,
    pub title: String,
    /// Cosine similarity, -1 to 1.
    pub similarity: f32,
}

/// A passage of the contract and the category it was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifiedPassage {
    /// The file it is in; null for the body.
    pub attachment_id: Option<Uuid>,
    /// Where it is, in characters.
    pub start_char: i32,
    pub end_char: i32,
    pub text: String,
    /// One of the clause categories.
    pub category: String,
    /// From 0 to 1.
    pub confidence: f32,
    /// `library` (its nearest clauses in the tenant's library voted) or `words`.
    pub method: &'static str,
    /// The library clause of that category it is most like, when the library decided.
    pub nearest: Option<NearestClause>,
    /// The passage's other categories: those a sentence of it is about on its own, by
    /// its words (a law clause and its courts in one paragraph are `governing_law` and
    /// `dispute_resolution`), in the order the text says them; empty for most passages.
    pub secondary: Vec<SecondaryCategory>,
}

/// A further category of a passage, placed by the words of one of its sentences.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondaryCategory {
    /// One of the clause categories, never the passage's own `category`.
    pub category: String,
    /// From 0 to 1, as a placement by words.
    pub confidence: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Classification {
    pub contract_id: Uuid,
    /// The model whose vectors were compared; null when words alone decided.
    pub model: Option<String>,
    /// In the order of the text; passages of no category are left out.
    pub passages: Vec<ClassifiedPassage>,
}

/// A library clause as it votes.
struct Voter {
    id: Uuid,
    title: String,
    category: String,
    vector: Vec<f32>,
    /// Its text, where the caller shows it (a standard clause beside a deviation).
    body: String,
}

/// The library's clauses of a category by one model's vectors, newest first; `$3` says
/// whether their texts are read too.
const LIBRARY_SQL: &str = "select v.clause_id, c.title, c.category, v.embedding, \
     case when $3 then c.body else '' end from clause_vectors v \
     join clauses c on c.id = v.clause_id where v.model = $1 and c.category <> 'other' \
     order by c.updated_at desc limit $2";

fn voters(rows: &[tokio_postgres::Row]) -> Vec<Voter> {
    rows.iter()
        .filter_map(|r| {
            Some(Voter {
                id: r.get(0),
                title: r.get(1),
                category: r.get(2),
                vector: from_bytes(r.get(3))?,
                body: r.get(4),
            })
        })
        .collect()
}

/// A contract's clause of one category and the tenant's standard clause of that
/// category it reads most like.
#[derive(Debug, Clone, PartialEq)]
pub struct Distance {
    pub category: String,
    pub passage: String,
    pub clause_id: Uuid,
    pub title: String,
    pub body: String,
    /// Cosine similarity, -1 to 1.
    pub similarity: f32,
}

/// For each category a passage of the contract is placed in (as [`classify`] places
/// it, its secondary categories included), its passage closest to one of the library's
/// clauses of that category: the contract's own wording of what the library says as
/// standard. Pure.
fn closest_standards(pieces: Vec<Piece>, library: &[Voter]) -> Vec<Distance> {
    let mut best: Vec<Distance> = Vec::new();
    for piece in pieces {
        let Some(vector) = piece.vector.clone() else {
            continue;
        };
        let text = piece.text.clone();
        let Some(placed) = classify_piece(piece, library) else {
            continue;
        };
        let categories = std::iter::once(placed.category)
            .chain(placed.secondary.into_iter().map(|s| s.category));
        for category in categories {
            let nearest = library
                .iter()
                .filter(|c| c.category == category)
                .map(|c| (dot(&vector, &c.vector), c))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let Some((similarity, clause)) = nearest else {
                continue;
            };
            let distance = Distance {
                category,
                passage: text.clone(),
                clause_id: clause.id,
                title: clause.title.clone(),
                body: clause.body.clone(),
                similarity,
            };
            match best.iter_mut().find(|d| d.category == distance.category) {
                Some(held) if held.similarity >= similarity => {}
                Some(held) => *held = distance,
                None => best.push(distance),
            }
        }
    }
    best
}

/// The closest standards (as the classification places passages) for `contract`,
/// from the vectors its tenant's current model made (none before the model has read
/// both the contract and the library). For the risk job, which runs as the system: its
/// findings are read through the risk guard.
pub async fn standard_distances(
    tx: &TenantTx,
    contract: Uuid,
) -> Result<Vec<Distance>, DomainError> {
    let Some(state) = tx.query_opt("select model from vector_state", &[]).await? else {
        return Ok(Vec::new());
    };
    let model: String = state.get(0);
    let pieces = tx
        .query(
            "select body, embedding from contract_passages \
             where contract_id = $1 and model = $2 and redaction_id is null \
             order by attachment_id nulls first, ordinal",
            &[&contract, &model],
        )
        .await?
        .iter()
        .map(|r| Piece {
            attachment: None,
            start: 0,
            end: 0,
            text: r.get(0),
            vector: from_bytes(r.get(1)),
        })
        .collect::<Vec<_>>();
    let library = voters(
        &tx.query(LIBRARY_SQL, &[&model, &MAX_LIBRARY, &true])
            .await?,
    );
    if pieces.is_empty() || library.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || closest_standards(pieces, &library))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("comparing with standards: {e}")))
}

/// A passage to classify, with its vector when the model has read it.
struct Piece {
    attachment: Option<Uuid>,
    start: i32,
    end: i32,
    text: String,
    vector: Option<Vec<f32>>,
}

/// Categories a few words name exactly and the model cannot tell from their
/// neighbours: to it a term clause reads like a renewal, exclusivity and a preamble
/// naming the parties like a non-compete, any clause about the agreement itself like
/// its assignment (measured on the evaluation set's tuning part). Their library
/// clauses vote only for a passage that has their words.
const NAMED_BY_WORDS: [&str; 3] = ["auto_renewal", "assignment", "non_compete"];

/// The category `vector`'s nearest library clauses vote for: each votes with its
/// similarity; the confidence is the winner's share of the votes times its best
/// similarity. `said` are the categories the passage's words speak of.
fn vote(vector: &[f32], library: &[Voter], said: &[&str]) -> Option<(String, f32, NearestClause)> {
    let mut near: Vec<(f32, &Voter)> = library
        .iter()
        .filter(|v| {
            let category = v.category.as_str();
            !NAMED_BY_WORDS.contains(&category) || said.contains(&category)
        })
        .map(|v| (dot(vector, &v.vector), v))
        .filter(|(s, _)| *s >= MIN_SIMILARITY)
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    near.truncate(NEIGHBOURS);
    let total: f32 = near.iter().map(|(s, _)| s).sum();
    let mut best: Option<(&str, f32)> = None;
    for (_, voter) in &near {
        let weight: f32 = near
            .iter()
            .filter(|(_, v)| v.category == voter.category)
            .map(|(s, _)| s)
            .sum();
        if best.is_none_or(|(_, w)| weight > w) {
            best = Some((&voter.category, weight));
        }
    }
    let (category, weight) = best?;
    let (similarity, closest) = near.iter().find(|(_, v)| v.category == category)?;
    let confidence = (weight / total * similarity).clamp(0.0, 0.95);
    Some((
        category.to_owned(),
        confidence,
        NearestClause {
            id: closest.id,
            title: closest.title.clone(),
            similarity: *similarity,
        },
    ))
}

fn classify_piece(piece: Piece, library: &[Voter]) -> Option<ClassifiedPassage> {
    // One reading of the words serves both: which categories they speak of, and most.
    let hits = word_hits(&piece.text);
    let said: Vec<&str> = hits.iter().map(|(category, _)| *category).collect();
    let by_library = piece
        .vector
        .as_deref()
        .and_then(|v| vote(v, library, &said));
    let by_words = most_said(&hits);
    // The shipped model reads English: a passage in another language is placed by its
    // words where they name a category, and by the library only where they are silent.
    let foreign = !english(&piece.text);
    let (category, confidence, method, nearest) = match (by_library, by_words) {
        (_, Some((c, w))) if foreign => (c.to_owned(), w, "words", None),
        (Some((c, conf, n)), Some((_, w))) if conf >= w => (c, conf, "library", Some(n)),
        (Some((c, conf, n)), None) => (c, conf, "library", Some(n)),
        (_, Some((c, w))) => (c.to_owned(), w, "words", None),
        (None, None) => return None,
    };
    let secondary = categories_by_sentence(&piece.text)
        .into_iter()
        .filter(|(other, _)| *other != category)
        .map(|(other, confidence)| SecondaryCategory {
            category: other.to_owned(),
            confidence,
        })
        .collect();
    Some(ClassifiedPassage {
        attachment_id: piece.attachment,
        start_char: piece.start,
        end_char: piece.end,
        text: piece.text,
        category,
        confidence,
        method,
        nearest,
        secondary,
    })
}

/// `contract`'s passages by category, for anyone who may read it and its original.
pub async fn classify(
    db: &TenantDb,
    engine: &Engine,
    principal: &Principal,
    contract: Uuid,
) -> Result<Classification, DomainError> {
    let (body, files) = sources_for(db, principal, contract).await?;
    let mut model = None;
    let mut library = Vec::new();
    let mut pieces = Vec::new();
    if engine.configured() {
        let identity = engine.model().await?.identity().to_owned();
        let rows = db
            .read(&[
                (
                    "select attachment_id, start_char, end_char, body, embedding from contract_passages \
                     where contract_id = $1 and model = $2 and redaction_id is null \
                     order by attachment_id nulls first, ordinal",
                    &[&contract, &identity],
                ),
                (LIBRARY_SQL, &[&identity, &MAX_LIBRARY, &false]),
            ])
            .await?;
        pieces = rows[0]
            .iter()
            .map(|r| Piece {
                attachment: r.get(0),
                start: r.get(1),
                end: r.get(2),
                text: r.get(3),
                vector: from_bytes(r.get(4)),
            })
            .collect();
        library = voters(&rows[1]);
        model = Some(identity).filter(|_| !pieces.is_empty() && !library.is_empty());
    }
    if pieces.is_empty() {
        // No model, or its job has not read this text yet: the words decide.
        for (attachment, text) in texts(&body, &files) {
            pieces.extend(passages(text).into_iter().map(|p| Piece {
                attachment,
                start: p.start as i32,
                end: p.end as i32,
                text: p.text,
                vector: None,
            }));
        }
    }
    let classified = tokio::task::spawn_blocking(move || {
        pieces
            .into_iter()
            .filter_map(|piece| classify_piece(piece, &library))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| DomainError::Internal(anyhow::anyhow!("classifying: {e}")))?;
    Ok(Classification {
        contract_id: contract,
        model,
        passages: classified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    fn voter(category: &str, v: &[f32]) -> Voter {
        Voter {
            id: Uuid::new_v4(),
            title: category.into(),
            category: category.into(),
            vector: unit(v),
            body: format!("the standard {category} clause"),
        }
    }

    #[test]
    fn the_nearest_clauses_vote_and_the_unlike_do_not() {
        let library = [
            voter("liability", &[1.0, 0.1, 0.0]),
            voter("liability", &[0.9, 0.2, 0.0]),
            voter("payment", &[0.0, 1.0, 0.0]),
        ];
        let (category, confidence, nearest) = vote(&unit(&[1.0, 0.0, 0.0]), &library, &[]).unwrap();
        assert_eq!(category, "liability");
        assert!(confidence > 0.5 && confidence <= 0.95, "{confidence}");
        assert_eq!(nearest.id, library[0].id);
        assert!(
            vote(&unit(&[0.0, 0.0, 1.0]), &library, &[]).is_none(),
            "nothing alike votes"
        );
    }

    #[test]
    fn renewal_assignment_and_non_compete_clauses_vote_only_where_their_words_are() {
        let library = [
            voter("auto_renewal", &[1.0, 0.0, 0.0]),
            voter("termination", &[0.6, 0.8, 0.0]),
        ];
        let piece = |text: &str| Piece {
            attachment: None,
            start: 0,
            end: 0,
            text: text.into(),
            vector: Some(unit(&[0.9, 0.3, 0.0])),
        };
        // A term clause lies nearest the renewal clause, but says nothing of renewing.
        let term = classify_piece(piece("The lease runs for one year."), &library).unwrap();
        assert_eq!(term.category, "termination");
        let renewal = classify_piece(
            piece("The lease renews automatically for successive terms."),
            &library,
        )
        .unwrap();
        assert_eq!(renewal.category, "auto_renewal");
    }

    #[test]
    fn words_decide_where_the_library_is_silent() {
        let piece = Piece {
            attachment: None,
            start: 0,
            end: 10,
            text: "This agreement is governed by the laws of Scotland.".into(),
            vector: Some(unit(&[0.0, 0.0, 1.0])),
        };
        let library = [voter("liability", &[1.0, 0.0, 0.0])];
        let classified = classify_piece(piece, &library).unwrap();
        assert_eq!(
            (classified.category.as_str(), classified.method),
            ("governing_law", "words")
        );
    }

    /// A paragraph of a law clause and its courts, with `vector` as the model's.
    fn law_and_courts(vector: &[f32]) -> Piece {
        Piece {
            attachment: None,
            start: 0,
            end: 0,
            text: "This Agreement is governed by the laws of Delaware. Any dispute \
                   arising hereunder shall be resolved in the courts of Wilmington."
                .into(),
            vector: Some(unit(vector)),
        }
    }

    #[test]
    fn a_paragraph_of_two_clauses_is_placed_in_both() {
        let piece = law_and_courts(&[1.0, 0.0, 0.0]);
        // The library hears the courts and votes for disputes; the first sentence is
        // about the law alone.
        let library = [voter("dispute_resolution", &[1.0, 0.1, 0.0])];
        let placed = classify_piece(piece, &library).unwrap();
        assert_eq!(
            (placed.category.as_str(), placed.method),
            ("dispute_resolution", "library")
        );
        let secondary: Vec<_> = placed
            .secondary
            .iter()
            .map(|s| s.category.as_str())
            .collect();
        assert_eq!(
            secondary,
            ["governing_law"],
            "never the passage's own category again"
        );

        let one = Piece {
            attachment: None,
            start: 0,
            end: 0,
            text: "Invoices are payable within 30 days.".into(),
            vector: None,
        };
        assert!(classify_piece(one, &[]).unwrap().secondary.is_empty());
    }

    #[test]
    fn a_passage_is_set_beside_the_standard_of_each_category_it_is_placed_in() {
        let library = [
            voter("dispute_resolution", &[1.0, 0.1, 0.0]),
            voter("governing_law", &[0.0, 1.0, 0.1]),
        ];
        let distances = closest_standards(vec![law_and_courts(&[1.0, 0.2, 0.0])], &library);
        let mut categories: Vec<_> = distances.iter().map(|d| d.category.as_str()).collect();
        categories.sort();
        assert_eq!(
            categories,
            ["dispute_resolution", "governing_law"],
            "{distances:?}"
        );
        let law = distances
            .iter()
            .find(|d| d.category == "governing_law")
            .unwrap();
        assert_eq!(law.clause_id, library[1].id);
        assert!(
            law.similarity < 0.5,
            "a mixed passage reads unlike the law standard: {law:?}"
        );
    }

    #[test]
    fn each_category_keeps_its_passage_closest_to_a_standard_clause() {
        let piece = |text: &str, v: &[f32]| Piece {
            attachment: None,
            start: 0,
            end: 0,
            text: text.into(),
            vector: Some(unit(v)),
        };
        let library = [
            voter("liability", &[1.0, 0.0, 0.0]),
            voter("liability", &[0.8, 0.6, 0.0]),
        ];
        let distances = closest_standards(
            vec![
                piece("Liability is capped at the fees.", &[0.9, 0.1, 0.1]),
                piece("The supplier is liable for everything.", &[0.5, 0.0, 0.86]),
                piece("Nothing to do with any category.", &[0.0, 0.0, 1.0]),
            ],
            &library,
        );
        assert_eq!(distances.len(), 1, "{distances:?}");
        let liability = &distances[0];
        assert_eq!(liability.passage, "Liability is capped at the fees.");
        assert_eq!(liability.clause_id, library[0].id, "the nearer standard");
        assert!(liability.similarity > 0.9, "{liability:?}");
        assert_eq!(liability.body, "the standard liability clause");
    }
}
