//! Deterministic unit vectors for tests and benchmarks, where no model should be
//! needed: pseudo-random ones, and ones clustered around topics as a model's
//! embeddings of passages are.

use crate::index::dot;
use crate::DIMENSIONS;

/// A pseudo-random unit vector, the same for the same `seed`.
pub fn unit(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let v: Vec<f32> = (0..DIMENSIONS)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        })
        .collect();
    normal(v)
}

/// Vector `i` of a set clustered around `topics` topics: its topic's centre plus noise
/// (same-topic similarity about 0.6).
pub fn clustered(i: u64, topics: u64) -> Vec<f32> {
    let centre = unit(10_000_000 + (i % topics) * 7919);
    let noise = unit(i);
    normal(
        centre
            .iter()
            .zip(&noise)
            .map(|(c, e)| c + 0.8 * e)
            .collect(),
    )
}

fn normal(v: Vec<f32>) -> Vec<f32> {
    let n = dot(&v, &v).sqrt();
    v.iter().map(|x| x / n).collect()
}
