//! The testing kit (`watchpost::testing`): in-memory capture under parallel tests, and the
//! loopback mock server driving the real HTTP transport through success, retries, rate limits
//! and timeouts.
//!
//! Only one test here calls `init` (the README example); every other one binds its client to a
//! context of its own, so they run in parallel without seeing each other's events.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use watchpost::testing::{
    with_captured_envelopes, with_captured_events, with_client, EventCapture, MockResponse,
    MockServer,
};
use watchpost::{capture_message, CaptureOutcome, ClientOptions, Level, SendError, SendResult};

/// Sync sending to `server`, one attempt, short timeouts.
fn sync_options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .send_max_attempts(1)
        .http_timeout(Duration::from_secs(5))
}

/// Runs `f`, which must panic, inside a capture (so a panic hook installed by the `init` test
/// cannot send the panic to that test's server), and returns the panic message.
fn panic_message(f: impl FnOnce()) -> String {
    let (result, _) =
        with_captured_events(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    let payload = result.expect_err("the assertion should have failed");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
    }
}

// ---- The README example (the Elixir client's "Testing with Sentry", in Rust) ----

/// Adds two numbers given as text. Bad input is reported to Sentry and gives `None`;
/// it never panics.
fn add(a: &str, b: &str) -> Option<i64> {
    match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        (Ok(a), Ok(b)) => a.checked_add(b),
        (Err(err), _) | (_, Err(err)) => {
            watchpost::capture_error(&err);
            None
        }
    }
}

#[test]
fn add_does_not_panic_but_sends_an_event_to_sentry_when_given_bad_input() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().body(r#"{"id": "340"}"#));

    let _guard = watchpost::init(
        ClientOptions::new()
            .dsn(server.dsn_with_secret())
            .send_result(SendResult::Sync),
    )
    .expect("valid Sentry options");

    assert_eq!(add("1", "a"), None);

    let event = server.expect_single_event();
    assert_eq!(event["exception"]["values"][0]["type"], "ParseIntError");
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/1/envelope/");
    server.assert_auth_header();
}

#[test]
fn add_reports_bad_input_with_a_client_of_its_own() {
    let server = MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync);

    let sum = with_client(options, || add("1", "a"));

    assert_eq!(sum, None);
    let event = server.expect_single_event();
    assert_eq!(event["exception"]["values"][0]["type"], "ParseIntError");
    assert_eq!(
        event["exception"]["values"][0]["value"],
        "invalid digit found in string"
    );
}

#[test]
fn add_in_memory() {
    let (sum, events) = with_captured_events(|| add("1", "a"));

    assert_eq!(sum, None);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].title(),
        "ParseIntError: invalid digit found in string"
    );
}

// ---- In-memory capture ----

#[test]
fn parallel_captures_each_see_only_their_own_events() {
    const THREADS: usize = 8;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                with_captured_events(|| {
                    barrier.wait();
                    for i in 0..5 {
                        capture_message(format!("thread {t} message {i}"), Level::Info);
                        std::thread::yield_now();
                    }
                })
                .1
            })
        })
        .collect();
    for (t, handle) in handles.into_iter().enumerate() {
        let titles: Vec<String> = handle
            .join()
            .expect("capture thread")
            .iter()
            .map(|e| e.title())
            .collect();
        let want: Vec<String> = (0..5).map(|i| format!("thread {t} message {i}")).collect();
        assert_eq!(titles, want);
    }
}

#[test]
fn a_capture_carried_into_a_thread_sees_its_events() {
    let capture = EventCapture::new();
    capture.run(|| {
        let ctx = watchpost::Context::current().fork();
        std::thread::spawn(move || ctx.run(|| capture_message("carried", Level::Info)))
            .join()
            .expect("thread");
    });
    let titles: Vec<String> = capture.events().iter().map(|e| e.title()).collect();
    assert_eq!(titles, ["carried"]);
}

