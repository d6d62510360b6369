//! The transport against a server that fails in every way we know of, one test per fault:
//! what was delivered, what was counted, and the client report that reached the server.
//!
//! Most faults are played by the real-HTTP `MockServer`; answers no HTTP stack would send
//! (garbage, a status line cut short, keep-alive connections closed under the client) come
//! from [`RawServer`], a few lines on `std::net`. Every test checks the balance: each captured
//! event ends delivered (`sent`) or dropped with a counted reason, never silently lost.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::net::closed_port_dsn;
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::{
    capture_message, capture_user_feedback, CaptureOutcome, ClientOptions, DropReason, Level,
    QueueOverflowPolicy, TransportStats, UserFeedback,
};

/// How long the transport waits before trying again after a send got no answer.
const OFFLINE_PAUSE: Duration = Duration::from_millis(1100);
const FLUSH: Duration = Duration::from_secs(15);

fn options(dsn: &str) -> ClientOptions {
    ClientOptions::new()
        .dsn(dsn)
        .use_env(false)
        .http_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .shutdown_timeout(Duration::from_secs(2))
}

/// Captures `n` messages, waits for the queue to drain, and returns their ids.
fn capture(n: usize) -> Vec<String> {
    let ids = (0..n)
        .map(|i| {
            let outcome = capture_message(format!("fault test {i}"), Level::Error);
            assert!(
                matches!(outcome, CaptureOutcome::Queued { .. }),
                "{outcome:?}"
            );
            outcome.event_id().map(|u| u.simple().to_string()).unwrap()
        })
        .collect();
    assert!(watchpost::flush(FLUSH), "flush timed out");
    ids
}

fn dropped(stats: &TransportStats, reason: DropReason) -> u64 {
    stats
        .dropped
        .get(&(reason, "error".to_owned()))
        .copied()
        .unwrap_or(0)
}

/// Every captured event is delivered or counted, nothing else.
fn assert_balanced(captured: usize, stats: &TransportStats) {
    assert_eq!(
        captured as u64,
        stats.sent + stats.dropped_total() + stats.cached + stats.queue_depth,
        "captured events must all be delivered or counted: {stats:?}"
    );
}

/// (reason, category) → quantity, summed over every client report the server received.
fn reported(reports: &[Value]) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for r in reports {
        for d in r["discarded_events"].as_array().into_iter().flatten() {
            let key = (
                d["reason"].as_str().unwrap_or("").to_owned(),
                d["category"].as_str().unwrap_or("").to_owned(),
            );
            *out.entry(key).or_default() += d["quantity"].as_u64().unwrap_or(0);
        }
    }
    out
}

fn key(reason: &str, category: &str) -> (String, String) {
    (reason.to_owned(), category.to_owned())
}

/// The event ids of the requests the mock server received.
fn event_ids(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.event().is_some())
        .filter_map(|r| r.event_id().map(str::to_owned))
        .collect()
}

// ---- Faults played by the mock server ----

#[test]
fn connection_refused_is_retried_then_counted_as_network_error() {
    let (ids, stats) = with_client(options(&closed_port_dsn()).send_max_attempts(3), || {
        let first = capture(1);
        // Right after an outage the transport does not try again at once: counted directly.
        let second = capture(1);
        ([first, second].concat(), watchpost::stats())
    });
    assert_eq!(stats.sent, 0);
    assert_eq!(
        stats.retried, 2,
        "three attempts for the first event, none for the second"
    );
    assert_eq!(dropped(&stats, DropReason::NetworkError), 2);
    assert_balanced(ids.len(), &stats);
}

