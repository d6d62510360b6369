//! End to end against real Sentry software: Bugsink (strict validation) stores what we send,
//! and every envelope we sent is also read by the Python SDK's envelope reader and every event
//! passes Relay's normalizer.

use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::time::Duration;
use tests::peers::{
    assert_relay_clean, python_parse_envelope, relay_normalize, top_frame, Bugsink,
};
use tests::recording::RecordingClient;
use watchpost::{
    capture_error, capture_message_with, Breadcrumb, CaptureOptions, CaptureOutcome, ClientOptions,
    Level, SendResult, User,
};

#[derive(Debug)]
struct RequestFailed(ConfigUnreadable);
#[derive(Debug)]
struct ConfigUnreadable(std::io::Error);

impl fmt::Display for RequestFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request failed")
    }
}
impl fmt::Display for ConfigUnreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("config unreadable")
    }
}
impl std::error::Error for RequestFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
impl std::error::Error for ConfigUnreadable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn sent_id(outcome: &CaptureOutcome) -> String {
    match outcome {
        CaptureOutcome::Sent { event_id, .. } => event_id.simple().to_string(),
        other => panic!("expected the event to be sent, got {other:?}"),
    }
}

fn stored<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event_id"].as_str().map(|s| s.replace('-', "")) == Some(id.to_owned()))
        .unwrap_or_else(|| panic!("event {id} is not stored; stored: {events:#?}"))
}

