//! Approximate vector search: an HNSW graph (the `instant-distance` crate) over a set's
//! vectors, for sets too large to scan on every query. The graph's points are
//! positions in the set's shared [`Codes`], so the vectors are not copied; it costs
//! its neighbour lists (about 300 bytes a vector beside the vector's 388).
//!
//! Crates weighed: `instant-distance` (pure Rust, a graph over any `Point`, owned and
//! `'static`, few dependencies: rayon, rand, parking_lot); `hnsw_rs` (more knobs and
//! persistence, but its graph borrows its data and it brings env_logger, mmap-rs and
//! cpu-time into the server); `usearch` (fast, but a C++ build). The first fits an
//! index kept in a cache and rebuilt from the table after a restart.

use std::sync::Arc;

use instant_distance::{Builder, HnswMap, Point, Search};

use crate::index::{dot_codes, Codes, Hit};

/// How many candidates a search keeps (the `ef` of the paper): the most a caller asks
/// for (200 passages) with room for the ones `admit` refuses.
pub const EF_SEARCH: usize = 256;
/// The candidates kept while building: more is a better graph built more slowly.
const EF_CONSTRUCTION: usize = 200;

/// A vector of a set, by its place in the set's codes.
#[derive(Clone)]
struct Row {
    codes: Arc<Codes>,
    at: u32,
}

impl Point for Row {
    fn distance(&self, other: &Self) -> f32 {
        let (a, a_scale) = self.codes.row(self.at as usize);
        let (b, b_scale) = other.codes.row(other.at as usize);
        1.0 - dot_codes(a, b) as f32 * (a_scale * b_scale)
    }
}

/// The graph over a set whose vectors are `codes` (unit length before quantising) and
/// whose keys are `keys`, in the same order.
pub struct Graph {
    map: HnswMap<Row, u32>,
}

impl Graph {
    /// Builds the graph (on every core, seconds for 100,000 vectors: call it off the
    /// async runtime). The same set always gives the same graph.
    pub fn build(codes: &Arc<Codes>) -> Self {
        let n = codes.len();
        let rows: Vec<Row> = (0..n as u32)
            .map(|at| Row {
                codes: Arc::clone(codes),
                at,
            })
            .collect();
        let places: Vec<u32> = (0..n as u32).collect();
        let map = Builder::default()
            .ef_construction(EF_CONSTRUCTION)
            .ef_search(EF_SEARCH)
            .seed(0x7061_6374_756d)
            .build(rows, places);
        Self { map }
    }

    /// Its neighbour lists' memory, estimated from the crate's layout: 64 neighbours
    /// on the bottom layer (4 bytes each), the point (a pointer and a place) and a
    /// place value, and the upper layers' share.
    pub fn bytes(&self, n: usize) -> usize {
        n * (64 * 4 + 24 + 4 + 16)
    }

    /// The `k` vectors most similar to `query` among those `admit` lets through, best
    /// first, as far as the graph finds them; `None` when fewer than `k` of those it
    /// found are admitted (the caller scans instead).
    pub fn top(
        &self,
        keys: &[u128],
        query: &[f32],
        k: usize,
        admit: impl Fn(u128) -> bool,
    ) -> Option<Vec<Hit>> {
        let mut probe_codes = Codes::default();
        probe_codes.push(query);
        let probe = Row {
            codes: Arc::new(probe_codes),
            at: 0,
        };
        let mut search = Search::default();
        let mut hits: Vec<Hit> = self
            .map
            .search(&probe, &mut search)
            .map(|item| Hit {
                key: keys[*item.value as usize],
                score: 1.0 - item.distance,
            })
            .filter(|hit| admit(hit.key))
            .take(k)
            .collect();
        let found_all = hits.len() == k || hits.len() == keys.len();
        hits.sort();
        found_all.then_some(hits)
    }
}