#[test]
fn a_server_that_never_answers_times_out_and_flush_waits_at_most_its_timeout() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    // Two attempts allowed, but a timeout is not retried: one attempt of 2 s.
    let opts = options(&server.dsn())
        .http_timeout(Duration::from_secs(2))
        .send_max_attempts(2);
    let stats = with_client(opts, || {
        let outcome = capture_message("into the void", Level::Error);
        assert!(matches!(outcome, CaptureOutcome::Queued { .. }));
        let start = Instant::now();
        assert!(!watchpost::flush(Duration::from_millis(100)));
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "flush overran its timeout: {:?}",
            start.elapsed()
        );
        assert!(watchpost::flush(FLUSH));
        watchpost::stats()
    });
    assert_eq!(server.requests().len(), 1, "a timeout is not retried");
    assert_eq!((stats.sent, stats.retried), (0, 0));
    assert_eq!(dropped(&stats, DropReason::NetworkError), 1);
    assert_balanced(1, &stats);
}

#[test]
fn shutdown_waits_at_most_its_timeout_and_counts_what_it_leaves() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let opts = options(&server.dsn())
        .http_timeout(Duration::from_secs(30))
        .shutdown_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let ctx = with_client(opts, || {
        for i in 0..5 {
            capture_message(format!("left behind {i}"), Level::Error);
        }
        // The worker has taken the first one and hangs on it.
        server.wait_for_requests(1, Duration::from_secs(10));
        // The context keeps the client, to read its counters after the shutdown.
        watchpost::Context::current()
    });
    let took = start.elapsed();
    // A shutdown waiting for the stuck request would take 30 s.
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let stats = ctx.run(watchpost::stats);
    // The ones still queued are counted; the worker and the shutdown's drain thread may each
    // hold one in flight, counted when its request ends.
    let left = dropped(&stats, DropReason::NetworkError);
    assert!((3..=5).contains(&left), "{stats:?}");
    assert_eq!(stats.queue_depth, 0);
}

#[test]
fn a_500_then_200_is_retried_and_delivered_once() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(500));
    let (ids, stats) = with_client(options(&server.dsn()), || (capture(1), watchpost::stats()));
    assert_eq!(event_ids(&server), vec![ids[0].clone(), ids[0].clone()]);
    assert_eq!(
        (stats.sent, stats.retried, stats.dropped_total()),
        (1, 1, 0)
    );
    assert!(server.client_reports().is_empty(), "nothing was dropped");
}

#[test]
fn a_503_beyond_send_max_attempts_is_a_send_error_and_reported() {
    let server = MockServer::start();
    server.respond_with_many(3, MockResponse::status(503));
    let opts = options(&server.dsn()).send_max_attempts(3);
    let (ids, stats) = with_client(opts, || (capture(1), watchpost::stats()));
    assert_eq!(event_ids(&server), vec![ids[0].clone(); 3]);
    assert_eq!((stats.sent, stats.retried), (0, 2));
    assert_eq!(dropped(&stats, DropReason::SendError), 1);
    assert_balanced(1, &stats);
    // The server was up (it answered), so the flush sent the report on its own.
    let reports = reported(&server.client_reports());
    assert_eq!(
        reports.get(&key("send_error", "error")),
        Some(&1),
        "{reports:?}"
    );
}

#[test]
fn a_429_limited_to_errors_drops_events_but_other_categories_still_go() {
    let server = MockServer::start();
    server.respond_with(MockResponse::rate_limited(60, "error"));
    let (ids, stats) = with_client(options(&server.dsn()), || {
        let mut ids = capture(1);
        ids.extend(capture(2));
        capture_user_feedback(UserFeedback::new("still goes")).unwrap();
        assert!(watchpost::flush(FLUSH));
        (ids, watchpost::stats())
    });
    assert_eq!(
        event_ids(&server),
        vec![ids[0].clone()],
        "only the first event went out"
    );
    assert_eq!(dropped(&stats, DropReason::RatelimitBackoff), 3);
    assert_eq!(stats.sent, 1, "the feedback");
    assert_balanced(ids.len() + 1, &stats);
    assert!(server
        .requests()
        .iter()
        .any(|r| !r.items_json("feedback").is_empty()));
    let reports = reported(&server.client_reports());
    assert_eq!(
        reports.get(&key("ratelimit_backoff", "error")),
        Some(&3),
        "{reports:?}"
    );
}

