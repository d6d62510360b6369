//! Shutdown, exit and full queues, as an unlucky application meets them: the process exits while
//! every CPU is busy, the shutdown timeout runs out with events still queued, user callbacks
//! block the SDK's threads while the application keeps capturing. Events arrive or are counted
//! and reported; the capturing thread never waits.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::Value;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchpost::testing::{MockResponse, MockServer};
use watchpost::{capture_message, CaptureOutcome, ClientOptions, DropReason, Level};

fn run_child(args: &[&str]) -> Value {
    tests::child::run_for_result(env!("CARGO_BIN_EXE_transport_child"), args)
}

#[test]
fn events_captured_before_exit_arrive_while_every_cpu_is_busy() {
    let server = MockServer::start();
    // 16 spinning threads per CPU at the application's priority. The shutdown's drain thread
    // runs at that priority too (the worker, 10 nice steps down, gets a tenth of its share);
    // The worker unit test `shutdown_delivers_the_queue_when_the_worker_gets_no_cpu`
    // takes the worker out entirely.
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = (cpus * 16).to_string();
    let r = run_child(&["exit-under-load", &server.dsn(), "4", &busy]);
    assert_eq!(r["stats"]["sent"], 4, "{r}");
    let events = server.events();
    assert_eq!(events.len(), 4, "{r}");
}

#[test]
fn what_shutdown_leaves_behind_is_reported_to_the_server_and_readable_afterwards() {
    let server = MockServer::start();
    server.set_default(MockResponse::ok().delay(Duration::from_millis(50)));
    let opts = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .shutdown_timeout(Duration::from_millis(800));
    let guard = watchpost::init(opts).unwrap();
    for i in 0..2000 {
        capture_message(format!("queued {i}"), Level::Error);
    }
    let closed = guard.close();
    let left = closed.dropped_for(DropReason::NetworkError);
    assert!(left > 0, "{closed:?}");
    // Sent, counted, or (at most two) still in flight on the worker and the drain thread.
    let accounted = closed.sent + left;
    assert!((1998..=2000).contains(&accounted), "{closed:?}");
    // The same counters once the guard is gone.
    assert_eq!(watchpost::stats(), closed);
    // The last client report carried the shutdown's drops.
    let reported: u64 = server
        .client_reports()
        .iter()
        .flat_map(|r| {
            r["discarded_events"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|d| d["reason"] == "network_error")
        .map(|d| d["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, left, "{:?}", server.client_reports());
}

#[test]
fn capturing_never_waits_on_a_blocked_callback_even_with_both_queues_full() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start();
    let (release_tx, release_rx) = channel::<()>();
    let release = Arc::new(Mutex::new(release_rx));
    // `before_send` blocks the worker and the spill writer until released.
    let opts = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .queue_capacity(10)
        .cache_dir(dir.path())
        .before_send(move |event: watchpost::Event| {
            let _ = release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(30));
            Some(event)
        });
    let guard = watchpost::init(opts).unwrap();
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        let outcomes: Vec<CaptureOutcome> = (0..200)
            .map(|i| capture_message(format!("blocked {i}"), Level::Error))
            .collect();
        let _ = done_tx.send(outcomes);
    });
    let outcomes = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a capture waited on the blocked callback");
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, CaptureOutcome::QueueFull { .. }))
        .count();
    assert!(full >= 170, "{full} of 200 dropped at once");
    drop(release_tx);
    let stats = guard.close();
    assert_eq!(stats.dropped_for(DropReason::QueueOverflow), full as u64);
}
