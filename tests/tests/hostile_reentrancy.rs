//! Re-entrant use of the SDK, as a careless application would do it: user code that logs,
//! captures, panics or inspects the context from inside the SDK's callbacks, and an HTTP client
//! that panics on the SDK's own thread. Each case ends, delivers what it should, and counts what
//! it refuses; none deadlocks or loops.
//!
//! Each test runs in a process of its own (nextest), so `init` and the global loggers are safe
//! to install here.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;
use watchpost::testing::MockServer;
use watchpost::{
    capture_message, CaptureOutcome, ClientOptions, Context, DropReason, HttpClient, HttpError,
    HttpRequest, HttpResponse, Level,
};

/// Runs `f` on a thread of its own and fails the test if it has not returned within 20 s (a
/// deadlock), instead of hanging the run.
fn returns_within_deadline<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call deadlocked (no return within 20 s)")
}

fn options(server: &MockServer) -> ClientOptions {
    ClientOptions::new().dsn(server.dsn()).use_env(false)
}

#[test]
fn a_panic_inside_configure_scope_is_reported_and_the_thread_goes_on() {
    let server = MockServer::start();
    let guard = watchpost::init(options(&server)).unwrap();
    returns_within_deadline(|| {
        watchpost::set_tags_context([("before", "1")]);
        let r = std::panic::catch_unwind(|| {
            watchpost::configure_scope(|s| {
                s.set_tag("lost", "with the panic");
                panic!("inside configure_scope");
            })
        });
        assert!(r.is_err());
        // The scope is usable, and the closure's half-made change was dropped with it.
        let tags = watchpost::configure_scope(|s| s.tags().clone());
        assert_eq!(tags.get("before").map(String::as_str), Some("1"));
        assert!(!tags.contains_key("lost"));
    });
    assert!(guard.flush(Duration::from_secs(10)));
    let events = server.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0]["exception"]["values"][0]["value"],
        "inside configure_scope"
    );
    assert_eq!(events[0]["tags"]["before"], "1");
}

#[test]
fn logging_and_formatting_the_context_inside_configure_scope_do_not_deadlock() {
    use watchpost::log::SentryLogger;
    SentryLogger::new()
        .event_level(log::LevelFilter::Error)
        .breadcrumb_level(log::LevelFilter::Info)
        .install()
        .unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let server = MockServer::start();
    let guard = watchpost::init(options(&server)).unwrap();
    let debug_text = returns_within_deadline(|| {
        let text = watchpost::configure_scope(|s| {
            s.set_tag("job", "import");
            log::info!("a breadcrumb from inside configure_scope");
            log::error!("an event from inside configure_scope");
            format!("{:?}", Context::current())
        });
        capture_message("after", Level::Warning);
        text
    });
    assert!(debug_text.contains("Scope"), "{debug_text}");
    assert!(guard.flush(Duration::from_secs(10)));
    let events = server.events();
    let titles: Vec<&str> = events
        .iter()
        .map(|e| e["logentry"]["formatted"].as_str().unwrap_or(""))
        .collect();
    assert!(
        titles.contains(&"an event from inside configure_scope"),
        "{titles:?}"
    );
    let after = events
        .iter()
        .find(|e| e["logentry"]["formatted"] == "after")
        .unwrap();
    assert_eq!(after["tags"]["job"], "import");
}

#[test]
fn tracing_inside_configure_scope_does_not_deadlock() {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber =
        tracing_subscriber::registry().with(watchpost::tracing::SentryTracingLayer::new());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let server = MockServer::start();
    let guard = watchpost::init(options(&server)).unwrap();
    returns_within_deadline(|| {
        watchpost::configure_scope(|s| {
            s.set_tag("k", "v");
            tracing::info!("breadcrumb inside configure_scope");
            tracing::error!("event inside configure_scope");
        });
    });
    assert!(guard.flush(Duration::from_secs(10)));
    assert_eq!(server.events().len(), 1);
}

#[test]
fn a_capture_inside_before_send_is_refused_and_counted_not_looped() {
    let server = MockServer::start();
    let inner = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = inner.clone();
    let opts = options(&server).before_send(move |event: watchpost::Event| {
        seen.lock()
            .unwrap()
            .push(capture_message("from before_send", Level::Error));
        Some(event)
    });
    // `init`, not `with_client`: the worker must see the global client, as in production.
    let guard = watchpost::init(opts).unwrap();
    assert!(capture_message("outer", Level::Error).is_accepted());
    assert!(guard.flush(Duration::from_secs(10)));
    let stats = guard.close();
    assert_eq!(*inner.lock().unwrap(), [CaptureOutcome::Reentrant]);
    assert_eq!(server.events().len(), 1);
    assert_eq!(stats.sent, 1);
    assert_eq!(stats.dropped_for(DropReason::EventProcessor), 1);
}

#[test]
fn captures_inside_filter_and_after_send_are_refused_too() {
    let server = MockServer::start();
    let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (a, b) = (outcomes.clone(), outcomes.clone());
    let opts = options(&server)
        .filter(move |_: &watchpost::Event, _| {
            a.lock().unwrap().push(capture_message("f", Level::Error));
            false
        })
        .after_send(move |_: &watchpost::Event, _: &CaptureOutcome| {
            b.lock().unwrap().push(capture_message("a", Level::Error));
        });
    let guard = watchpost::init(opts).unwrap();
    capture_message("outer", Level::Error);
    assert!(guard.flush(Duration::from_secs(10)));
    drop(guard);
    assert_eq!(
        *outcomes.lock().unwrap(),
        [CaptureOutcome::Reentrant, CaptureOutcome::Reentrant]
    );
    assert_eq!(server.events().len(), 1);
}

/// An HTTP client that panics on every request, on the SDK's worker thread.
#[derive(Debug, Default)]
struct PanickingClient {
    calls: AtomicUsize,
}

impl HttpClient for PanickingClient {
    fn post(&self, _: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        panic!("the HTTP client panicked");
    }
}

#[test]
fn a_panic_on_the_sdk_thread_is_counted_and_not_fed_back() {
    let server = MockServer::start();
    let client = Arc::new(PanickingClient::default());
    // `init` installs the panic hook: without the guard, the worker's panic would be
    // captured, sent through the same panicking client, and so on.
    let guard = watchpost::init(
        options(&server)
            .http_client(client.clone())
            .send_client_reports(false),
    )
    .unwrap();
    capture_message("one", Level::Error);
    assert!(guard.flush(Duration::from_secs(10)));
    let stats = guard.close();
    assert_eq!(client.calls.load(Ordering::SeqCst), 1, "no event fed back");
    assert_eq!(stats.dropped_for(DropReason::InternalSdkError), 1);
    assert_eq!(stats.sent, 0);
}