#[test]
fn a_429_with_retry_after_blocks_every_category_until_it_passes() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(429).header("Retry-After", "1"));
    let (ids, stats) = with_client(options(&server.dsn()), || {
        let mut ids = capture(2);
        // Queued (the call never waits on the network), then dropped by the limit and counted.
        assert!(capture_user_feedback(UserFeedback::new("blocked")).is_ok());
        // Even the client report waits: its category is limited too.
        assert!(watchpost::flush(FLUSH));
        assert_eq!(server.requests().len(), 1);
        std::thread::sleep(Duration::from_millis(1100));
        ids.extend(capture(1));
        (ids, watchpost::stats())
    });
    assert_eq!(event_ids(&server), vec![ids[0].clone(), ids[2].clone()]);
    assert_eq!(dropped(&stats, DropReason::RatelimitBackoff), 2);
    assert_eq!(stats.sent, 1);
    assert_balanced(ids.len() + 1, &stats);
    let last = server.requests().pop().unwrap();
    let reports = reported(&last.items_json("client_report"));
    assert_eq!(
        reports.get(&key("ratelimit_backoff", "error")),
        Some(&2),
        "{reports:?}"
    );
    assert_eq!(
        reports.get(&key("ratelimit_backoff", "feedback")),
        Some(&1),
        "{reports:?}"
    );
}

#[test]
fn a_bare_429_blocks_everything_for_a_minute() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(429));
    let (ids, stats) = with_client(options(&server.dsn()), || {
        let mut ids = capture(1);
        ids.extend(capture(2));
        (ids, watchpost::stats())
    });
    assert_eq!(
        server.requests().len(),
        1,
        "no retry, nothing else sent, no client report"
    );
    assert_eq!(dropped(&stats, DropReason::RatelimitBackoff), 3);
    assert_balanced(ids.len(), &stats);
}

#[test]
fn a_413_is_not_retried_and_counted_as_send_error() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(413));
    let (_, stats) = with_client(options(&server.dsn()), || (capture(1), watchpost::stats()));
    assert_eq!((stats.retried, stats.sent), (0, 0));
    assert_eq!(dropped(&stats, DropReason::SendError), 1);
    assert_balanced(1, &stats);
    assert_eq!(event_ids(&server).len(), 1);
    let reports = reported(&server.client_reports());
    assert_eq!(
        reports.get(&key("send_error", "error")),
        Some(&1),
        "{reports:?}"
    );
}

#[test]
fn a_connection_closed_without_an_answer_is_retried() {
    let server = MockServer::start();
    server.respond_with(MockResponse::close_connection());
    let (ids, stats) = with_client(options(&server.dsn()), || (capture(1), watchpost::stats()));
    assert_eq!(event_ids(&server), vec![ids[0].clone(); 2]);
    assert_eq!(
        (stats.sent, stats.retried, stats.dropped_total()),
        (1, 1, 0)
    );
}

#[test]
fn client_reports_can_be_switched_off() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(413));
    let opts = options(&server.dsn()).send_client_reports(false);
    let stats = with_client(opts, || {
        capture(2);
        watchpost::stats()
    });
    assert_eq!(dropped(&stats, DropReason::SendError), 1);
    assert!(server.client_reports().is_empty());
}

#[test]
fn a_full_queue_drops_the_newest_counts_it_and_reports_it() {
    let server = MockServer::start();
    server.set_default(MockResponse::ok().delay(Duration::from_millis(200)));
    let opts = options(&server.dsn()).queue_capacity(2);
    let (outcomes, stats) = with_client(opts, || {
        let outcomes: Vec<CaptureOutcome> = (0..10)
            .map(|i| capture_message(format!("burst {i}"), Level::Error))
            .collect();
        assert!(watchpost::flush(FLUSH));
        (outcomes, watchpost::stats())
    });
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, CaptureOutcome::QueueFull { .. }))
        .count();
    assert!(full >= 6, "{full} of 10 did not fit a queue of 2");
    assert_eq!(dropped(&stats, DropReason::QueueOverflow), full as u64);
    assert_eq!(stats.sent as usize, 10 - full);
    assert_balanced(10, &stats);
    let reports = reported(&server.client_reports());
    assert_eq!(
        reports.get(&key("queue_overflow", "error")),
        Some(&(full as u64))
    );
}

