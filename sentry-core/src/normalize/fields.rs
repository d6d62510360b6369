//! Per-field limits on the event's own strings and lists: the scalars, tags, the message,
//! exceptions and their frames, the fingerprint.

use super::limits::*;
use super::meta::{self, MetaNode};
use super::text::{trim, trim_opt};
use crate::event::{Event, Frame};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Applies the field limits of `event`, writing annotations into `root` (`_meta`).
pub(crate) fn apply(event: &mut Event, root: &mut MetaNode) {
    let scalars = [
        (&mut event.transaction, TRANSACTION_MAX_CHARS, "transaction"),
        (&mut event.logger, LOGGER_MAX_CHARS, "logger"),
        (&mut event.server_name, SERVER_NAME_MAX_CHARS, "server_name"),
        (&mut event.release, RELEASE_MAX_CHARS, "release"),
        (&mut event.environment, ENVIRONMENT_MAX_CHARS, "environment"),
        (&mut event.dist, DIST_MAX_CHARS, "dist"),
    ];
    for (field, max, name) in scalars {
        if let Some(node) = trim_opt(field, max) {
            meta::attach(root, &[name], node);
        }
    }
    if let Some(entry) = &mut event.logentry {
        for (field, name) in [
            (&mut entry.formatted, "formatted"),
            (&mut entry.message, "message"),
        ] {
            if let Some(node) = trim_opt(field, MESSAGE_MAX_CHARS) {
                meta::attach(root, &["logentry", name], node);
            }
        }
    }
    tags(&mut event.tags, root);
    fingerprint(&mut event.fingerprint, root);
    exceptions(event, root);
}

/// At most [`MAX_TAGS`] tags, keys and values within their lengths. A trimmed key is marked
/// with the rule `!limit_key` on its tag (Sentry's `_meta` has no place for keys).
fn tags(tags: &mut BTreeMap<String, String>, root: &mut MetaNode) {
    let original = tags.len();
    if original > MAX_TAGS {
        if let Some(first_cut) = tags.keys().nth(MAX_TAGS).cloned() {
            drop(tags.split_off(&first_cut));
        }
        meta::attach(root, &["tags"], meta::cut_container(original));
    }
    let long_keys: Vec<String> = tags
        .keys()
        .filter(|k| k.len() > TAG_KEY_MAX_CHARS)
        .cloned()
        .collect();
    for key in long_keys {
        let Some(value) = tags.remove(&key) else {
            continue;
        };
        let mut short = key;
        let Some(node) = trim(&mut short, TAG_KEY_MAX_CHARS, usize::MAX) else {
            tags.insert(short, value);
            continue;
        };
        if tags.contains_key(&short) {
            continue; // Two keys that differ only past the limit: the first one stays.
        }
        let kept = kept_chars(&node);
        let mut annotation = serde_json::Map::new();
        annotation.insert(
            String::new(),
            json!({"rem": [["!limit_key", "x", kept, kept + 3]]}),
        );
        meta::attach(root, &["tags", &short], annotation);
        tags.insert(short, value);
    }
    for (key, value) in tags.iter_mut() {
        if let Some(node) = trim(value, TAG_VALUE_MAX_CHARS, usize::MAX) {
            meta::attach(root, &["tags", key], node);
        }
    }
}

/// The kept length recorded in a trimmed-string annotation.
fn kept_chars(node: &MetaNode) -> u64 {
    node.get("")
        .and_then(|a| a["rem"][0][2].as_u64())
        .unwrap_or_default()
}

fn fingerprint(parts: &mut Vec<String>, root: &mut MetaNode) {
    let original = parts.len();
    if original > MAX_FINGERPRINT {
        parts.truncate(MAX_FINGERPRINT);
        meta::attach(root, &["fingerprint"], meta::cut_container(original));
    }
    for (i, part) in parts.iter_mut().enumerate() {
        if let Some(node) = trim(part, STRING_MAX_CHARS, usize::MAX) {
            meta::attach(root, &["fingerprint", &i.to_string()], node);
        }
    }
}

/// At most [`MAX_EXCEPTIONS`], the newest (the last is the event's title); type, value and
/// module within Relay's lengths; frame strings within [`STRING_MAX_CHARS`].
fn exceptions(event: &mut Event, root: &mut MetaNode) {
    let values = &mut event.exception.values;
    let original = values.len();
    if original > MAX_EXCEPTIONS {
        values.drain(..original - MAX_EXCEPTIONS);
        meta::attach(
            root,
            &["exception", "values"],
            meta::cut_container(original),
        );
    }
    for (i, exc) in values.iter_mut().enumerate() {
        let mut note = |field: &str, node: Option<MetaNode>| {
            if let Some(node) = node {
                meta::attach(root, &["exception", "values", &i.to_string(), field], node);
            }
        };
        note(
            "type",
            trim(&mut exc.ty, EXCEPTION_TYPE_MAX_CHARS, usize::MAX),
        );
        note("value", trim_opt(&mut exc.value, EXCEPTION_VALUE_MAX_CHARS));
        note(
            "module",
            trim_opt(&mut exc.module, EXCEPTION_TYPE_MAX_CHARS),
        );
        if let Some(mechanism) = &mut exc.mechanism {
            let data = &mut mechanism.data;
            let node = super::bags::map_bag(data, 0, SMALL_BAG_MAX_BYTES, SMALL_BAG_MAX_BYTES);
            if let Some(node) = node {
                let i = i.to_string();
                meta::attach(
                    root,
                    &["exception", "values", &i, "mechanism", "data"],
                    node,
                );
            }
        }
        if let Some(trace) = &mut exc.stacktrace {
            for (j, frame) in trace.frames.iter_mut().enumerate() {
                if let Some(node) = frame_strings(frame) {
                    let (i, j) = (i.to_string(), j.to_string());
                    let path = ["exception", "values", &i, "stacktrace", "frames", &j];
                    meta::attach(root, &path, node);
                }
            }
        }
    }
}

/// Trims a frame's strings; returns the frame's `_meta` when something was trimmed.
fn frame_strings(frame: &mut Frame) -> Option<MetaNode> {
    let mut node: Option<MetaNode> = None;
    let fields = [
        (&mut frame.function, "function"),
        (&mut frame.raw_function, "raw_function"),
        (&mut frame.module, "module"),
        (&mut frame.package, "package"),
        (&mut frame.filename, "filename"),
        (&mut frame.abs_path, "abs_path"),
        (&mut frame.context_line, "context_line"),
    ];
    for (field, name) in fields {
        if let Some(child) = trim_opt(field, STRING_MAX_CHARS) {
            meta::add_child(&mut node, name.to_owned(), child);
        }
    }
    for (lines, name) in [
        (&mut frame.pre_context, "pre_context"),
        (&mut frame.post_context, "post_context"),
    ] {
        for (k, line) in lines.iter_mut().enumerate() {
            if let Some(child) = trim(line, STRING_MAX_CHARS, usize::MAX) {
                let list = node
                    .get_or_insert_with(serde_json::Map::new)
                    .entry(name)
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                if let Value::Object(list) = list {
                    list.insert(k.to_string(), Value::Object(child));
                }
            }
        }
    }
    node
}
