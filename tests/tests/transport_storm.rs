//! A capture storm against a server that never answers: 1,000,000 captures from 16 threads.
//!
//! It runs in a child process (`transport_child storm`) so that its peak memory (`VmHWM`) is its
//! own, not that of the other tests in this binary or of the mock server. Capture calls never
//! blocking is shown by the storm finishing at all: with a server that never answers, a
//! capture that waited on the network would never let a million calls through.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::Value;
use std::time::Instant;
use watchpost::testing::{MockResponse, MockServer};

/// Peak resident memory the storm child may reach, in KiB: the test binary's own baseline
/// (about 9 MiB), the default queue's memory budget (16 MiB, distinct events) and headroom for
/// the allocator and the 16 threads.
const STORM_PEAK_KIB: u64 = 40 * 1024;
/// What one queued message event may cost in resident memory once the queue is deep (events
/// then wait as JSON; as built, an `Event` alone is 830 bytes).
const BYTES_PER_QUEUED_EVENT: u64 = 640;
/// The same for an event that repeats the one before it but for its id and timestamp.
const BYTES_PER_QUEUED_REPEAT: u64 = 160;

fn run_child(args: &[&str]) -> Value {
    tests::child::run_for_result(env!("CARGO_BIN_EXE_transport_child"), args)
}

#[test]
fn a_million_captures_against_a_silent_server_never_block_never_bloat_and_are_all_counted() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let start = Instant::now();
    // The default queue length; the default memory budget (16 MiB) fills first.
    let r = run_child(&["storm", &server.dsn(), "16", "62500", "100000"]);
    eprintln!("storm: {r} (whole test {:?})", start.elapsed());

    let captured = r["captured"].as_u64().unwrap();
    assert_eq!(captured, 1_000_000);
    // Every call returned, with the event either queued or refused by the full queue.
    assert_eq!(
        r["queued"].as_u64().unwrap() + r["queue_full"].as_u64().unwrap(),
        captured
    );
    assert_eq!(r["other"], 0);
    assert_eq!(
        r["flushed"], true,
        "the queue drains once the server is known to be down"
    );

    let stats = &r["stats"];
    assert_eq!(stats["queue_depth"], 0);
    assert_eq!(stats["sent"], 0, "the server never answered");
    assert_eq!(
        stats["sent"].as_u64().unwrap() + stats["dropped_total"].as_u64().unwrap(),
        captured,
        "captured = delivered + counted drops, exactly"
    );
    assert_eq!(stats["dropped"]["queue_overflow/error"], r["queue_full"]);
    assert_eq!(stats["dropped"]["network_error/error"], r["queued"]);

    let peak = r["hwm_kib"].as_u64().unwrap();
    assert!(
        peak < STORM_PEAK_KIB,
        "peak RSS {peak} KiB over the {STORM_PEAK_KIB} KiB bound"
    );
}

#[test]
fn a_queued_event_costs_a_bounded_number_of_bytes() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let r = run_child(&["queue-memory", &server.dsn(), "20000"]);
    eprintln!("queue memory: {r}");
    assert_eq!(r["queued"], 20000);
    // The worker is stuck on the warm-up event, and the booster (woken by the deep queue) on
    // one of these.
    let depth = r["queue_depth"].as_u64().unwrap();
    assert!(
        (19_999..=20_000).contains(&depth),
        "queue depth {depth}: the worker and booster hold one event each at most"
    );
    let per_event = r["bytes_per_event"].as_u64().unwrap();
    assert!(
        per_event < BYTES_PER_QUEUED_EVENT,
        "{per_event} bytes per queued event (bound {BYTES_PER_QUEUED_EVENT})"
    );
}

#[test]
fn a_hundred_thousand_repeats_fit_the_default_queue() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let r = run_child(&["queue-memory", &server.dsn(), "100000", "repeat"]);
    eprintln!("queue memory, repeats: {r}");
    assert_eq!(r["queued"], 100_000, "the default budget holds them all");
    let per_event = r["bytes_per_event"].as_u64().unwrap();
    assert!(
        per_event < BYTES_PER_QUEUED_REPEAT,
        "{per_event} bytes per queued repeat (bound {BYTES_PER_QUEUED_REPEAT})"
    );
}