#[test]
fn bugsink_stores_what_we_send_and_relay_accepts_it() {
    let bugsink = Bugsink::start();
    let recorder = RecordingClient::new();
    let guard = watchpost::init(
        bugsink
            .client_options()
            .release("e2e-app@1.0.0")
            .tag("suite", "e2e")
            .send_result(SendResult::Sync)
            .http_client(recorder.clone()),
    )
    .expect("valid options");

    // 1. An error with a three-level cause chain.
    let err = RequestFailed(ConfigUnreadable(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such file",
    )));
    let capture_line = line!() + 1;
    let error_id = sent_id(&capture_error(&err));

    // 2. A message with level warning, carrying enough data (over 16 KiB) to go out gzipped.
    let listing = "/var/lib/app/cache/segment-0000.bin  4.0G\n".repeat(150);
    let message_id = sent_id(&capture_message_with(
        "disk almost full",
        Level::Warning,
        (0..3).fold(CaptureOptions::new(), |o, i| {
            o.extra(format!("listing{i}"), listing.clone())
        }),
    ));

    // 3. User, tags, extra, breadcrumbs and a custom fingerprint; two events share a fingerprint.
    watchpost::set_user_context(User::with_id("user-42"));
    watchpost::set_tags_context([("locale", "en-us")]);
    watchpost::set_extra_context([("day_of_week", "Friday")]);
    watchpost::add_breadcrumb(Breadcrumb::new("web.request", "GET /checkout"));
    let grouped = |text: &str, group: &str| {
        sent_id(&capture_message_with(
            text,
            Level::Error,
            CaptureOptions::new()
                .fingerprint([group])
                .extra("attempt", 1)
                .breadcrumb(Breadcrumb::new("payment", "card declined")),
        ))
    };
    let a1 = grouped("payment failed (first)", "e2e-group-a");
    let a2 = grouped("payment failed (second)", "e2e-group-a");
    let b1 = grouped("payment failed (other)", "e2e-group-b");
    drop(guard);

    let events = bugsink.wait_for_events(5, Duration::from_secs(30));

    // The error: chain root cause first, the outer error as the title, our call site on top.
    let e = stored(&events, &error_id);
    assert_eq!(e["calculated_type"], "RequestFailed");
    assert_eq!(e["calculated_value"], "request failed");
    assert_eq!(e["platform"], "native");
    let data = &e["data"];
    let exceptions = data["exception"]["values"]
        .as_array()
        .expect("exception values");
    let chain: Vec<(&str, &str)> = exceptions
        .iter()
        .map(|x| (x["type"].as_str().unwrap(), x["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        chain,
        [
            ("std::io::Error", "no such file"),
            ("ConfigUnreadable", "config unreadable"),
            ("RequestFailed", "request failed")
        ]
    );
    let top = top_frame(&exceptions[2]);
    assert!(
        top["filename"]
            .as_str()
            .unwrap()
            .ends_with("tests/tests/e2e_bugsink.rs"),
        "top frame {top}"
    );
    assert_eq!(top["lineno"], capture_line);
    assert_eq!(top["in_app"], true);
    assert_eq!(exceptions[2]["mechanism"]["type"], "generic");
    assert_eq!(data["level"], "error");
    assert_eq!(data["environment"], "e2e");
    assert_eq!(data["release"], "e2e-app@1.0.0");
    assert_eq!(data["tags"]["suite"], "e2e");
    assert_eq!(data["contexts"]["runtime"]["name"], "rustc");
    assert_eq!(data["contexts"]["device"]["arch"], std::env::consts::ARCH);
    assert_eq!(data["sdk"]["name"], watchpost::SDK_NAME);

    // The message.
    let m = &stored(&events, &message_id)["data"];
    assert_eq!(m["level"], "warning");
    assert_eq!(m["logentry"]["formatted"], "disk almost full");
    assert!(m
        .get("message")
        .is_none_or(|v| v.is_null() || v == "disk almost full"));

    // Context values, per-event values and grouping.
    let g = &stored(&events, &a1)["data"];
    assert_eq!(g["user"]["id"], "user-42");
    assert_eq!(g["tags"]["locale"], "en-us");
    assert_eq!(g["tags"]["suite"], "e2e");
    assert_eq!(g["extra"]["day_of_week"], "Friday");
    assert_eq!(g["extra"]["attempt"], 1);
    assert_eq!(g["fingerprint"], serde_json::json!(["e2e-group-a"]));
    let crumbs: Vec<&str> = g["breadcrumbs"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["message"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["GET /checkout", "card declined"]);
    let issue = |id: &str| stored(&events, id)["issue_id"].clone();
    assert_eq!(issue(&a1), issue(&a2), "same fingerprint, same issue");
    assert_ne!(
        issue(&a1),
        issue(&b1),
        "different fingerprint, different issue"
    );
    let latest = bugsink.events();
    assert_eq!(stored(&latest, &a2)["issue_digested_event_count"], 2);
    assert_eq!(stored(&latest, &b1)["issue_digested_event_count"], 1);

    // Every envelope we sent: read by the Python SDK, and each event clean under Relay.
    let posts = recorder.posts();
    assert_eq!(posts.len(), 5);
    assert!(
        posts.iter().any(|p| p.gzipped),
        "the message's envelope is large enough to be gzipped"
    );
    let mut seen = HashSet::new();
    for post in &posts {
        assert_eq!(post.status, 200);
        let auth = &post
            .headers
            .iter()
            .find(|(k, _)| k == "X-Sentry-Auth")
            .expect("auth header")
            .1;
        assert!(
            auth.starts_with("Sentry sentry_version=7, sentry_client=sentry.rust.core/"),
            "{auth}"
        );
        let parsed = python_parse_envelope(&post.body);
        let items = parsed["items"].as_array().expect("items");
        let event_item = items
            .iter()
            .find(|i| i["type"] == "event")
            .expect("an event item");
        let event = &event_item["payload_json"];
        seen.insert(event["event_id"].as_str().unwrap().to_owned());
        assert!(
            event.get("message").is_none(),
            "no legacy top-level message"
        );
        assert_relay_clean(event);
        let normalized = relay_normalize(event);
        assert_eq!(normalized["platform"], "native");
    }
    assert_eq!(seen.len(), 5);
}

#[test]
fn send_test_event_reaches_bugsink() {
    let bugsink = Bugsink::start();
    let mut out = Vec::new();
    let outcome = watchpost::send_test_event(
        ClientOptions::new()
            .use_env(false)
            .dsn(bugsink.dsn.clone())
            .environment("prod"),
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    let watchpost::TestEventOutcome::Sent { event_id, .. } = outcome else {
        panic!("expected Sent, got {outcome:?}:\n{text}");
    };
    assert!(
        text.contains("Sending test event!\nTest event sent, event id: "),
        "{text}"
    );
    let events = bugsink.wait_for_events(1, Duration::from_secs(30));
    let stored = stored(&events, &event_id.simple().to_string());
    assert_eq!(stored["calculated_value"], "Testing sending Sentry event");
    assert_eq!(stored["data"]["tags"]["sentry.test_event"], "true");
}
