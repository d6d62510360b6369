//! Free-form JSON from the user (`extra`, contexts, breadcrumb `data`, ...) bounded in depth,
//! breadth and bytes, with `_meta` saying what was cut.
//!
//! The walk recurses at most [`MAX_DEPTH`] levels: a container at that level is emptied, not
//! entered. What is cut off is taken apart by [`dismantle`], with a worklist, because dropping
//! (or cloning, or serializing) a deeply nested `serde_json::Value` recurses once per level
//! and overflows the stack somewhere past ten thousand levels.

use super::limits::{MAX_BREADTH, MAX_DEPTH};
use super::meta::{self, MetaNode};
use super::text;
use serde_json::{Map, Value};

/// Below this many bytes of budget, no further entry is started: the container is cut there.
const MIN_ENTRY_BYTES: usize = 16;

/// Drops `value` without recursion: children are moved onto a worklist before their parent is
/// dropped, so every drop is of a container that is already empty.
pub(crate) fn dismantle(value: Value) {
    let mut work = vec![value];
    while let Some(v) = work.pop() {
        match v {
            Value::Array(items) => work.extend(items),
            Value::Object(map) => work.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// `value` with every container deeper than `max_levels` emptied, dismantled without
/// recursion; `value` itself is level 1. Cheap for shallow values: it stops at `max_levels`.
pub(crate) fn cap_depth(value: &mut Value, level: usize, max_levels: usize) {
    match value {
        Value::Array(items) if level >= max_levels => {
            dismantle(Value::Array(std::mem::take(items)))
        }
        Value::Object(map) if level >= max_levels => dismantle(Value::Object(std::mem::take(map))),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| cap_depth(v, level + 1, max_levels)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| cap_depth(v, level + 1, max_levels)),
        _ => {}
    }
}

/// Bounds `value`, a container or scalar at `level` (1 for a databag's root), charging its
/// approximate serialized size to `budget`. Returns its `_meta` subtree when something was cut.
pub(crate) fn bound(value: &mut Value, level: usize, budget: &mut usize) -> Option<MetaNode> {
    match value {
        Value::String(s) => {
            // Strings in a bag are bounded by the bag's bytes, as Relay bounds them.
            let node = text::trim(s, usize::MAX, budget.saturating_sub(2));
            charge(budget, s.len() + 2);
            node
        }
        Value::Array(items) => {
            charge(budget, 2);
            let original = items.len();
            if level >= MAX_DEPTH && original > 0 {
                dismantle(Value::Array(std::mem::take(items)));
                return Some(meta::cut_container(original));
            }
            let mut node = None;
            let mut cut_at = None;
            for (i, item) in items.iter_mut().enumerate() {
                if i >= MAX_BREADTH || *budget < MIN_ENTRY_BYTES {
                    cut_at = Some(i);
                    break;
                }
                charge(budget, 1);
                if let Some(child) = bound(item, level + 1, budget) {
                    meta::add_child(&mut node, i.to_string(), child);
                }
            }
            if let Some(i) = cut_at {
                dismantle(Value::Array(items.split_off(i)));
                meta::add_child(&mut node, String::new(), annotation(original));
            }
            node
        }
        Value::Object(map) => {
            charge(budget, 2);
            let original = map.len();
            if level >= MAX_DEPTH && original > 0 {
                dismantle(Value::Object(std::mem::take(map)));
                return Some(meta::cut_container(original));
            }
            let (cut_at, mut node) = entries(map.iter_mut(), level, budget, usize::MAX);
            if let Some(i) = cut_at {
                let doomed: Vec<String> = map.keys().skip(i).cloned().collect();
                for key in doomed {
                    if let Some(v) = map.remove(&key) {
                        dismantle(v);
                    }
                }
                meta::add_child(&mut node, String::new(), annotation(original));
            }
            node
        }
        Value::Number(_) => {
            charge(budget, 8);
            None
        }
        Value::Bool(_) | Value::Null => {
            charge(budget, 5);
            None
        }
    }
}

/// Bounds the values of an object at `level` (its entries are at `level + 1`), each within
/// `per_entry` bytes and all within `budget`. Returns the index of the first entry that no
/// longer fits (to be removed by the caller) and the children's `_meta`.
pub(crate) fn entries<'a>(
    entries: impl Iterator<Item = (&'a String, &'a mut Value)>,
    level: usize,
    budget: &mut usize,
    per_entry: usize,
) -> (Option<usize>, Option<MetaNode>) {
    let mut node = None;
    for (i, (key, value)) in entries.enumerate() {
        let key_cost = key.len() + 4;
        if i >= MAX_BREADTH || *budget < MIN_ENTRY_BYTES + key_cost {
            return (Some(i), node);
        }
        charge(budget, key_cost);
        let mut sub = per_entry.min(*budget);
        let before = sub;
        if let Some(child) = bound(value, level + 1, &mut sub) {
            meta::add_child(&mut node, key.clone(), child);
        }
        charge(budget, before - sub);
    }
    (None, node)
}

/// The `{"len": n}` annotation, unwrapped from its node for [`meta::add_child`]'s `""` key.
fn annotation(original: usize) -> MetaNode {
    match meta::cut_container(original).remove("") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn charge(budget: &mut usize, bytes: usize) {
    *budget = budget.saturating_sub(bytes);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// An array nested `n` levels deep, built without recursion.
    pub(crate) fn deep(n: usize) -> Value {
        let mut v = Value::Null;
        for _ in 0..n {
            v = Value::Array(vec![v]);
        }
        v
    }

    /// Levels of nesting of `v` (a scalar is 0), measured without recursion.
    pub(crate) fn depth(v: &Value) -> usize {
        let mut deepest = 0;
        let mut work = vec![(v, 0)];
        while let Some((v, d)) = work.pop() {
            match v {
                Value::Array(items) => work.extend(items.iter().map(|i| (i, d + 1))),
                Value::Object(map) => work.extend(map.values().map(|i| (i, d + 1))),
                _ => {}
            }
            deepest = deepest.max(d + usize::from(v.is_array() || v.is_object()));
        }
        deepest
    }

    #[test]
    fn dismantle_drops_a_value_far_deeper_than_the_stack_allows() {
        dismantle(deep(1_000_000));
    }

    #[test]
    fn cap_depth_empties_what_is_deeper_and_keeps_the_rest() {
        let mut v = deep(100_000);
        cap_depth(&mut v, 1, 3);
        assert_eq!(v, json!([[[]]]));
    }

    #[test]
    fn a_container_at_the_depth_limit_is_emptied_and_its_length_recorded() {
        let mut v = deep(50);
        let meta = bound(&mut v, 1, &mut usize::MAX.clone()).unwrap();
        assert_eq!(depth(&v), MAX_DEPTH);
        let pointer = "/0".repeat(MAX_DEPTH - 1);
        assert_eq!(
            Value::Object(meta).pointer(&pointer),
            Some(&json!({"": {"len": 1}}))
        );
    }

    #[test]
    fn an_array_keeps_its_first_entries_up_to_the_breadth_limit() {
        let mut v = Value::Array((0..MAX_BREADTH + 50).map(|i| json!(i)).collect());
        let meta = bound(&mut v, 1, &mut usize::MAX.clone()).unwrap();
        assert_eq!(v.as_array().unwrap().len(), MAX_BREADTH);
        assert_eq!(v[MAX_BREADTH - 1], json!(MAX_BREADTH - 1));
        assert_eq!(Value::Object(meta), json!({"": {"len": MAX_BREADTH + 50}}));
    }

    #[test]
    fn a_bag_over_its_bytes_is_cut_and_fits_its_budget() {
        let mut v = json!({"a": "x".repeat(600), "b": "y".repeat(600), "c": "z".repeat(600)});
        let mut budget = 1000;
        let meta = bound(&mut v, 1, &mut budget).unwrap();
        assert!(serde_json::to_string(&v).unwrap().len() <= 1000, "{v}");
        assert_eq!(v["a"].as_str().unwrap().len(), 600);
        assert!(v["b"].as_str().unwrap().ends_with("..."));
        assert!(v.get("c").is_none());
        let meta = Value::Object(meta);
        assert_eq!(meta[""], json!({"len": 3}));
        assert_eq!(meta["b"][""]["len"], 600);
    }
}
