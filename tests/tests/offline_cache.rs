//! The offline cache (`cache_dir`): envelopes on disk survive an outage and a SIGKILL, are
//! delivered exactly once by the next run, and the cache stays within its caps.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::net::closed_port_dsn;
use watchpost::protocol::Envelope;
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::{capture_message, CaptureOutcome, ClientOptions, DropReason, Level};

const CHILD: &str = env!("CARGO_BIN_EXE_transport_child");

/// The envelope files in the cache directory (temporary files left out).
fn cached_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "envelope"))
        .collect();
    files.sort();
    files
}

/// Event id → how many times the server received it with a 2xx (every answer is 200 here).
fn received(server: &MockServer) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in server.requests() {
        if let (Some(id), Some(_)) = (r.event_id(), r.event()) {
            *out.entry(id.to_owned()).or_default() += 1;
        }
    }
    out
}

#[test]
fn events_written_before_a_sigkill_are_delivered_exactly_once_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_str().unwrap();

    // Run 1: the server is down; killed with SIGKILL halfway through 1,000 captures.
    let mut child = Command::new(CHILD)
        .args(["offline-write", &closed_port_dsn(), cache, "1000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut captured = 0;
    for line in stdout.lines() {
        if line.unwrap().starts_with("captured ") {
            captured += 1;
        }
        if captured == 500 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix.
    child.wait().unwrap();
    assert_eq!(captured, 500);

    // What run 1 wrote: complete envelopes, none with `sent_at`.
    let mut written = BTreeSet::new();
    for path in cached_files(dir.path()) {
        let env = Envelope::parse(&std::fs::read(&path).unwrap()).unwrap();
        assert!(
            env.headers().get("sent_at").is_none(),
            "{path:?} has sent_at"
        );
        assert!(env.event().is_some());
        written.insert(env.headers()["event_id"].as_str().unwrap().to_owned());
    }
    assert!(
        written.len() >= 250,
        "only {} of 500 captured events were written",
        written.len()
    );
    // A file that is not an envelope (a power cut, a disk error) sorts first: skipped, counted.
    std::fs::write(
        dir.path()
            .join("00000000000000000001-1-000000-error.envelope"),
        b"garbage",
    )
    .unwrap();

    // Run 2: the server is up; the cache drains.
    let server = MockServer::start();
    let out = Command::new(CHILD)
        .args(["offline-drain", &server.dsn(), cache, "120"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap(),
    )
    .unwrap();
    eprintln!("drain: {r}");
    // At start the cache held every written envelope and the corrupt file (which the worker
    // may already have discarded when the counter was read).
    let initial = r["initial_cached"].as_u64().unwrap() as usize;
    assert!(
        (written.len()..=written.len() + 1).contains(&initial),
        "{initial}"
    );
    assert_eq!(r["stats"]["cached"], 0);
    assert_eq!(r["stats"]["sent"].as_u64().unwrap() as usize, written.len());
    assert_eq!(
        r["stats"]["dropped"]["internal_sdk_error/error"], 1,
        "the corrupt file"
    );

    let got = received(&server);
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        written,
        "every written event arrived"
    );
    assert!(got.values().all(|n| *n == 1), "each exactly once");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the cache ends empty"
    );
}

#[test]
fn a_burst_beyond_both_queues_is_counted_not_written_by_the_capturing_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start();
    server.set_default(MockResponse::ok().delay(Duration::from_millis(20)));
    let opts = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .queue_capacity(5)
        .cache_dir(dir.path());
    let (kept, stats) = with_client(opts, || {
        let mut kept = BTreeSet::new();
        for i in 0..100 {
            match capture_message(format!("burst {i}"), Level::Error) {
                CaptureOutcome::Queued { event_id } => {
                    kept.insert(event_id.simple().to_string());
                }
                CaptureOutcome::QueueFull { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(watchpost::flush(Duration::from_secs(60)));
        (kept, watchpost::stats())
    });
    // Both queues (5 each) were full: the rest was dropped and counted at once instead of
    // being written to disk on the capturing thread.
    assert!(kept.len() >= 10, "{}", kept.len());
    assert_eq!(stats.sent as usize, kept.len(), "{stats:?}");
    assert_eq!(
        stats.dropped_for(DropReason::QueueOverflow) as usize,
        100 - kept.len()
    );
    assert_eq!(stats.cached, 0);
    let got = received(&server);
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), kept);
    assert!(got.values().all(|n| *n == 1));
    assert!(cached_files(dir.path()).is_empty());
}

#[test]
fn the_spill_writer_takes_the_overflow_off_the_capturing_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start();
    // The worker is held up by the first send while the burst fills the queue (200) and the
    // spill writer's queue (200, the same length). At the application's priority the worker
    // has no booster (a second consumer of the queue), so only it takes from the queue.
    server.respond_with(MockResponse::ok().delay(Duration::from_secs(2)));
    let finished_on = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let record = finished_on.clone();
    let opts = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .queue_capacity(200)
        .lower_thread_priority(false)
        .cache_dir(dir.path())
        .before_send(move |event: watchpost::Event| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            *record.lock().unwrap().entry(name).or_default() += 1;
            Some(event)
        });
    let caller = std::thread::current().name().unwrap_or("").to_owned();
    let (ids, stats) = with_client(opts, || {
        let ids: BTreeSet<String> = (0..400)
            .map(|i| {
                let o = capture_message(format!("burst {i}"), Level::Error);
                assert!(matches!(o, CaptureOutcome::Queued { .. }), "{o:?}");
                o.event_id().unwrap().simple().to_string()
            })
            .collect();
        assert!(watchpost::flush(Duration::from_secs(30)));
        let start = Instant::now();
        while watchpost::stats().sent < 400 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        (ids, watchpost::stats())
    });
    assert_eq!(
        (stats.sent, stats.cached, stats.dropped_total()),
        (400, 0, 0),
        "{stats:?}"
    );
    let got = received(&server);
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(got.values().all(|n| *n == 1));
    let finished_on = finished_on.lock().unwrap().clone();
    assert_eq!(finished_on.values().sum::<usize>(), 400, "{finished_on:?}");
    assert!(
        !finished_on.contains_key(&caller),
        "the capturing thread finished none: {finished_on:?}"
    );
    // At most the queue plus the one being sent went through the worker; the rest were spilled.
    assert!(
        finished_on.get("sentry-spill").copied().unwrap_or(0) >= 199,
        "{finished_on:?}"
    );
}

#[test]
fn the_cache_keeps_its_cap_and_counts_what_it_evicts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ClientOptions::new()
        .dsn(closed_port_dsn())
        .use_env(false)
        .send_max_attempts(1)
        .cache_dir(dir.path())
        .cache_max_envelopes(10);
    let stats = with_client(opts, || {
        for i in 0..30 {
            capture_message(format!("outage {i}"), Level::Error);
        }
        // The queue drains, but the dead server takes nothing: flush says so.
        assert!(!watchpost::flush(Duration::from_secs(2)));
        watchpost::stats()
    });
    assert_eq!(stats.cached, 10);
    assert_eq!(stats.dropped_for(DropReason::CacheOverflow), 20);
    assert_eq!(
        stats.dropped_total(),
        20,
        "nothing else dropped: kept for later"
    );
    assert_eq!(cached_files(dir.path()).len(), 10);
}
