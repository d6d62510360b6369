//! The normalizer on whole events, one behaviour per test.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use super::databag::tests::{deep, depth};
use super::limits::*;
use super::{normalize, normalize_or_drop, size::json_len};
use crate::event::{Breadcrumb, Event, Exception, Frame, Level, Stacktrace};
use crate::transport::{DropReason, Stats};
use serde_json::{json, Value};

fn meta(event: &Event) -> Value {
    Value::Object(event.meta.clone())
}

#[test]
fn a_small_event_is_left_unchanged() {
    let mut event = Event::message("disk almost full", Level::Warning);
    event.tags.insert("region".into(), "eu".into());
    event
        .extra
        .insert("cart".into(), json!({"items": [1, 2, 3], "total": 9.5}));
    event
        .breadcrumbs
        .values
        .push(Breadcrumb::new("ui", "click").with_data("x", 1));
    let before = event.clone();
    normalize(&mut event).unwrap();
    assert_eq!(event, before);
    assert!(!serde_json::to_string(&event).unwrap().contains("_meta"));
}

#[test]
fn a_ten_megabyte_message_is_trimmed_to_the_message_limit() {
    let mut event = Event::message("m".repeat(10_000_000), Level::Error);
    normalize(&mut event).unwrap();
    let formatted = event.logentry.as_ref().unwrap().formatted.as_ref().unwrap();
    assert_eq!(formatted.chars().count(), MESSAGE_MAX_CHARS);
    assert!(formatted.ends_with("m..."));
    assert_eq!(
        meta(&event)["logentry"]["formatted"],
        json!({"": {"rem": [["!limit", "x", 8189, 8192]], "len": 10_000_000}})
    );
}

#[test]
fn tags_beyond_the_count_limit_are_cut() {
    let mut event = Event::new();
    for i in 0..10_000 {
        event.tags.insert(format!("tag{i:05}"), "v".into());
    }
    normalize(&mut event).unwrap();
    assert_eq!(event.tags.len(), MAX_TAGS);
    assert!(event.tags.contains_key("tag00000"));
    assert_eq!(meta(&event)["tags"][""], json!({"len": 10_000}));
}

#[test]
fn a_long_tag_value_is_trimmed_with_its_original_length() {
    let mut event = Event::new();
    event.tags.insert("big".into(), "v".repeat(100_000));
    normalize(&mut event).unwrap();
    assert_eq!(event.tags["big"].len(), TAG_VALUE_MAX_CHARS);
    assert_eq!(
        meta(&event)["tags"]["big"],
        json!({"": {"rem": [["!limit", "x", 197, 200]], "len": 100_000}})
    );
}

#[test]
fn a_long_tag_key_is_trimmed_and_marked() {
    let mut event = Event::new();
    event.tags.insert("k".repeat(1000), "v".into());
    normalize(&mut event).unwrap();
    let (key, value) = event.tags.iter().next().unwrap();
    assert_eq!(key.len(), TAG_KEY_MAX_CHARS);
    assert!(key.ends_with("k..."));
    assert_eq!(value, "v");
    assert_eq!(
        meta(&event)["tags"][key],
        json!({"": {"rem": [["!limit_key", "x", 197, 200]]}})
    );
}

#[test]
fn a_deep_extra_is_cut_at_the_depth_limit_and_serializes() {
    let mut event = Event::new();
    event.extra.insert("deep".into(), deep(100_000));
    normalize(&mut event).unwrap();
    assert_eq!(depth(&event.extra["deep"]), MAX_DEPTH);
    let json = serde_json::to_vec(&event).unwrap();
    let back: Event = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, event);
    let pointer = format!("/extra/deep{}", "/0".repeat(MAX_DEPTH - 1));
    assert_eq!(
        meta(&event).pointer(&pointer),
        Some(&json!({"": {"len": 1}}))
    );
}

#[test]
fn only_the_newest_breadcrumbs_are_kept() {
    let mut event = Event::new();
    for i in 0..MAX_BREADCRUMBS + 20 {
        event
            .breadcrumbs
            .values
            .push(Breadcrumb::new("c", format!("{i}")));
    }
    normalize(&mut event).unwrap();
    let crumbs = &event.breadcrumbs.values;
    assert_eq!(crumbs.len(), MAX_BREADCRUMBS);
    assert_eq!(crumbs[0].message.as_deref(), Some("20"));
    assert_eq!(
        meta(&event)["breadcrumbs"]["values"][""],
        json!({"len": MAX_BREADCRUMBS + 20})
    );
}

