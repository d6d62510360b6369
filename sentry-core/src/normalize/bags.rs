//! The event's databags, each bounded with its own byte budget: `extra`, contexts, breadcrumb
//! data, `request`, the user's other fields, `logentry.params`.

use super::databag::{self, dismantle, entries};
use super::limits::*;
use super::meta::{self, MetaNode};
use super::text::{trim, trim_opt};
use crate::event::Event;
use serde_json::Value;
use std::collections::BTreeMap;

/// Bounds every databag of `event`, writing annotations into `root` (`_meta`).
pub(crate) fn apply(event: &mut Event, root: &mut MetaNode) {
    // Each extra value is a bag of its own (level 1), all of them within EXTRA_MAX_BYTES.
    let node = map_bag(&mut event.extra, 0, EXTRA_MAX_BYTES, EXTRA_VALUE_MAX_BYTES);
    attach(root, &["extra"], node);

    let contexts = &mut event.contexts.0;
    let original = contexts.len();
    if original > MAX_BREADTH {
        for fields in cut_btree(contexts, MAX_BREADTH) {
            dismantle(Value::Object(fields));
        }
        meta::attach(root, &["contexts"], meta::cut_container(original));
    }
    for (name, fields) in contexts.iter_mut() {
        let mut budget = CONTEXT_MAX_BYTES;
        let count = fields.len();
        let (cut, node) = entries(fields.iter_mut(), 1, &mut budget, usize::MAX);
        if let Some(at) = cut {
            let doomed: Vec<String> = fields.keys().skip(at).cloned().collect();
            for key in doomed {
                if let Some(v) = fields.remove(&key) {
                    dismantle(v);
                }
            }
        }
        attach(
            root,
            &["contexts", name],
            with_cut(node, cut.map(|_| count)),
        );
    }

    breadcrumbs(event, root);

    if let Some(entry) = &mut event.logentry {
        let mut params = Value::Array(std::mem::take(&mut entry.params));
        let mut budget = PARAMS_MAX_BYTES;
        let node = databag::bound(&mut params, 1, &mut budget);
        if let Value::Array(items) = params {
            entry.params = items;
        }
        attach(root, &["logentry", "params"], node);
    }

    if let Some(user) = &mut event.user {
        for (field, name) in [
            (&mut user.id, "id"),
            (&mut user.username, "username"),
            (&mut user.email, "email"),
            (&mut user.ip_address, "ip_address"),
        ] {
            attach(root, &["user", name], trim_opt(field, STRING_MAX_CHARS));
        }
        // The other fields sit beside `id` in the user object; each is a bag of its own.
        let node = map_bag(&mut user.other, 0, SMALL_BAG_MAX_BYTES, SMALL_BAG_MAX_BYTES);
        attach(root, &["user"], node);
    }

    if let Some(request) = &mut event.request {
        for (field, name) in [
            (&mut request.method, "method"),
            (&mut request.url, "url"),
            (&mut request.query_string, "query_string"),
        ] {
            attach(root, &["request", name], trim_opt(field, STRING_MAX_CHARS));
        }
        for (map, name) in [
            (&mut request.headers, "headers"),
            (&mut request.cookies, "cookies"),
            (&mut request.env, "env"),
        ] {
            let original = map.len();
            if original > MAX_BREADTH {
                cut_btree(map, MAX_BREADTH);
                meta::attach(root, &["request", name], meta::cut_container(original));
            }
            for (key, value) in map.iter_mut() {
                let node = trim(value, STRING_MAX_CHARS, usize::MAX);
                attach(root, &["request", name, key], node);
            }
        }
        if let Some(data) = &mut request.data {
            let mut budget = REQUEST_DATA_MAX_BYTES;
            let node = databag::bound(data, 1, &mut budget);
            attach(root, &["request", "data"], node);
        }
    }
}

/// At most [`MAX_BREADCRUMBS`], the newest; their strings and `data` within Relay's limits.
fn breadcrumbs(event: &mut Event, root: &mut MetaNode) {
    let crumbs = &mut event.breadcrumbs.values;
    let original = crumbs.len();
    if original > MAX_BREADCRUMBS {
        for crumb in crumbs.drain(..original - MAX_BREADCRUMBS) {
            crumb.data.into_values().for_each(dismantle);
        }
        meta::attach(
            root,
            &["breadcrumbs", "values"],
            meta::cut_container(original),
        );
    }
    for (i, crumb) in crumbs.iter_mut().enumerate() {
        // The index is formatted only when there is something to note.
        let mut note = |field: &str, node: Option<MetaNode>| {
            if let Some(node) = node {
                meta::attach(
                    root,
                    &["breadcrumbs", "values", &i.to_string(), field],
                    node,
                );
            }
        };
        note(
            "message",
            trim_opt(&mut crumb.message, BREADCRUMB_MESSAGE_MAX_CHARS),
        );
        note(
            "category",
            trim_opt(&mut crumb.category, BREADCRUMB_CATEGORY_MAX_CHARS),
        );
        note(
            "type",
            trim(&mut crumb.ty, BREADCRUMB_CATEGORY_MAX_CHARS, usize::MAX),
        );
        note(
            "data",
            map_bag(&mut crumb.data, 1, BREADCRUMB_DATA_MAX_BYTES, usize::MAX),
        );
    }
}

/// Bounds a map whose values are bags at `level + 1`, within `budget` bytes in all and
/// `per_entry` each; entries that do not fit are removed and counted in `_meta`.
pub(crate) fn map_bag(
    map: &mut BTreeMap<String, Value>,
    level: usize,
    budget: usize,
    per_entry: usize,
) -> Option<MetaNode> {
    if map.is_empty() {
        return None;
    }
    let mut budget = budget;
    let original = map.len();
    let (cut, node) = entries(map.iter_mut(), level, &mut budget, per_entry);
    if let Some(at) = cut {
        for v in cut_btree(map, at) {
            dismantle(v);
        }
    }
    with_cut(node, cut.map(|_| original))
}

/// Removes the entries of `map` from the `at`-th on and returns their values.
pub(crate) fn cut_btree<V>(map: &mut BTreeMap<String, V>, at: usize) -> Vec<V> {
    match map.keys().nth(at).cloned() {
        Some(first) => map.split_off(&first).into_values().collect(),
        None => Vec::new(),
    }
}

/// `node` with the container's own `{"len": n}` added when it was cut from `original` entries.
pub(crate) fn with_cut(node: Option<MetaNode>, original: Option<usize>) -> Option<MetaNode> {
    let Some(original) = original else {
        return node;
    };
    let mut node = node.unwrap_or_default();
    meta::attach(&mut node, &[], meta::cut_container(original));
    Some(node)
}

fn attach(root: &mut MetaNode, path: &[&str], node: Option<MetaNode>) {
    if let Some(node) = node {
        meta::attach(root, path, node);
    }
}
