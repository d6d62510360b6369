//! Attachments: bytes and files, per event and per context, reach a loopback server as
//! `attachment` items beside the event; one over the limit or unreadable is left out and
//! counted; a panic carries its context's attachments; the item headers have the real Python
//! SDK's shape; strict Bugsink stores the event.

use std::time::Duration;
use tests::peers::{python_attachment_items, python_parse_envelope, Bugsink};
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::{
    capture_message_with, Attachment, CaptureOptions, ClientOptions, DropReason, Level, SendResult,
};

fn options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .send_result(SendResult::Sync)
}

/// (item headers, payload) of every attachment item the server received.
fn attachments(server: &MockServer) -> Vec<(serde_json::Map<String, serde_json::Value>, Vec<u8>)> {
    server
        .requests()
        .iter()
        .filter_map(|r| r.envelope.as_ref())
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "attachment")
        .map(|i| (i.headers().clone(), i.payload().to_vec()))
        .collect()
}

#[test]
fn bytes_and_files_per_event_and_per_context_are_sent_with_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "line 1\nline 2\n").unwrap();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let server = MockServer::start();
    let stats = with_client(options(&server), || {
        watchpost::configure_scope(|s| s.add_attachment(Attachment::path(&log)));
        let dump =
            Attachment::bytes("dump.bin", big.clone()).content_type("application/octet-stream");
        capture_message_with(
            "with a dump",
            Level::Error,
            CaptureOptions::new().attachment(dump),
        );
        watchpost::stats()
    });
    let sent = attachments(&server);
    assert_eq!(sent.len(), 2, "the context's file, then the event's bytes");
    assert_eq!(sent[0].0["filename"], "app.log");
    assert_eq!(sent[0].1, b"line 1\nline 2\n");
    assert_eq!(sent[1].0["filename"], "dump.bin");
    assert_eq!(sent[1].0["content_type"], "application/octet-stream");
    assert_eq!(sent[1].0["attachment_type"], "event.attachment");
    assert_eq!(sent[1].1, big, "1 MB, byte for byte");
    assert_eq!(stats.dropped_total(), 0);
    let parsed = python_parse_envelope(&server.requests()[0].body);
    assert_eq!(parsed["items"][2]["payload_len"], 1_000_000);
}

#[test]
fn an_attachment_over_the_limit_or_unreadable_is_left_out_and_counted() {
    let server = MockServer::start();
    let stats = with_client(options(&server).max_attachment_size(1_000), || {
        let opts = CaptureOptions::new()
            .attachment(Attachment::bytes("small.txt", vec![b'a'; 600]))
            .attachment(Attachment::bytes("too-much.txt", vec![b'b'; 600]))
            .attachment(Attachment::bytes("huge.txt", vec![b'c'; 5_000]))
            .attachment(Attachment::path("/nonexistent/watchpost/attachment"));
        capture_message_with("attachments", Level::Error, opts);
        watchpost::stats()
    });
    let sent = attachments(&server);
    let names: Vec<&str> = sent
        .iter()
        .map(|(h, _)| h["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["small.txt"],
        "the second one would take the event over 1,000 bytes"
    );
    assert_eq!(server.events().len(), 1, "the event itself is sent");
    let dropped = |reason| {
        stats
            .dropped
            .get(&(reason, "attachment".to_owned()))
            .copied()
    };
    assert_eq!(dropped(DropReason::SendError), Some(2));
    assert_eq!(dropped(DropReason::InternalSdkError), Some(1));
}

#[test]
fn rate_limited_attachments_are_left_out_and_counted_while_the_event_goes() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().header("X-Sentry-Rate-Limits", "60:attachment:key"));
    let stats = with_client(options(&server), || {
        capture_message_with("before the limit", Level::Error, CaptureOptions::new());
        for n in 0..3 {
            let opts = CaptureOptions::new()
                .attachment(Attachment::bytes("a.txt", vec![b'a'; 10]))
                .attachment(Attachment::bytes("b.txt", vec![b'b'; 10]));
            capture_message_with(format!("limited {n}"), Level::Error, opts);
        }
        watchpost::stats()
    });
    assert_eq!(server.events().len(), 4, "events are not limited");
    assert!(attachments(&server).is_empty());
    assert_eq!(
        stats
            .dropped
            .get(&(DropReason::RatelimitBackoff, "attachment".to_owned())),
        Some(&6)
    );
    assert_eq!(stats.dropped_total(), 6, "{stats:?}");
}

#[test]
fn a_panic_carries_the_attachments_of_its_context() {
    let server = MockServer::start();
    let guard = watchpost::init(options(&server)).unwrap();
    let handle = std::thread::spawn(|| {
        watchpost::configure_scope(|s| {
            s.add_attachment(Attachment::bytes("job.toml", b"batch = 7\n".to_vec()))
        });
        panic!("the job broke");
    });
    assert!(handle.join().is_err());
    drop(guard);
    let events = server.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["exception"]["values"][0]["mechanism"]["handled"],
        false
    );
    let sent = attachments(&server);
    assert_eq!(sent.len(), 1, "the crash event carries the attachment");
    assert_eq!(sent[0].0["filename"], "job.toml");
    assert_eq!(sent[0].1, b"batch = 7\n");
}

#[test]
fn attachment_items_have_the_python_sdks_headers() {
    let python = python_attachment_items();
    let theirs = python.iter().find(|h| h["type"] == "attachment").unwrap();
    let server = MockServer::start();
    with_client(options(&server), || {
        watchpost::configure_scope(|s| {
            s.add_attachment(
                Attachment::bytes("config.toml", b"workers = 4\n".to_vec())
                    .content_type("text/plain"),
            )
        });
        watchpost::capture_message("config rejected", Level::Error);
    });
    let (ours, _) = &attachments(&server)[0];
    for (key, value) in theirs.as_object().unwrap() {
        assert_eq!(ours.get(key), Some(value), "header {key}: ours {ours:?}");
    }
}

#[test]
fn bugsink_stores_an_event_that_carries_an_attachment() {
    let bugsink = Bugsink::start();
    let _guard = watchpost::init(bugsink.client_options().send_result(SendResult::Sync)).unwrap();
    let outcome = capture_message_with(
        "with an attachment",
        Level::Error,
        CaptureOptions::new().attachment(Attachment::bytes("notes.txt", b"hello".to_vec())),
    );
    let id = outcome.event_id().unwrap().simple().to_string();
    let events = bugsink.wait_for_events(1, Duration::from_secs(30));
    assert!(
        events.iter().any(|e| e.to_string().contains(&id)),
        "{events:#?}"
    );
}