#[test]
fn an_event_over_the_size_budget_sheds_its_oldest_breadcrumbs_first() {
    let mut event = Event::new();
    for i in 0..100 {
        let crumb = Breadcrumb::new("c", format!("{i:03}{}", "b".repeat(8000)));
        event.breadcrumbs.values.push(crumb);
    }
    for i in 0..16 {
        event
            .extra
            .insert(format!("e{i}"), json!("e".repeat(16_000)));
    }
    normalize(&mut event).unwrap();
    assert!(json_len(&event) <= MAX_EVENT_BYTES);
    let crumbs = &event.breadcrumbs.values;
    assert!(crumbs.len() < 100 && crumbs.len() > 50, "{}", crumbs.len());
    assert!(crumbs
        .last()
        .unwrap()
        .message
        .as_ref()
        .unwrap()
        .starts_with("099"));
    assert_eq!(event.extra.len(), 16, "extra goes only after breadcrumbs");
    assert_eq!(
        meta(&event)["breadcrumbs"]["values"][""],
        json!({"len": 100})
    );
}

/// An exception whose frames alone are far over the budget: frames are never shed.
fn unfittable() -> Event {
    let frame = Frame {
        function: Some("f".repeat(STRING_MAX_CHARS)),
        ..Frame::default()
    };
    let mut exc = Exception::new("Huge", "frames");
    exc.stacktrace = Some(Stacktrace::new(vec![frame; 200]));
    let mut event = Event::new();
    event.exception.values.push(exc);
    event
}

#[test]
fn an_event_that_cannot_fit_is_an_error() {
    let mut event = unfittable();
    let err = normalize(&mut event).unwrap_err();
    assert!(err.bytes > MAX_EVENT_BYTES);
}

#[test]
fn an_event_that_cannot_fit_is_dropped_and_counted_as_send_error() {
    let stats = Stats::default();
    let mut event = unfittable();
    assert!(normalize_or_drop(&mut event, &stats).is_err());
    assert_eq!(stats.snapshot().dropped_for(DropReason::SendError), 1);
}

#[test]
fn normalizing_twice_changes_nothing_more() {
    let mut event = Event::message("m".repeat(20_000), Level::Error);
    event.tags.insert("k".repeat(300), "v".repeat(300));
    event.extra.insert("deep".into(), deep(30));
    event
        .extra
        .insert("wide".into(), json!((0..500).collect::<Vec<_>>()));
    normalize(&mut event).unwrap();
    let once = event.clone();
    normalize(&mut event).unwrap();
    assert_eq!(event, once);
}

#[test]
fn meta_set_by_a_hook_is_bounded_in_depth() {
    let mut event = Event::new();
    event.meta.insert("deep".into(), deep(100_000));
    normalize(&mut event).unwrap();
    assert!(depth(&meta(&event)) <= META_MAX_DEPTH);
}

/// The normalizer's cost on a typical small event, next to cloning and serializing it and to
/// a whole capture (in memory, sync: scope, both normalizer passes, envelope). A micro-check,
/// not a test; each figure is the best of five rounds:
/// `cargo test -p watchpost --release --all-features --lib normalize::tests::cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; run it in release mode"]
#[cfg(feature = "test")]
fn cost_on_a_small_event() {
    use super::bound_event;
    use std::time::{Duration, Instant};
    let mut event = Event::message("payment declined for order 1234", Level::Warning);
    for (k, v) in [
        ("region", "eu-west"),
        ("provider", "acme"),
        ("suite", "e2e"),
    ] {
        event.tags.insert(k.into(), v.into());
    }
    event.extra.insert("amount_cents".into(), json!(1299));
    event
        .extra
        .insert("cart".into(), json!({"items": [1, 2, 3], "coupon": null}));
    for i in 0..10 {
        let crumb = Breadcrumb::new("http", format!("GET /api/{i}")).with_data("status", 200);
        event.breadcrumbs.values.push(crumb);
    }
    let rounds = 20_000u32;
    let best = |f: &mut dyn FnMut()| -> Duration {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                (0..rounds).for_each(|_| f());
                start.elapsed() / rounds
            })
            .min()
            .unwrap()
    };
    let mut bounded = event.clone();
    let bound = best(&mut || bound_event(std::hint::black_box(&mut bounded)));
    let full = best(&mut || normalize(std::hint::black_box(&mut bounded)).unwrap());
    let clone = best(&mut || drop(std::hint::black_box(event.clone())));
    let serialize = best(&mut || drop(std::hint::black_box(serde_json::to_vec(&event))));
    let capture = crate::testing::EventCapture::new();
    let capture_ns = capture.run(|| {
        best(&mut || {
            let e = event.clone();
            std::hint::black_box(crate::capture_event(e));
            capture.take_events();
        })
    });
    eprintln!(
        "per small event: bound_event (capture thread) {bound:?}, normalize (worker) {full:?}; \
         for scale: clone {clone:?}, serialize {serialize:?}, whole in-memory capture {capture_ns:?}"
    );
}
