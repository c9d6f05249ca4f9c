//! Vector search: every vector of a set scored against the query, the best kept, or for
//! a set large enough to have one, its approximate index ([`crate::approximate`]) asked.
//! Vectors are unit length, so the dot product is the cosine similarity. Exact search
//! over 100,000 vectors of 384 numbers is 38 million multiply-adds, a few milliseconds
//! optimised; the set is one contiguous array so the scan streams through memory.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::approximate::Graph;
use crate::DIMENSIONS;

/// A set of vectors, each with the key its row has in the database (a number or a
/// UUID, as 128 bits).
#[derive(Default, Clone)]
pub struct Vectors {
    keys: Vec<u128>,
    data: Vec<f32>,
    /// Once indexed: the vectors, shared with the graph's points, and the graph.
    indexed: Option<(Arc<[f32]>, Arc<Graph>)>,
}

impl std::fmt::Debug for Vectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vectors")
            .field("len", &self.len())
            .field("approximate", &self.is_approximate())
            .finish()
    }
}

/// A key and its similarity to a query, -1 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub key: u128,
    pub score: f32,
}

impl Eq for Hit {}

impl Ord for Hit {
    // Reversed, so the heap's top is the worst hit kept; ties by key for a stable order.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.key.cmp(&other.key))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Vectors {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            keys: Vec::with_capacity(n),
            data: Vec::with_capacity(n * DIMENSIONS),
            indexed: None,
        }
    }

    /// Adds a vector; one of the wrong length is refused.
    pub fn push(&mut self, key: u128, vector: &[f32]) -> Result<(), String> {
        if self.indexed.is_some() {
            return Err("an indexed set takes no more vectors".into());
        }
        if vector.len() != DIMENSIONS {
            return Err(format!(
                "a vector of {} numbers, not {DIMENSIONS}",
                vector.len()
            ));
        }
        self.keys.push(key);
        self.data.extend_from_slice(vector);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// What the set holds in memory, in bytes, its index included.
    pub fn bytes(&self) -> usize {
        let indexed = self.indexed.as_ref().map_or(0, |(data, graph)| {
            std::mem::size_of_val(&data[..]) + graph.bytes(self.len())
        });
        self.keys.capacity() * std::mem::size_of::<u128>()
            + self.data.capacity() * std::mem::size_of::<f32>()
            + indexed
    }

    /// Gives a set of at least `threshold` vectors its approximate index, once;
    /// smaller sets stay exact. Seconds for 100,000 vectors on every core: call it off
    /// the async runtime.
    pub fn index_above(&mut self, threshold: usize) {
        if self.indexed.is_some() || self.len() < threshold.max(1) {
            return;
        }
        let data: Arc<[f32]> = Arc::from(std::mem::take(&mut self.data));
        let graph = Graph::build(&data);
        self.indexed = Some((data, Arc::new(graph)));
    }

    /// Whether searches ask an approximate index first.
    pub fn is_approximate(&self) -> bool {
        self.indexed.is_some()
    }

    fn vectors(&self) -> &[f32] {
        self.indexed.as_ref().map_or(&self.data, |(data, _)| data)
    }

    /// The `k` vectors most similar to `query` among those `admit` lets through, best
    /// first: by the approximate index where the set has one and it finds `k` admitted
    /// ones, else by scanning every vector.
    pub fn top(&self, query: &[f32], k: usize, admit: impl Fn(u128) -> bool) -> Vec<Hit> {
        if k == 0 || query.len() != DIMENSIONS {
            return Vec::new();
        }
        if let Some((_, graph)) = &self.indexed {
            if let Some(hits) = graph.top(&self.keys, query, k, &admit) {
                return hits;
            }
        }
        self.top_exact(query, k, admit)
    }

    /// [`Vectors::top`] by scanning every vector, index or not: what the index's recall
    /// is measured against.
    pub fn top_exact(&self, query: &[f32], k: usize, admit: impl Fn(u128) -> bool) -> Vec<Hit> {
        if k == 0 || query.len() != DIMENSIONS {
            return Vec::new();
        }
        let mut heap: BinaryHeap<Hit> = BinaryHeap::with_capacity(k + 1);
        for (key, vector) in self
            .keys
            .iter()
            .zip(self.vectors().chunks_exact(DIMENSIONS))
        {
            let score = dot(query, vector);
            if heap.len() == k && heap.peek().is_some_and(|worst| score <= worst.score) {
                continue;
            }
            if !admit(*key) {
                continue;
            }
            heap.push(Hit { key: *key, score });
            if heap.len() > k {
                heap.pop();
            }
        }
        heap.into_sorted_vec()
    }
}

