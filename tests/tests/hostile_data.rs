//! Data that must not hurt the application or lose the event: values nested tens of thousands
//! of levels deep, a 10 MB message, 10,000 tags, a 100 KB tag value, a 1,000-character tag key.
//! Each arrives bounded and trimmed to Relay's limits, with `_meta` saying what was trimmed;
//! Relay's normalizer finds nothing invalid and strict Bugsink stores it.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::{json, Value};
use std::process::Command;
use std::sync::{mpsc, Mutex};
use std::time::Duration;
use tests::peers::{assert_relay_clean, Bugsink};
use watchpost::protocol::{Exception, Frame, Stacktrace};
use watchpost::testing::{with_client, MockServer};
use watchpost::{
    capture_event, capture_message, capture_message_with, CaptureOptions, CaptureOutcome,
    ClientOptions, DropReason, Event, Level, SendError, SendResult,
};

const CHILD: &str = env!("CARGO_BIN_EXE_hostile_child");
/// Deepest nesting kept inside one databag (the SDK's `MAX_DEPTH`).
const MAX_DEPTH: usize = 5;
const WAIT: Duration = Duration::from_secs(30);

/// A JSON array nested `depth` levels deep, built without recursion.
fn deep(depth: usize) -> Value {
    (0..depth).fold(Value::Null, |v, _| Value::Array(vec![v]))
}

/// Levels of nesting of `v`, measured without recursion.
fn depth(v: &Value) -> usize {
    let (mut deepest, mut work) = (0, vec![(v, 1)]);
    while let Some((v, d)) = work.pop() {
        match v {
            Value::Array(items) => work.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => work.extend(map.values().map(|i| (i, d + 1))),
            _ => continue,
        }
        deepest = deepest.max(d);
    }
    deepest
}

/// Checks that `extra[key]` arrived cut at the depth limit, with the `_meta` that says so (the
/// deepest kept array had one entry).
#[track_caller]
fn assert_cut_at_depth(event: &Value, key: &str) {
    assert_eq!(depth(&event["extra"][key]), MAX_DEPTH, "{key}");
    let pointer = format!("/_meta/extra/{key}{}", "/0".repeat(MAX_DEPTH - 1));
    assert_eq!(
        event.pointer(&pointer),
        Some(&json!({"": {"len": 1}})),
        "{key}"
    );
}

fn sync_options(dsn: String) -> ClientOptions {
    ClientOptions::new()
        .dsn(dsn)
        .use_env(false)
        .send_result(SendResult::Sync)
}