#[test]
fn captured_envelopes_carry_the_event_id_header() {
    let (outcome, envelopes) =
        with_captured_envelopes(ClientOptions::new(), || capture_message("x", Level::Info));
    let id = outcome
        .event_id()
        .expect("an event id")
        .simple()
        .to_string();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0].headers()["event_id"], id.as_str());
}

// ---- The mock server and the real transport ----

#[test]
fn sync_capture_returns_the_server_id() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().body(r#"{"id":"from-the-server"}"#));

    let outcome = with_client(sync_options(&server), || {
        capture_message("hello", Level::Info)
    });

    let CaptureOutcome::Sent {
        event_id,
        server_id,
    } = outcome
    else {
        panic!("not sent: {outcome:?}")
    };
    assert_eq!(server_id.as_deref(), Some("from-the-server"));
    let event = server.expect_single_event();
    assert_eq!(event["event_id"], event_id.simple().to_string());
    assert_eq!(event["logentry"]["formatted"], "hello");
    let request = &server.requests()[0];
    assert_eq!(
        request.header("content-type"),
        Some("application/x-sentry-envelope")
    );
    server.assert_auth_header();
}

#[test]
fn the_default_answer_echoes_the_event_id() {
    let server = MockServer::start();
    let outcome = with_client(sync_options(&server), || {
        capture_message("hello", Level::Info)
    });
    let CaptureOutcome::Sent {
        event_id,
        server_id,
    } = outcome
    else {
        panic!("not sent: {outcome:?}")
    };
    assert_eq!(server_id, Some(event_id.simple().to_string()));
}

#[test]
fn a_500_is_retried_and_the_event_then_accepted() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(500));

    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .send_max_attempts(2);
    let (outcome, stats) = with_client(options, || {
        let outcome = capture_message("retry me", Level::Error);
        (outcome, watchpost::stats())
    });

    assert!(outcome.is_accepted(), "{outcome:?}");
    assert_eq!((stats.retried, stats.sent), (1, 1));
    // The same envelope twice: answered 500, then accepted.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].event_id(), requests[1].event_id());
}

#[test]
fn a_429_with_rate_limits_fails_and_the_next_event_is_dropped_before_sending() {
    let server = MockServer::start();
    server.respond_with(MockResponse::rate_limited(60, "error"));

    let (first, second) = with_client(sync_options(&server).send_max_attempts(3), || {
        (
            capture_message("first", Level::Error),
            capture_message("second", Level::Error),
        )
    });

    let CaptureOutcome::Failed {
        error: SendError::Status { status, .. },
        ..
    } = first
    else {
        panic!("expected a 429 failure: {first:?}");
    };
    assert_eq!(status, 429);
    assert!(
        matches!(
            second,
            CaptureOutcome::Failed {
                error: SendError::RateLimited { .. },
                ..
            }
        ),
        "{second:?}"
    );
    // Never retried, and the second event never left the process: the only other request is
    // the last client report, which tells the server about it.
    assert_eq!(server.events().len(), 1);
    assert_eq!(server.requests().len(), 2);
    let reported = server.client_reports();
    assert_eq!(
        reported[0]["discarded_events"][0]["reason"], "ratelimit_backoff",
        "{reported:?}"
    );
}

