//! Loaded vector sets under one memory budget that every tenant shares. A set is kept
//! by its key (the tenant) and the generation it was loaded at: asked for a newer
//! generation, the cache has nothing and the caller loads the set again. When adding
//! a set would pass the budget, the sets used longest ago are dropped first; a set
//! larger than the whole budget is handed back to its caller but never kept. Keys are
//! the only way in: a set is returned only for the key it was stored under.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::index::Vectors;

struct Entry {
    generation: i64,
    vectors: Arc<Vectors>,
    bytes: usize,
    used: u64,
}

struct State<K> {
    entries: HashMap<K, Entry>,
    bytes: usize,
    clock: u64,
    evictions: u64,
}

/// Vector sets by key, within a byte budget.
pub struct Budgeted<K> {
    budget: usize,
    state: Mutex<State<K>>,
}

/// What the cache holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub sets: usize,
    pub bytes: usize,
    pub budget: usize,
    pub evictions: u64,
}

impl<K: Hash + Eq + Clone> Budgeted<K> {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            state: Mutex::new(State {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
                evictions: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        // A panic while holding the lock leaves counts that are still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The set kept for `key` at `generation`, if it is there.
    pub fn get(&self, key: &K, generation: i64) -> Option<Arc<Vectors>> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let entry = state.entries.get_mut(key)?;
        if entry.generation != generation {
            return None;
        }
        entry.used = now;
        Some(entry.vectors.clone())
    }

    /// Keeps `vectors` for `key` at `generation` (replacing an older one), dropping the
    /// sets used longest ago to stay within the budget, and returns it.
    pub fn put(&self, key: K, generation: i64, vectors: Vectors) -> Arc<Vectors> {
        let vectors = Arc::new(vectors);
        let bytes = vectors.bytes();
        let mut state = self.lock();
        if let Some(old) = state.entries.remove(&key) {
            state.bytes -= old.bytes;
            if old.generation > generation {
                // A newer set was loaded meanwhile: keep it, hand this one back.
                state.bytes += old.bytes;
                state.entries.insert(key, old);
                return vectors;
            }
        }
        if bytes > self.budget {
            return vectors;
        }
        while state.bytes + bytes > self.budget {
            let oldest = state
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            if let Some(dropped) = state.entries.remove(&oldest) {
                state.bytes -= dropped.bytes;
                state.evictions += 1;
            }
        }
        state.clock += 1;
        let used = state.clock;
        state.bytes += bytes;
        state.entries.insert(
            key,
            Entry {
                generation,
                vectors: vectors.clone(),
                bytes,
                used,
            },
        );
        vectors
    }

    pub fn usage(&self) -> Usage {
        let state = self.lock();
        Usage {
            sets: state.entries.len(),
            bytes: state.bytes,
            budget: self.budget,
            evictions: state.evictions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DIMENSIONS;

    fn set(n: usize, fill: f32) -> Vectors {
        let mut v = Vectors::with_capacity(n);
        for key in 0..n {
            v.push(key as u128, &[fill; DIMENSIONS]).unwrap();
        }
        v
    }

    #[test]
    fn sets_stay_within_the_budget_and_the_least_recently_used_go_first() {
        let one = set(10, 0.0).bytes();
        let cache = Budgeted::new(one * 3);
        for tenant in 0..3 {
            cache.put(tenant, 1, set(10, tenant as f32));
        }
        assert!(cache.get(&0, 1).is_some(), "0 is used again");
        cache.put(3, 1, set(10, 3.0));
        assert!(cache.get(&1, 1).is_none(), "1 was used longest ago");
        assert!(cache.get(&0, 1).is_some());
        let usage = cache.usage();
        assert!(usage.bytes <= usage.budget);
        assert_eq!((usage.sets, usage.evictions), (3, 1));
    }

    #[test]
    fn a_set_is_returned_only_for_its_own_key_and_generation() {
        let cache = Budgeted::new(1 << 30);
        cache.put("acme", 1, set(2, 1.0));
        cache.put("globex", 1, set(3, 2.0));
        assert_eq!(cache.get(&"acme", 1).unwrap().len(), 2);
        assert_eq!(cache.get(&"globex", 1).unwrap().len(), 3);
        assert!(
            cache.get(&"acme", 2).is_none(),
            "a newer generation reloads"
        );
        assert!(cache.get(&"initech", 1).is_none());
        // A slower load of an older generation does not replace a newer one.
        cache.put("acme", 3, set(4, 1.0));
        cache.put("acme", 2, set(5, 1.0));
        assert_eq!(cache.get(&"acme", 3).unwrap().len(), 4);
    }

    #[test]
    fn a_set_larger_than_the_budget_is_served_but_not_kept() {
        let cache = Budgeted::new(10);
        let served = cache.put(1, 1, set(5, 0.0));
        assert_eq!(served.len(), 5);
        assert!(cache.get(&1, 1).is_none());
        assert_eq!(cache.usage().bytes, 0);
    }
}
