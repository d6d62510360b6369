//! Sentry's `_meta` annotations, written the way the Python SDK writes them, so Sentry shows
//! what the SDK trimmed.
//!
//! `_meta` mirrors the event's shape: `_meta.extra.big[""]` describes `extra.big`. The entry
//! under the empty key says what happened to the value:
//!
//! - a trimmed string: `{"rem": [["!limit", "x", start, end]], "len": original_chars}`, where
//!   `start..end` is the `...` that replaced the rest;
//! - a container that lost entries (too many, too deep, or over its byte budget):
//!   `{"len": original_entries}`;
//! - a value removed whole (the request, when the event is over its size budget):
//!   `{"rem": [["!limit", "x"]]}`;
//! - a tag whose key was trimmed (Sentry's `_meta` has no place for keys):
//!   `{"rem": [["!limit_key", "x", start, end]]}` on the tag, under its trimmed key.

use serde_json::{Map, Value};

/// A `_meta` subtree: the annotation of a value under `""`, its children's under their keys
/// (array indices as decimal strings).
pub(crate) type MetaNode = Map<String, Value>;

/// The annotation of a string trimmed to `kept` characters followed by `...`.
pub(crate) fn trimmed_string(kept: usize, original_chars: usize) -> MetaNode {
    let rule = serde_json::json!(["!limit", "x", kept, kept + 3]);
    leaf(serde_json::json!({"rem": [rule], "len": original_chars}))
}

/// The annotation of an array or object cut from `original_len` entries.
pub(crate) fn cut_container(original_len: usize) -> MetaNode {
    leaf(serde_json::json!({ "len": original_len }))
}

/// The annotation of a value removed whole (the Python SDK's mark for a value past its depth).
pub(crate) fn removed() -> MetaNode {
    leaf(serde_json::json!({"rem": [["!limit", "x"]]}))
}

/// After the first `n` entries of the array at `path` were removed, moves the annotations of
/// its entries down by `n` (and forgets those of the removed ones).
pub(crate) fn shift_indices(root: &mut MetaNode, path: &[&str], n: usize) {
    let mut here = root;
    for segment in path {
        match here.get_mut(*segment) {
            Some(Value::Object(map)) => here = map,
            _ => return,
        }
    }
    let old = std::mem::take(here);
    for (key, value) in old {
        match key.parse::<usize>() {
            Ok(i) if i >= n => {
                here.insert((i - n).to_string(), value);
            }
            Ok(_) => {}
            Err(_) => {
                here.insert(key, value);
            }
        }
    }
}

fn leaf(annotation: Value) -> MetaNode {
    let mut node = Map::new();
    node.insert(String::new(), annotation);
    node
}

/// Puts `node` at `path` under `root`, creating the objects on the way. An annotation already
/// there wins (it was written by an earlier pass and knows the original length).
pub(crate) fn attach(root: &mut MetaNode, path: &[&str], node: MetaNode) {
    let mut here = root;
    for segment in path {
        let slot = here
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        here = match slot {
            Value::Object(map) => map,
            // Made an object just above.
            _ => return,
        };
    }
    merge(here, node);
}

/// Merges `from` into `into`, keeping what `into` already has. Recurses only as deep as
/// `from`, which the normalizer made (a dozen levels at most).
fn merge(into: &mut MetaNode, from: MetaNode) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (None, value) => {
                into.insert(key, value);
            }
            (Some(Value::Object(existing)), Value::Object(child)) if !key.is_empty() => {
                merge(existing, child);
            }
            // An annotation (`""`) already written wins.
            (Some(_), _) => {}
        }
    }
}

/// Adds `child` as entry `key` of `parent` (made on first use); returns the parent.
pub(crate) fn add_child(parent: &mut Option<MetaNode>, key: String, child: MetaNode) {
    parent
        .get_or_insert_with(Map::new)
        .insert(key, Value::Object(child));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_trimmed_string_is_annotated_like_the_python_sdk() {
        let node = trimmed_string(197, 100_000);
        assert_eq!(
            Value::Object(node),
            json!({"": {"rem": [["!limit", "x", 197, 200]], "len": 100_000}})
        );
    }

    #[test]
    fn attach_creates_the_path_and_keeps_an_earlier_annotation() {
        let mut root = Map::new();
        attach(&mut root, &["extra", "deep"], cut_container(7));
        attach(&mut root, &["extra", "deep"], cut_container(3));
        attach(&mut root, &["extra", "other"], cut_container(2));
        assert_eq!(
            Value::Object(root),
            json!({"extra": {"deep": {"": {"len": 7}}, "other": {"": {"len": 2}}}})
        );
    }
}