#[test]
fn a_server_that_never_answers_makes_the_send_time_out_quickly() {
    let server = MockServer::start();
    server.respond_with(MockResponse::never_answer());

    let start = Instant::now();
    let outcome = with_client(
        sync_options(&server).http_timeout(Duration::from_millis(300)),
        || capture_message("lost", Level::Error),
    );

    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    let CaptureOutcome::Failed {
        error: SendError::Network(err),
        ..
    } = &outcome
    else {
        panic!("expected a network error: {outcome:?}");
    };
    assert_eq!(err.kind(), watchpost::HttpErrorKind::TimedOut, "{err}");
    assert!(
        std::error::Error::source(err).is_some(),
        "keeps ureq's error"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the request arrived, it was only never answered"
    );

    // Stopping the server does not wait for the held connection.
    let start = Instant::now();
    drop(server);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "stopping took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_closed_connection_is_a_network_error_that_is_retried() {
    let server = MockServer::start();
    server.respond_with(MockResponse::close_connection());

    let outcome = with_client(sync_options(&server).send_max_attempts(2), || {
        capture_message("again", Level::Error)
    });

    assert!(
        matches!(outcome, CaptureOutcome::Sent { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.requests().len(), 2);
    server.assert_event_count(2);
}

#[test]
fn a_delayed_answer_arrives_late() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().delay(Duration::from_millis(300)));

    let start = Instant::now();
    let outcome = with_client(sync_options(&server), || {
        capture_message("slow", Level::Info)
    });

    assert!(outcome.is_accepted(), "{outcome:?}");
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn background_events_are_delivered_when_with_client_returns() {
    let server = MockServer::start();
    let options = ClientOptions::new().dsn(server.dsn());

    let outcomes = with_client(options, || {
        (0..3)
            .map(|i| capture_message(format!("bg {i}"), Level::Info))
            .collect::<Vec<_>>()
    });

    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, CaptureOutcome::Queued { .. })),
        "{outcomes:?}"
    );
    assert_eq!(
        server.events().len(),
        3,
        "with_client flushes before returning"
    );
}

#[test]
fn wait_for_events_returns_once_enough_arrived() {
    let server = MockServer::start();
    let dsn = server.dsn();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        with_client(ClientOptions::new().dsn(dsn), || {
            capture_message("later", Level::Info)
        });
    });
    let events = server.wait_for_events(1, Duration::from_secs(10));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["logentry"]["formatted"], "later");
    sender.join().expect("sender thread");
    assert_eq!(
        server.wait_for_requests(2, Duration::from_millis(50)).len(),
        1,
        "times out with what came"
    );
}

#[test]
fn large_bodies_arrive_gzipped_and_are_decoded() {
    let server = MockServer::start();
    let long = "x".repeat(8_000);
    with_client(sync_options(&server), || {
        // Over the 16 KiB threshold: the message and two extra values of 8,000 characters.
        let opts = watchpost::CaptureOptions::new()
            .extra("a", long.clone())
            .extra("b", long.clone());
        watchpost::capture_message_with(long.clone(), Level::Info, opts)
    });

    let request = &server.requests()[0];
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert!(request.raw_body.len() < request.body.len());
    assert_eq!(
        server.expect_single_event()["logentry"]["formatted"],
        long.as_str()
    );
}

#[test]
fn client_reports_ride_along_with_the_next_envelope() {
    let server = MockServer::start();
    let options = sync_options(&server).before_send(|event: watchpost::Event| {
        let dropped =
            event.logentry.as_ref().and_then(|l| l.formatted.as_deref()) == Some("drop me");
        (!dropped).then_some(event)
    });

    with_client(options, || {
        capture_message("drop me", Level::Info);
        capture_message("keep me", Level::Info);
    });

    let reports = server.client_reports();
    assert_eq!(reports.len(), 1);
    let discarded = &reports[0]["discarded_events"][0];
    assert_eq!(discarded["reason"], "before_send");
    assert_eq!(discarded["category"], "error");
    assert_eq!(discarded["quantity"], 1);
}

#[test]
fn the_secret_dsn_sends_the_secret() {
    let server = MockServer::start();
    let options = sync_options(&server).dsn(server.dsn_with_secret());
    with_client(options, || capture_message("s", Level::Info));
    let auth = server.requests()[0]
        .header("x-sentry-auth")
        .expect("auth header")
        .to_owned();
    assert!(auth.contains("sentry_secret=secret"), "{auth}");
}