/// Runs `hostile_child deep-extra` against a mock server and checks it lived to deliver.
fn deep_extra_in_a_child(levels: usize) {
    let server = MockServer::start();
    let out = Command::new(CHILD)
        .args(["deep-extra", &server.dsn(), &levels.to_string()])
        .output()
        .unwrap();
    let (status, stderr) = (out.status, String::from_utf8_lossy(&out.stderr));
    assert!(status.success(), "the child died: {status}\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_else(|| panic!("no RESULT line in {stdout}\n{stderr}"));
    assert_eq!(result["sent"], 1, "{result}");
    assert_eq!(result["dropped"], 0, "{result}");
    let event = server.expect_single_event();
    assert_eq!(event["event_id"], result["event_id"]);
    assert_cut_at_depth(&event, "deep");
    assert_cut_at_depth(&event, "scope_deep");
    assert_relay_clean(&event);
}

#[test]
fn an_extra_20_000_levels_deep_does_not_kill_the_process() {
    deep_extra_in_a_child(20_000);
}

#[test]
fn an_extra_100_000_levels_deep_does_not_kill_the_process() {
    deep_extra_in_a_child(100_000);
}

#[test]
fn deep_extra_events_queued_as_json_are_all_delivered() {
    const EVENTS: usize = 150; // Past the 64 waiting events after which the queue holds JSON.
    let server = MockServer::start();
    // The worker waits in `before_send` until the gate's sender is dropped, so events pile up.
    let (open_gate, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .queue_capacity(1000)
        .before_send(move |event: watchpost::Event| {
            let _ = gate.lock().unwrap().recv_timeout(WAIT);
            Some(event)
        });
    let stats = with_client(options, || {
        for i in 0..EVENTS {
            let outcome = capture_message_with(
                format!("deep {i}"),
                Level::Error,
                CaptureOptions::new().extra("deep", deep(10_000)),
            );
            assert!(
                matches!(outcome, CaptureOutcome::Queued { .. }),
                "{outcome:?}"
            );
        }
        let waiting = watchpost::stats().queue_depth;
        assert!(
            waiting > 64,
            "only {waiting} events waited: none was queued as JSON"
        );
        drop(open_gate);
        assert!(watchpost::flush(WAIT), "flush timed out");
        watchpost::stats()
    });
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");
    let events = server.wait_for_events(EVENTS, WAIT);
    assert_eq!(events.len(), EVENTS);
    events.iter().for_each(|e| assert_cut_at_depth(e, "deep"));
}

/// Captures one event in sync mode against a mock server and returns it as received, after
/// checking that Relay's normalizer finds nothing invalid in it.
fn received(capture: impl FnOnce() -> CaptureOutcome) -> Value {
    let server = MockServer::start();
    let outcome = with_client(sync_options(server.dsn()), capture);
    assert!(
        matches!(outcome, CaptureOutcome::Sent { .. }),
        "{outcome:?}"
    );
    let event = server.expect_single_event();
    assert_relay_clean(&event);
    event
}

#[test]
fn a_10_mb_message_arrives_trimmed_to_8192_characters() {
    let event = received(|| capture_message("m".repeat(10_000_000), Level::Error));
    let formatted = event["logentry"]["formatted"].as_str().unwrap();
    assert_eq!(formatted.chars().count(), 8192);
    assert_eq!(formatted, format!("{}...", "m".repeat(8189)));
    assert_eq!(
        event["_meta"]["logentry"]["formatted"],
        json!({"": {"rem": [["!limit", "x", 8189, 8192]], "len": 10_000_000}})
    );
}

#[test]
fn ten_thousand_tags_arrive_cut_to_200() {
    let mut options = CaptureOptions::new();
    for i in 0..10_000 {
        options = options.tag(format!("t{i:05}"), "v");
    }
    let event = received(|| capture_message_with("many tags", Level::Error, options));
    let tags = event["tags"].as_object().unwrap();
    assert_eq!(tags.len(), 200);
    assert!(tags.contains_key("t00000") && tags.contains_key("t00199"));
    assert_eq!(event["_meta"]["tags"], json!({"": {"len": 10_000}}));
}

#[test]
fn a_100_kb_tag_value_arrives_trimmed_to_200_characters() {
    let options = CaptureOptions::new().tag("big", "v".repeat(100_000));
    let event = received(|| capture_message_with("big tag", Level::Error, options));
    assert_eq!(event["tags"]["big"], format!("{}...", "v".repeat(197)));
    assert_eq!(
        event["_meta"]["tags"]["big"],
        json!({"": {"rem": [["!limit", "x", 197, 200]], "len": 100_000}})
    );
}

#[test]
fn a_1000_character_tag_key_arrives_trimmed_to_200_characters() {
    let options = CaptureOptions::new().tag("k".repeat(1000), "v");
    let event = received(|| capture_message_with("long key", Level::Error, options));
    let key = format!("{}...", "k".repeat(197));
    assert_eq!(event["tags"], json!({ key.clone(): "v" }));
    assert_eq!(
        event["_meta"]["tags"][&key],
        json!({"": {"rem": [["!limit_key", "x", 197, 200]]}})
    );
}

#[test]
fn an_event_that_cannot_fit_the_size_limit_is_dropped_and_counted() {
    let server = MockServer::start();
    let mut frame = Frame::default();
    frame.function = Some("f".repeat(8192));
    let mut exception = Exception::new("Huge", "two hundred 8 KB frames");
    exception.stacktrace = Some(Stacktrace::new(vec![frame; 200]));
    let mut event = Event::new();
    event.exception.values.push(exception);
    let (outcome, stats) = with_client(sync_options(server.dsn()), || {
        (capture_event(event), watchpost::stats())
    });
    assert!(
        matches!(
            outcome,
            CaptureOutcome::Failed {
                error: SendError::TooLarge { bytes, limit: 1_000_000 },
                ..
            } if bytes > 1_000_000
        ),
        "{outcome:?}"
    );
    assert_eq!(stats.dropped_for(DropReason::SendError), 1, "{stats:?}");
    server.assert_event_count(0);
}

#[test]
fn bugsink_stores_the_trimmed_message_and_the_deepest_extra() {
    let bugsink = Bugsink::start();
    let (message_id, deep_id) = with_client(sync_options(bugsink.dsn.clone()), || {
        let m = capture_message("m".repeat(10_000_000), Level::Error);
        let d = capture_message_with(
            "deepest extra",
            Level::Error,
            CaptureOptions::new().extra("deep", deep(100_000)),
        );
        (m.event_id().unwrap(), d.event_id().unwrap())
    });
    let events = bugsink.wait_for_events(2, WAIT);
    let stored = |id: uuid::Uuid| {
        let id = id.simple().to_string();
        events
            .iter()
            .find(|e| e["event_id"].as_str().map(|s| s.replace('-', "")) == Some(id.clone()))
            .unwrap_or_else(|| panic!("event {id} not stored: {events:#?}"))["data"]
            .clone()
    };
    let message = stored(message_id);
    let formatted = message["logentry"]["formatted"].as_str().unwrap();
    assert_eq!(formatted.chars().count(), 8192);
    assert_eq!(
        message["_meta"]["logentry"]["formatted"][""]["len"],
        10_000_000
    );
    assert_cut_at_depth(&stored(deep_id), "deep");
}

#[test]
fn an_event_over_the_size_limit_sheds_breadcrumbs_then_extra_and_stays_valid() {
    const LIMIT: usize = 1_000_000; // The SDK's event budget, under Relay's 1 MiB.
    let received = received(|| {
        watchpost::configure_scope(|scope| {
            for i in 0..100 {
                let crumb = watchpost::Breadcrumb::new("c", format!("{i:03}{}", "b".repeat(8000)));
                scope.add_breadcrumb(crumb);
            }
            for i in 0..80 {
                let fields = [("blob".to_owned(), json!("c".repeat(8000)))]
                    .into_iter()
                    .collect();
                scope.set_context(&format!("ctx{i:02}"), fields);
            }
        });
        let mut event = Event::new();
        let chain = (0..32).map(|i| Exception::new(format!("E{i}"), "v".repeat(8000)));
        event.exception.values.extend(chain);
        event.extra = (0..16)
            .map(|i| (format!("e{i:02}"), json!("e".repeat(16_000))))
            .collect();
        capture_event(event)
    });
    let size = serde_json::to_vec(&received).unwrap().len();
    assert!(size <= LIMIT, "{size} bytes");
    // Every breadcrumb goes first, then the extra; the contexts stay.
    assert!(received.get("breadcrumbs").is_none() && received.get("extra").is_none());
    assert!(received["contexts"].as_object().unwrap().len() >= 80);
    let meta = &received["_meta"];
    assert_eq!(meta["breadcrumbs"]["values"], json!({"": {"len": 100}}));
    assert_eq!(meta["extra"], json!({"": {"len": 16}}));
}

#[test]
fn a_deep_value_added_by_before_send_is_bounded_too() {
    let server = MockServer::start();
    let options = sync_options(server.dsn()).before_send(|mut event: watchpost::Event| {
        event.extra.insert("late".into(), deep(100_000));
        Some(event)
    });
    let outcome = with_client(options, || capture_message("late data", Level::Error));
    assert!(
        matches!(outcome, CaptureOutcome::Sent { .. }),
        "{outcome:?}"
    );
    let event = server.expect_single_event();
    assert_cut_at_depth(&event, "late");
}
