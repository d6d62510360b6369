//! Properties of the normalizer over arbitrary JSON-ish values and events: it never panics,
//! its output is within every limit, it is idempotent, and small events pass unchanged.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use super::databag::tests::deep;
use super::limits::*;
use super::normalize;
use super::size::json_len;
use crate::event::{Breadcrumb, Event, LogEntry};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Strings from empty to far over every limit, some multibyte.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z ]{0,12}",
        1 => "[é✓a]{0,40}",
        1 => (0usize..20_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

/// JSON values: nested, wide, and sometimes hundreds of levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    let nested = leaf.prop_recursive(8, 200, 120, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..150).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..150)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![8 => nested, 1 => (0usize..400).prop_map(deep)]
}

fn event() -> impl Strategy<Value = Event> {
    (
        text(),
        prop::collection::btree_map(text(), text(), 0..300),
        prop::collection::btree_map("[a-z]{1,6}", json(), 0..3),
        prop::collection::vec((text(), small_json()), 0..130),
    )
        .prop_map(|(message, tags, extra, crumbs)| {
            let mut event = Event::new();
            event.logentry = Some(LogEntry::new(message));
            event.tags = tags;
            event.extra = extra;
            event.breadcrumbs.values = crumbs
                .into_iter()
                .map(|(m, data)| Breadcrumb::new("c", m).with_data("d", data))
                .collect();
            event
        })
}

/// The first limit `event` breaks, if any.
fn broken_limit(event: &Event) -> Option<String> {
    let chars = |s: &str| s.chars().count();
    if event.tags.len() > MAX_TAGS {
        return Some(format!("{} tags", event.tags.len()));
    }
    if let Some((k, v)) = event
        .tags
        .iter()
        .find(|(k, v)| chars(k) > TAG_KEY_MAX_CHARS || chars(v) > TAG_VALUE_MAX_CHARS)
    {
        return Some(format!("tag {} / {} chars", chars(k), chars(v)));
    }
    let message = event.logentry.as_ref().and_then(|l| l.formatted.as_deref());
    if message.is_some_and(|m| chars(m) > MESSAGE_MAX_CHARS) {
        return Some("message too long".into());
    }
    if event.breadcrumbs.values.len() > MAX_BREADCRUMBS {
        return Some("too many breadcrumbs".into());
    }
    let mut bags: Vec<(&Value, usize)> = event.extra.values().map(|v| (v, 1)).collect();
    for crumb in &event.breadcrumbs.values {
        bags.extend(crumb.data.values().map(|v| (v, 2)));
    }
    // Depth and breadth of every bag, walked without recursion.
    while let Some((v, level)) = bags.pop() {
        let (len, children): (usize, Vec<&Value>) = match v {
            Value::Array(a) => (a.len(), a.iter().collect()),
            Value::Object(m) => (m.len(), m.values().collect()),
            _ => continue,
        };
        if level > MAX_DEPTH || len > MAX_BREADTH || (level == MAX_DEPTH && len > 0) {
            return Some(format!("container of {len} at level {level}"));
        }
        bags.extend(children.into_iter().map(|c| (c, level + 1)));
    }
    (json_len(event) > MAX_EVENT_BYTES).then(|| "over the size budget".into())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_output_is_within_every_limit(mut event in event()) {
        if normalize(&mut event).is_ok() {
            prop_assert_eq!(broken_limit(&event), None);
        }
    }

    #[test]
    fn normalizing_is_idempotent(mut event in event()) {
        if normalize(&mut event).is_ok() {
            let once = event.clone();
            prop_assert!(normalize(&mut event).is_ok());
            prop_assert_eq!(event, once);
        }
    }

    #[test]
    fn a_bag_never_panics_and_stays_bounded(value in json()) {
        let mut event = Event::new();
        event.extra.insert("v".into(), value);
        event.meta.insert("m".into(), Value::Object(Map::new()));
        prop_assert!(normalize(&mut event).is_ok());
        prop_assert_eq!(broken_limit(&event), None);
    }

    #[test]
    fn small_events_pass_unchanged(
        message in "[a-z ]{0,40}",
        tags in prop::collection::btree_map("[a-z]{1,10}", "[a-z]{0,20}", 0..10),
        extra in prop::collection::btree_map("[a-z]{1,6}", small_json(), 0..5),
    ) {
        let mut event = Event::message(message, crate::Level::Info);
        event.tags = tags;
        event.extra = extra;
        let before = event.clone();
        prop_assert!(normalize(&mut event).is_ok());
        prop_assert_eq!(event, before);
    }
}

/// Values well within every limit: shallow, narrow, short.
fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