/// The dot product, in eight lanes the compiler turns into vector instructions.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A vector as the bytes the database keeps (little-endian f32s), and back.
pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vector in `bytes`; `None` unless they are exactly [`DIMENSIONS`] f32s.
pub fn from_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
    (bytes.len() == DIMENSIONS * 4).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{clustered, unit};

    #[test]
    fn the_best_are_found_in_order_as_a_full_scan_would() {
        let mut set = Vectors::with_capacity(500);
        for key in 0..500u128 {
            set.push(key, &unit(key as u64)).unwrap();
        }
        let query = unit(7);
        let hits = set.top(&query, 10, |_| true);
        assert_eq!(hits[0].key, 7);
        assert!((hits[0].score - 1.0).abs() < 1e-5);
        let mut all: Vec<Hit> = (0..500u128)
            .map(|k| Hit {
                key: k,
                score: dot(&query, &unit(k as u64)),
            })
            .collect();
        all.sort();
        assert_eq!(hits, all[..10].to_vec());
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn what_admit_refuses_is_never_returned() {
        let mut set = Vectors::default();
        for key in 0..100u128 {
            set.push(key, &unit(key as u64)).unwrap();
        }
        let hits = set.top(&unit(3), 100, |k| k % 2 == 0);
        assert_eq!(hits.len(), 50);
        assert!(hits.iter().all(|h| h.key % 2 == 0));
    }

    #[test]
    fn the_approximate_index_finds_what_the_scan_finds_and_admits_only_what_is_let_through() {
        let points: Vec<Vec<f32>> = (0..4_000).map(|i| clustered(i, 40)).collect();
        let mut set = Vectors::with_capacity(points.len());
        for (key, v) in points.iter().enumerate() {
            set.push(key as u128, v).unwrap();
        }
        let exact_bytes = set.bytes();
        set.index_above(5_000);
        assert!(
            !set.is_approximate(),
            "below the threshold a set stays exact"
        );
        set.index_above(1_000);
        assert!(set.is_approximate());
        assert!(set.bytes() > exact_bytes, "the graph is counted");
        assert!(
            set.push(9_999, &points[0]).is_err(),
            "an indexed set is read-only"
        );
        let (mut found, mut wanted) = (0, 0);
        for q in 0..50u64 {
            let query = clustered(1_000_000 + q, 40);
            let exact: Vec<u128> = set
                .top_exact(&query, 10, |_| true)
                .iter()
                .map(|h| h.key)
                .collect();
            let approximate = set.top(&query, 10, |_| true);
            assert!(approximate.windows(2).all(|w| w[0].score >= w[1].score));
            found += approximate
                .iter()
                .filter(|h| exact.contains(&h.key))
                .count();
            wanted += exact.len();
        }
        let recall = found as f64 / wanted as f64;
        assert!(recall >= 0.95, "recall@10 {recall}");
        let odd = set.top(&points[3], 10, |k| k % 2 == 1);
        assert_eq!(odd.len(), 10);
        assert!(odd.iter().all(|h| h.key % 2 == 1));
        assert!(
            set.top(&points[3], 10, |_| false).is_empty(),
            "nothing admitted, nothing found"
        );
    }

    #[test]
    fn vectors_round_trip_through_bytes_and_bad_ones_are_refused() {
        let v = unit(1);
        assert_eq!(from_bytes(&to_bytes(&v)).unwrap(), v);
        assert!(from_bytes(&[0; 7]).is_none());
        assert!(Vectors::default().push(1, &[0.0; 3]).is_err());
        assert!(Vectors::default().top(&[0.0; 3], 5, |_| true).is_empty());
    }
}
