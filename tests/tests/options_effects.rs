//! Each option's effect, seen at a real loopback server: what reaches it and what the capture
//! call returns.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchpost::testing::{with_client, MockServer};
use watchpost::{
    capture_message, CaptureOutcome, ClientOptions, Event, EventSource, Level, SendResult,
};

fn sync_options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .use_env(false)
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
}

fn event_requests(server: &MockServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.event().is_some())
        .count()
}

#[test]
fn excluded_environment_sends_nothing() {
    let server = MockServer::start();
    let options = sync_options(&server)
        .environment("dev")
        .included_environments(["prod"]);
    let outcome = with_client(options, || capture_message("x", Level::Error));
    assert_eq!(
        outcome,
        CaptureOutcome::Excluded {
            environment: "dev".into()
        }
    );
    assert_eq!(event_requests(&server), 0);
}

#[test]
fn included_environment_sends() {
    let server = MockServer::start();
    let options = sync_options(&server)
        .environment("prod")
        .included_environments(["prod"]);
    let outcome = with_client(options, || capture_message("x", Level::Error));
    assert!(
        matches!(outcome, CaptureOutcome::Sent { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.expect_single_event()["environment"], "prod");
}

#[test]
fn sample_rate_zero_and_one() {
    let server = MockServer::start();
    let outcomes = with_client(sync_options(&server).sample_rate(0.0), || {
        (0..20)
            .map(|_| capture_message("x", Level::Error))
            .collect::<Vec<_>>()
    });
    assert!(outcomes.iter().all(|o| *o == CaptureOutcome::SampledOut));
    assert_eq!(event_requests(&server), 0);
    let outcomes = with_client(sync_options(&server).sample_rate(1.0), || {
        (0..20)
            .map(|_| capture_message("x", Level::Error))
            .collect::<Vec<_>>()
    });
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, CaptureOutcome::Sent { .. })));
    assert_eq!(event_requests(&server), 20);
}

#[test]
fn sample_rate_one_half_keeps_about_half() {
    // 4,000 draws at p = 0.5: mean 2,000, standard deviation 31.6. Six deviations either side
    // fail a generator stuck on one answer, and a true coin about once in a billion runs.
    let n = 4_000;
    let (sampled_out, events) = watchpost::testing::with_captured_events_options(
        ClientOptions::new().sample_rate(0.5),
        || {
            (0..n)
                .filter(|_| capture_message("x", Level::Error) == CaptureOutcome::SampledOut)
                .count()
        },
    );
    let kept = events.len();
    assert_eq!(kept + sampled_out, n);
    assert!((1_810..=2_190).contains(&kept), "kept {kept} of {n}");
}

#[test]
fn before_send_changes_the_fingerprint_or_drops() {
    let server = MockServer::start();
    let options = sync_options(&server).before_send(|mut e: Event| {
        if e.title().contains("drop me") {
            return None;
        }
        e.fingerprint = vec!["db".into(), "timeout".into()];
        Some(e)
    });
    let (kept, dropped) = with_client(options, || {
        (
            capture_message("keep me", Level::Error),
            capture_message("drop me", Level::Error),
        )
    });
    assert!(matches!(kept, CaptureOutcome::Sent { .. }));
    assert_eq!(dropped, CaptureOutcome::DroppedByBeforeSend);
    let event = server.expect_single_event();
    assert_eq!(event["fingerprint"], serde_json::json!(["db", "timeout"]));
}

#[test]
fn after_send_sees_every_sent_event_and_its_outcome() {
    let server = MockServer::start();
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let options = sync_options(&server).after_send({
        let seen = seen.clone();
        move |e: &Event, o: &CaptureOutcome| seen.lock().unwrap().push((e.title(), o.is_accepted()))
    });
    with_client(options, || {
        capture_message("one", Level::Error);
        capture_message("two", Level::Error);
    });
    assert_eq!(
        *seen.lock().unwrap(),
        [("one".to_owned(), true), ("two".to_owned(), true)]
    );
}

#[test]
fn filter_excludes_by_event_and_source() {
    let server = MockServer::start();
    let sources: Arc<Mutex<Vec<EventSource>>> = Arc::default();
    let options = sync_options(&server).filter({
        let sources = sources.clone();
        move |e: &Event, s: EventSource| {
            sources.lock().unwrap().push(s);
            e.title().contains("noisy")
        }
    });
    let (noisy, real) = with_client(options, || {
        (
            capture_message("noisy client disconnect", Level::Error),
            capture_message("real", Level::Error),
        )
    });
    assert_eq!(noisy, CaptureOutcome::Filtered);
    assert!(matches!(real, CaptureOutcome::Sent { .. }));
    assert_eq!(
        *sources.lock().unwrap(),
        [EventSource::Capture, EventSource::Capture]
    );
    assert_eq!(
        server.expect_single_event()["logentry"]["formatted"],
        "real"
    );
}

#[test]
fn background_mode_queues_then_delivers() {
    let server = MockServer::start();
    let options = ClientOptions::new().use_env(false).dsn(server.dsn());
    let outcome = with_client(options, || capture_message("later", Level::Info));
    assert!(
        matches!(outcome, CaptureOutcome::Queued { .. }),
        "{outcome:?}"
    );
    let events = server.wait_for_events(1, Duration::from_secs(10));
    assert_eq!(
        events[0]["event_id"].as_str(),
        outcome
            .event_id()
            .map(|id| id.simple().to_string())
            .as_deref()
    );
}

#[test]
fn no_retry_on_400() {
    let server = MockServer::start();
    server.respond_with(watchpost::testing::MockResponse::status(400));
    let outcome = with_client(sync_options(&server).send_max_attempts(4), || {
        capture_message("x", Level::Error)
    });
    assert!(
        matches!(outcome, CaptureOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert_eq!(event_requests(&server), 1);
}
