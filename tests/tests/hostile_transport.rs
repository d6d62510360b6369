//! The transport against servers that try to hurt it or the application: a redirect to another
//! host (which would get the DSN's secret and fake a delivery), malformed DSNs that hold a
//! secret, a 5xx on the envelope a client report rides on, and a server that accepts
//! connections and never answers. Each test uses the real HTTP stack: the SDK's ureq client
//! against the loopback `MockServer` (hyper).

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use serde_json::Value;
use std::time::{Duration, Instant};
use watchpost::testing::{with_client, MockResponse, MockServer, ReceivedRequest};
use watchpost::{capture_message, ClientOptions, DropReason, Level, TransportStats};

const FLUSH: Duration = Duration::from_secs(15);

fn options(dsn: &str) -> ClientOptions {
    ClientOptions::new()
        .dsn(dsn)
        .use_env(false)
        .http_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .shutdown_timeout(Duration::from_secs(2))
}

fn dropped(stats: &TransportStats, reason: DropReason) -> u64 {
    stats
        .dropped
        .get(&(reason, "error".to_owned()))
        .copied()
        .unwrap_or(0)
}

/// Polls `done` until it holds or `deadline` passes; true when it held.
fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every place of a received request a secret could hide in, but the auth header.
fn everything_but_the_auth_header(r: &ReceivedRequest) -> String {
    let headers: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("x-sentry-auth"))
        .collect();
    format!(
        "{} {} {:?} {headers:?} {}",
        r.method,
        r.path,
        r.query,
        String::from_utf8_lossy(&r.body)
    )
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_counts_as_send_error() {
    let elsewhere = MockServer::start();
    let sentry = MockServer::start();
    sentry.set_default(
        MockResponse::status(302).header("Location", format!("{}/stolen", elsewhere.url())),
    );
    let stats = with_client(options(&sentry.dsn_with_secret()), || {
        for i in 0..3 {
            capture_message(format!("redirected {i}"), Level::Error);
        }
        assert!(watchpost::flush(FLUSH), "flush timed out");
        watchpost::stats()
    });
    // The flush returned: every envelope got its answer, nothing is still on its way.
    let stolen: Vec<_> = elsewhere
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{} {} auth: {:?}",
                r.method,
                r.path,
                r.header("x-sentry-auth")
            )
        })
        .collect();
    assert!(stolen.is_empty(), "the redirect was followed: {stolen:?}");
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(dropped(&stats, DropReason::SendError), 3, "{stats:?}");
    let requests = sentry.requests();
    assert!(requests.len() >= 3);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert!(r
            .header("x-sentry-auth")
            .is_some_and(|h| h.contains("sentry_secret=secret")));
        assert!(!everything_but_the_auth_header(r).contains(MockServer::SECRET_KEY));
    }
}

#[test]
fn malformed_dsns_with_a_secret_never_show_it_in_the_init_error() {
    for dsn in [
        "pub:TOPSECRET@host/1",
        "http//pub:TOPSECRET@h/1",
        "http://pub:TOPSECRET/1",
        "http://pub:TOPSECRET@host",
        "https://pub:TOPSECRET@host:port/1",
        "ftp://pub:TOPSECRET@host/1",
        "http://pub:TOPSECRET@ho st/1",
    ] {
        let err = match watchpost::init(ClientOptions::new().dsn(dsn).use_env(false)) {
            Err(err) => err,
            Ok(_) => panic!("{dsn:?} was accepted"),
        };
        let shown = err.to_string();
        assert!(
            shown.contains("DSN"),
            "{shown:?} does not say what is wrong"
        );
        for text in [shown, format!("{err:?}")] {
            assert!(!text.contains("TOPSECRET"), "{dsn:?} gave {text:?}");
        }
    }
}

