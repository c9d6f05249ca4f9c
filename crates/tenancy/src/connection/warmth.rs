//! Which tenant schemas a slot's backend has served, readable while another request
//! holds the connection: the pool decides from it whether a request whose home
//! connection is busy can go elsewhere without building its schema's catalog in one
//! more backend, and whether its tenant is spread over the pool already.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::names::SchemaName;

/// The schemas a backend has served since it was opened (shared with its slot when it
/// is the slot's one connection).
#[derive(Default)]
pub(super) struct Warmth(Mutex<HashSet<SchemaName>>);

/// What a slot's backend holds for one schema, read under one lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SlotView {
    /// It has served the schema: its catalog entries and statements are cached there.
    pub warm: bool,
    /// It has served fewer schemas than the pool lets a backend take on for guests.
    pub has_room: bool,
}

impl Warmth {
    pub(super) fn view(&self, schema: &SchemaName, room: usize) -> SlotView {
        let schemas = self.0.lock().expect("slot warmth");
        SlotView {
            warm: schemas.contains(schema),
            has_room: schemas.len() < room,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.0.lock().expect("slot warmth").len()
    }

    pub(super) fn contains(&self, schema: &SchemaName) -> bool {
        self.0.lock().expect("slot warmth").contains(schema)
    }

    pub(super) fn insert(&self, schema: &SchemaName) {
        let mut schemas = self.0.lock().expect("slot warmth");
        if !schemas.contains(schema) {
            schemas.insert(schema.clone());
        }
    }

    /// A new backend caches nothing yet.
    pub(super) fn clear(&self) {
        self.0.lock().expect("slot warmth").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_warm_for_what_it_served_until_its_backend_is_replaced() {
        let warmth = Warmth::default();
        let (a, b) = (
            SchemaName::from_stored("t_a").unwrap(),
            SchemaName::from_stored("t_b").unwrap(),
        );
        assert_eq!(
            warmth.view(&a, 2),
            SlotView {
                warm: false,
                has_room: true
            }
        );
        warmth.insert(&a);
        warmth.insert(&a);
        assert!(warmth.contains(&a) && !warmth.contains(&b));
        assert!(warmth.view(&b, 2).has_room, "one schema served of two");
        warmth.insert(&b);
        assert_eq!(
            warmth.view(&b, 2),
            SlotView {
                warm: true,
                has_room: false
            }
        );
        warmth.clear();
        assert!(!warmth.contains(&a) && warmth.view(&a, 2).has_room);
    }
}