#[test]
fn drop_oldest_keeps_the_latest_events() {
    let server = MockServer::start();
    server.set_default(MockResponse::ok().delay(Duration::from_millis(200)));
    let opts = options(&server.dsn())
        .queue_capacity(2)
        .queue_overflow_policy(QueueOverflowPolicy::DropOldest);
    let (ids, stats) = with_client(opts, || {
        let ids: Vec<String> = (0..10)
            .map(|i| {
                let o = capture_message(format!("burst {i}"), Level::Error);
                assert!(matches!(o, CaptureOutcome::Queued { .. }));
                o.event_id().unwrap().simple().to_string()
            })
            .collect();
        assert!(watchpost::flush(FLUSH));
        (ids, watchpost::stats())
    });
    let delivered = event_ids(&server);
    assert!(
        delivered.ends_with(&ids[8..]),
        "the last two were kept: {delivered:?}"
    );
    assert_eq!(
        dropped(&stats, DropReason::QueueOverflow) as usize,
        10 - delivered.len()
    );
    assert_balanced(10, &stats);
}

#[test]
fn gzip_bodies_decode_to_the_same_envelope() {
    let server = MockServer::start();
    // Over the 16 KiB threshold, in values short enough to be kept whole (Relay's limits).
    let long = "a long message that compresses well ".repeat(200);
    let (outcomes, _) = with_client(options(&server.dsn()), || {
        let opts = (0..3).fold(watchpost::CaptureOptions::new(), |o, i| {
            o.extra(format!("part{i}"), long.clone())
        });
        let big = watchpost::capture_message_with(long.clone(), Level::Error, opts);
        // Under the 16 KiB threshold.
        let small = capture_user_feedback(UserFeedback::new("short"));
        assert!(watchpost::flush(FLUSH));
        ((big, small), watchpost::stats())
    });
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let (big, small) = (&requests[0], &requests[1]);
    assert_eq!(big.header("content-encoding"), Some("gzip"));
    assert!(
        big.raw_body.len() * 4 < big.body.len(),
        "compressed {} → {}",
        big.body.len(),
        big.raw_body.len()
    );
    assert_eq!(big.decode_error, None);
    assert_eq!(
        big.event_id(),
        Some(outcomes.0.event_id().unwrap().simple().to_string().as_str())
    );
    assert_eq!(big.event().unwrap()["logentry"]["formatted"], long.as_str());
    assert_eq!(
        small.header("content-encoding"),
        None,
        "small bodies are sent as they are"
    );
    assert!(small.raw_body.len() < 16 * 1024);
    assert!(small
        .envelope
        .as_ref()
        .is_some_and(|e| e.items()[0].ty() == "feedback"));
}

// ---- Spotlight ----

#[test]
fn spotlight_gets_a_copy_of_each_envelope() {
    let server = MockServer::start();
    let spotlight = MockServer::start();
    let opts = options(&server.dsn()).spotlight_url(format!("{}/stream", spotlight.url()));
    let (ids, stats) = with_client(opts, || (capture(2), watchpost::stats()));
    assert_eq!(stats.sent, 2);
    let copies = spotlight.wait_for_events(2, Duration::from_secs(5));
    assert_eq!(copies.len(), 2);
    for r in spotlight.requests() {
        assert_eq!(r.path, "/stream");
        assert_eq!(
            r.header("content-type"),
            Some("application/x-sentry-envelope")
        );
        assert_eq!(
            r.header("x-sentry-auth"),
            None,
            "no credentials go to Spotlight"
        );
        assert!(ids.contains(&r.event_id().unwrap().to_owned()));
    }
}