/// (reason, category) → quantity, summed over the client reports of `requests`.
fn reported(requests: &[ReceivedRequest]) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = Vec::new();
    for report in requests.iter().flat_map(|r| r.items_json("client_report")) {
        for d in report["discarded_events"].as_array().into_iter().flatten() {
            let reason = d["reason"].as_str().unwrap_or("").to_owned();
            let category = d["category"].as_str().unwrap_or("").to_owned();
            let n = d["quantity"].as_u64().unwrap_or(0);
            match out
                .iter_mut()
                .find(|(r, c, _)| *r == reason && *c == category)
            {
                Some(slot) => slot.2 += n,
                None => out.push((reason, category, n)),
            }
        }
    }
    out
}

#[test]
fn client_reports_survive_a_5xx_on_the_envelope_they_rode_on() {
    let server = MockServer::start();
    // The first event is rejected (a drop to report); the second, which carries that report,
    // gets a 500 on both attempts; every later request gets 200.
    server.respond_with(MockResponse::status(413));
    server.respond_with_many(2, MockResponse::status(500));
    let opts = options(&server.dsn()).send_max_attempts(2);
    let requests = with_client(opts, || {
        capture_message("rejected", Level::Error);
        assert_eq!(server.wait_for_requests(1, FLUSH).len(), 1);
        capture_message("carries the report", Level::Error);
        assert_eq!(server.wait_for_requests(3, FLUSH).len(), 3);
        // No flush and no other event: the counts must go out on their own, well before the
        // 30 s report interval.
        server.wait_for_requests(4, Duration::from_secs(15))
    });
    assert!(
        requests.len() >= 4,
        "the report never came back: {} requests",
        requests.len()
    );
    let rode_along: Vec<Value> = requests[1].items_json("client_report");
    assert_eq!(rode_along.len(), 1, "the report rode on the second event");
    assert!(requests[1].event().is_some());
    // Only what the server accepted counts: requests 0..3 got 413, 500, 500.
    assert_eq!(
        reported(&requests[3..]),
        vec![("send_error".to_owned(), "error".to_owned(), 2)],
        "both rejected events reported once, none lost"
    );
}

/// Captures three events against a server that accepts connections and never answers, and
/// returns how long until all three were settled (by `settled`) and the stats then.
fn against_a_silent_server(
    opts: impl FnOnce(&str) -> ClientOptions,
    settled: fn(&TransportStats) -> bool,
) -> (Duration, TransportStats, usize) {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let timeout = Duration::from_secs(2);
    let (took, stats) = with_client(opts(&server.dsn()).http_timeout(timeout), || {
        let start = Instant::now();
        for i in 0..3 {
            capture_message(format!("into the void {i}"), Level::Error);
        }
        // The first send times out; the two queued behind it must not each wait out more
        // timeouts. Bound: two timeouts and slack (four attempts would take over 8 s).
        let bound = 2 * timeout + Duration::from_secs(1);
        let done = wait_until(start + bound, || settled(&watchpost::stats()));
        let took = start.elapsed();
        let stats = watchpost::stats();
        assert!(done, "the queue was blocked for {took:?}: {stats:?}");
        (took, stats)
    });
    (took, stats, server.requests().len())
}

#[test]
fn a_server_that_never_answers_blocks_the_queue_for_one_timeout_at_most() {
    let (took, stats, requests) =
        against_a_silent_server(options, |s| dropped(s, DropReason::NetworkError) == 3);
    eprintln!("three events settled in {took:?} against a silent server");
    assert_eq!(
        stats.retried, 0,
        "a timeout is not retried inline: {stats:?}"
    );
    assert_eq!(stats.sent, 0);
    assert_eq!(requests, 1, "one request, then the transport paused");
}

#[test]
fn with_a_cache_events_behind_a_silent_server_go_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_owned();
    let (took, stats, _) = against_a_silent_server(
        move |dsn| options(dsn).cache_dir(cache),
        // Written ahead of each attempt, so all three are cached once the worker took the
        // last one from the queue.
        |s| s.queue_depth == 0 && s.cached == 3,
    );
    eprintln!("three events cached in {took:?} behind a silent server");
    assert_eq!(stats.dropped_total(), 0, "kept, not dropped: {stats:?}");
}