#[test]
fn clear_forgets_requests_but_keeps_the_script() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok());
    server.respond_with(MockResponse::status(500));
    with_client(sync_options(&server), || {
        capture_message("one", Level::Info)
    });
    server.clear();
    assert!(server.requests().is_empty());
    let outcome = with_client(sync_options(&server), || {
        capture_message("two", Level::Info)
    });
    assert!(
        matches!(
            outcome,
            CaptureOutcome::Failed {
                error: SendError::Status { status: 500, .. },
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn set_default_answers_every_unscripted_request() {
    let server = MockServer::start();
    server.set_default(MockResponse::status(503).header("X-Sentry-Error", "maintenance"));
    server.respond_with_many(2, MockResponse::ok());
    let outcomes = with_client(sync_options(&server), || {
        (0..3)
            .map(|i| capture_message(format!("m{i}"), Level::Info))
            .collect::<Vec<_>>()
    });
    assert!(
        outcomes[0].is_accepted() && outcomes[1].is_accepted(),
        "{outcomes:?}"
    );
    let CaptureOutcome::Failed {
        error: SendError::Status { status, detail, .. },
        ..
    } = &outcomes[2]
    else {
        panic!("expected a 503: {:?}", outcomes[2]);
    };
    assert_eq!((*status, detail.as_deref()), (503, Some("maintenance")));
}

// ---- The assertion helpers fail with useful messages ----

#[test]
fn assert_event_count_lists_the_events_it_got() {
    let server = MockServer::start();
    with_client(sync_options(&server), || {
        capture_message("unexpected", Level::Info)
    });
    let msg = panic_message(|| server.assert_event_count(0));
    assert!(
        msg.contains("expected 0 events at the mock server, got 1"),
        "{msg}"
    );
    assert!(msg.contains("unexpected"), "{msg}");
}

#[test]
fn assert_auth_header_needs_a_request_and_the_header() {
    let server = MockServer::start();
    let msg = panic_message(|| server.assert_auth_header());
    assert_eq!(msg, "no request reached the mock server");

    // A bare POST, as a client that forgot the header would send.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(&server.envelope_url())
        .send("not an envelope")
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 200);

    let request = &server.requests()[0];
    assert!(request.envelope.is_none());
    assert!(
        request
            .decode_error
            .as_deref()
            .is_some_and(|e| e.starts_with("not an envelope")),
        "{:?}",
        request.decode_error
    );
    let msg = panic_message(|| server.assert_auth_header());
    assert_eq!(
        msg,
        "request 0 (POST /api/1/envelope/) has no X-Sentry-Auth header"
    );
}

// ---- The README section shows these tests as they are ----

#[test]
fn the_readme_examples_are_tests_of_this_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let section = ["README.md"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .find_map(|text| testing_section(&text))
        .expect("a `Testing with Sentry` section in README.md");
    let this_file: Vec<&str> = significant_lines(include_str!("testing_kit.rs"));
    let blocks = rust_blocks(&section);
    assert!(
        blocks.len() >= 4,
        "expected the examples, found {} blocks",
        blocks.len()
    );
    for block in blocks {
        let lines = significant_lines(&block);
        let found = this_file
            .windows(lines.len())
            .any(|w| w == lines.as_slice());
        assert!(
            found,
            "this example of the docs is not a copy of code in testing_kit.rs:\n{block}"
        );
    }
}

/// The section titled `Testing with Sentry`, up to the next heading of the same level or higher.
fn testing_section(markdown: &str) -> Option<String> {
    let mut lines = markdown
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.contains("Testing with Sentry")));
    let heading = lines.next()?;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = lines.take_while(|l| {
        let hashes = l.chars().take_while(|c| *c == '#').count();
        !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
    });
    Some(body.collect::<Vec<_>>().join("\n"))
}

/// The ```rust blocks, without the lines rustdoc hides (`# ...`).
fn rust_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```rust" => current = Some(Vec::new()),
            Some(block) if line.trim() == "```" => {
                blocks.push(block.join("\n"));
                current = None;
            }
            Some(block) if !(line.trim() == "#" || line.trim_start().starts_with("# ")) => {
                block.push(line)
            }
            _ => {}
        }
    }
    blocks
}

fn significant_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}