#[test]
fn spotlight_down_or_stuck_never_affects_the_real_send() {
    let stuck = MockServer::start();
    stuck.set_default(MockResponse::never_answer());
    for url in [
        closed_port_dsn().replace("public@", ""),
        format!("{}/stream", stuck.url()),
    ] {
        let server = MockServer::start();
        let opts = options(&server.dsn()).spotlight_url(url);
        let start = Instant::now();
        let stats = with_client(opts, || {
            capture(5);
            watchpost::stats()
        });
        // A copy sent in line would cost 2 s (the Spotlight timeout) per event.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!((stats.sent, stats.dropped_total()), (5, 0));
        assert_eq!(event_ids(&server).len(), 5);
    }
}

#[test]
fn sentry_spotlight_env_var_turns_it_on() {
    let server = MockServer::start();
    let spotlight = MockServer::start();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_transport_child"))
        .args(["capture-one", &server.dsn()])
        .env("SENTRY_SPOTLIGHT", format!("{}/stream", spotlight.url()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let events = server.wait_for_events(1, Duration::from_secs(10)).len();
    let copies = spotlight.wait_for_events(1, Duration::from_secs(10)).len();
    // Closing stdin lets the child exit.
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!((events, copies), (1, 1));
}

// ---- Observability ----

/// Collects the `watchpost::transport` debug records (installed once per test binary).
struct Recorder(Mutex<Vec<String>>);

impl log::Log for Recorder {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("watchpost")
    }
    fn log(&self, r: &log::Record<'_>) {
        if r.target() == "watchpost::transport" {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn the_debug_option_logs_what_the_transport_does() {
    static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));
    let _ = log::set_logger(&RECORDER);
    log::set_max_level(log::LevelFilter::Debug);
    let server = MockServer::start();
    server.respond_with(MockResponse::status(500));
    with_client(options(&server.dsn()).debug(true), || capture(1));
    let lines = RECORDER.0.lock().unwrap().clone();
    let port = server.port().to_string();
    assert!(
        lines.iter().any(|l| l.contains(&port)),
        "the endpoint is logged: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("answered 500")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("retrying")), "{lines:#?}");
}

// ---- Faults no HTTP stack produces, on raw sockets ----

/// What [`RawServer`] does with the nth request (counting from 0).
#[derive(Clone, Copy)]
enum Reply {
    /// Writes these bytes and closes the connection.
    Broken(&'static [u8]),
    /// A proper `200` with `Connection: keep-alive`, then closes the connection anyway.
    OkThenClose,
    /// A proper `200`, connection kept.
    Ok,
}

/// A loopback HTTP server on raw sockets: reads each request fully, records its envelope, and
/// replies as `script` says.
struct RawServer {
    port: u16,
    envelopes: Arc<Mutex<Vec<watchpost::protocol::Envelope>>>,
    /// Connections the server has closed.
    closed: Arc<AtomicUsize>,
}

impl RawServer {
    fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let envelopes = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let seen = Arc::new(Mutex::new(0usize));
        let closed = Arc::new(AtomicUsize::new(0));
        let (env2, closed2) = (envelopes.clone(), closed.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (envelopes, script, seen) = (env2.clone(), script.clone(), seen.clone());
                let closed = closed2.clone();
                std::thread::spawn(move || {
                    serve(conn, &envelopes, &*script, &seen);
                    closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        RawServer {
            port,
            envelopes,
            closed,
        }
    }

    /// Waits until the server has closed `n` connections (panics after 10 s).
    fn wait_closed(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.closed.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the server closed no connection");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn dsn(&self) -> String {
        format!("http://public@127.0.0.1:{}/1", self.port)
    }

    fn event_ids(&self) -> Vec<String> {
        self.envelopes
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.event().is_some())
            .filter_map(|e| e.headers()["event_id"].as_str().map(str::to_owned))
            .collect()
    }

    fn client_reports(&self) -> Vec<Value> {
        self.envelopes
            .lock()
            .unwrap()
            .iter()
            .flat_map(|e| e.items().to_vec())
            .filter(|i| i.ty() == "client_report")
            .filter_map(|i| i.payload_json().ok())
            .collect()
    }
}

fn serve(
    conn: TcpStream,
    envelopes: &Mutex<Vec<watchpost::protocol::Envelope>>,
    script: &(dyn Fn(usize) -> Reply + Send + Sync),
    seen: &Mutex<usize>,
) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let (mut length, mut gzip, mut line) = (0usize, false, String::new());
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return; // The client closed the connection.
            }
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            gzip |= l.starts_with("content-encoding:") && l.contains("gzip");
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if gzip {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut raw)
                .unwrap();
            body = raw;
        }
        envelopes
            .lock()
            .unwrap()
            .push(watchpost::protocol::Envelope::parse(&body).unwrap());
        let n = {
            let mut seen = seen.lock().unwrap();
            *seen += 1;
            *seen - 1
        };
        const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}";
        match script(n) {
            Reply::Broken(bytes) => {
                let _ = conn.write_all(bytes);
                return;
            }
            Reply::OkThenClose => {
                let _ = conn.write_all(OK);
                std::thread::sleep(Duration::from_millis(20));
                return;
            }
            Reply::Ok => {
                let _ = conn.write_all(OK);
            }
        }
    }
}

/// The first two requests get `broken`, later ones a proper `200`: the broken answers count as
/// no answer (retried, then `network_error`), reported with the next envelope that goes out.
fn broken_answers_are_network_errors(broken: &'static [u8]) {
    let server = RawServer::start(move |n| {
        if n < 2 {
            Reply::Broken(broken)
        } else {
            Reply::Ok
        }
    });
    let opts = options(&server.dsn()).send_max_attempts(2);
    let (ids, stats) = with_client(opts, || {
        let mut ids = capture(1);
        std::thread::sleep(OFFLINE_PAUSE);
        ids.extend(capture(1));
        (ids, watchpost::stats())
    });
    assert_eq!(
        server.event_ids(),
        vec![ids[0].clone(), ids[0].clone(), ids[1].clone()]
    );
    assert_eq!((stats.sent, stats.retried), (1, 1));
    assert_eq!(dropped(&stats, DropReason::NetworkError), 1);
    assert_balanced(2, &stats);
    let reports = reported(&server.client_reports());
    assert_eq!(
        reports.get(&key("network_error", "error")),
        Some(&1),
        "{reports:?}"
    );
}

#[test]
fn a_garbage_response_is_a_network_error() {
    broken_answers_are_network_errors(b"this is not HTTP at all\r\n\r\n");
}

#[test]
fn a_truncated_status_line_is_a_network_error() {
    broken_answers_are_network_errors(b"HTTP/1.1 20");
}

#[test]
fn a_200_with_a_truncated_body_counts_as_delivered() {
    let server = RawServer::start(|_| {
        Reply::Broken(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"id\":")
    });
    let (ids, stats) = with_client(options(&server.dsn()), || (capture(1), watchpost::stats()));
    assert_eq!(
        server.event_ids(),
        ids,
        "the status says accepted: not sent again"
    );
    assert_eq!(
        (stats.sent, stats.retried, stats.dropped_total()),
        (1, 0, 0)
    );
}

#[test]
fn a_server_closing_keep_alive_connections_loses_nothing() {
    let server = RawServer::start(|_| Reply::OkThenClose);
    let (ids, stats) = with_client(options(&server.dsn()), || {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.extend(capture(1));
            // The server has closed the pooled connection.
            server.wait_closed(ids.len());
        }
        (ids, watchpost::stats())
    });
    assert_eq!(server.event_ids(), ids, "each event exactly once");
    assert_eq!((stats.sent, stats.dropped_total()), (5, 0));
}
