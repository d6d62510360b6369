//! The `log` backend: breadcrumbs, error events with metadata, forwarding, and no recursion.
//!
//! The global logger is installed once for this binary; each test captures its events in memory
//! (`EventCapture`, bound to the test's thread) and tells its forwarded records apart by text.

use std::sync::{Mutex, OnceLock};
use watchpost::log::{MetadataCapture, SentryLogger};
use watchpost::testing::EventCapture;
use watchpost::{ClientOptions, Level};

/// The application's own logger: keeps every record it is given as `LEVEL target: message`.
struct Recording;

fn forwarded() -> &'static Mutex<Vec<String>> {
    static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
    &LINES
}

impl log::Log for Recording {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        forwarded()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }
    fn flush(&self) {}
}

fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        SentryLogger::new()
            .forward_to(Box::new(Recording))
            .metadata(MetadataCapture::All)
            .logs_level(log::LevelFilter::Info)
            .install()
            .expect("the only logger of this binary");
    });
}

fn was_forwarded(text: &str) -> bool {
    forwarded()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|l| l.contains(text))
}

#[test]
fn lower_levels_are_breadcrumbs_in_order_and_errors_are_events_with_metadata() {
    install();
    let capture = EventCapture::new();
    capture.run(|| {
        log::info!("crumb one");
        log::debug!("below the breadcrumb level");
        log::warn!(attempt = 2; "crumb two");
        log::error!(order_id = 42, region = "eu"; "payment failed");
    });
    let events = capture.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(
        event.logentry.as_ref().and_then(|l| l.formatted.as_deref()),
        Some("payment failed")
    );
    assert_eq!(event.logger.as_deref(), Some(module_path!()));
    assert_eq!(event.level, Level::Error);
    let meta = &event.extra["logger_metadata"];
    assert!(
        meta["file"]
            .as_str()
            .unwrap_or_default()
            .ends_with("integration_log.rs"),
        "{meta}"
    );
    assert!(meta["line"].as_u64().is_some());
    assert_eq!(meta["order_id"], 42);
    assert_eq!(meta["region"], "eu");
    let crumbs: Vec<_> = event
        .breadcrumbs
        .values
        .iter()
        .map(|b| (b.message.as_deref(), b.level))
        .collect();
    assert_eq!(
        crumbs,
        [
            (Some("crumb one"), Level::Info),
            (Some("crumb two"), Level::Warning)
        ]
    );
    assert_eq!(event.breadcrumbs.values[1].data["attempt"], 2);
    assert_eq!(
        event.breadcrumbs.values[0].category.as_deref(),
        Some(module_path!())
    );
}

#[test]
fn the_wrapped_logger_receives_every_record() {
    install();
    let capture = EventCapture::new();
    capture.run(|| {
        log::trace!("fwd-trace");
        log::debug!("fwd-debug");
        log::info!("fwd-info");
        log::error!("fwd-error");
        log::error!(target: "watchpost::transport", "fwd-sdk");
    });
    for text in [
        format!("TRACE {}: fwd-trace", module_path!()),
        format!("DEBUG {}: fwd-debug", module_path!()),
        "fwd-info".to_owned(),
        "fwd-error".to_owned(),
        "fwd-sdk".to_owned(),
    ] {
        assert!(was_forwarded(&text), "{text} was not forwarded");
    }
    assert_eq!(capture.events().len(), 1, "only fwd-error is an event");
}

#[test]
fn records_of_the_sdk_are_never_reported() {
    install();
    let capture = EventCapture::new();
    capture.run(|| {
        log::error!(target: "watchpost", "sdk-own-error");
        log::info!(target: "watchpost::client", "sdk-own-info");
        log::error!("after the sdk records");
    });
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].breadcrumbs.values.is_empty());
    assert!(was_forwarded("sdk-own-error"));
}

#[test]
fn logging_while_reporting_does_not_recurse() {
    install();
    // A callback that logs runs inside the report of the first error.
    let options = ClientOptions::new().before_send(|event: watchpost::Event| {
        log::error!("logged-from-before-send");
        Some(event)
    });
    let capture = EventCapture::with_options(options);
    capture.run(|| log::error!("outer error"));
    let events = capture.events();
    assert_eq!(
        events.len(),
        1,
        "{:?}",
        events.iter().map(|e| e.title()).collect::<Vec<_>>()
    );
    assert_eq!(events[0].title(), "outer error");
    assert!(was_forwarded("logged-from-before-send"));
}

#[test]
fn a_failing_callback_logged_by_the_sdk_is_forwarded_not_reported() {
    install();
    let options = ClientOptions::new().before_send(|_: watchpost::Event| panic!("callback bug"));
    let capture = EventCapture::with_options(options);
    capture.run(|| log::error!("trigger"));
    assert!(capture.events().is_empty());
    assert!(
        was_forwarded("watchpost"),
        "the SDK's own warning reaches the app's logger"
    );
}

#[test]
fn records_at_the_logs_level_are_structured_logs_when_logs_are_enabled() {
    install();
    let server = watchpost::testing::MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .enable_logs(true)
        .send_result(watchpost::SendResult::Sync);
    watchpost::testing::with_client(options, || {
        log::debug!("below the logs level");
        log::info!(order_id = 42; "order {} paid", 42);
        log::error!(target: "watchpost::client", "the SDK's own: never forwarded");
    });
    let logs: Vec<serde_json::Value> = server
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "log")
        .flat_map(|i| {
            i.payload_json().unwrap()["items"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let a = &logs[0]["attributes"];
    assert_eq!(logs[0]["body"], "order 42 paid");
    assert_eq!(logs[0]["level"], "info");
    assert_eq!(
        a["order_id"],
        serde_json::json!({"value": 42, "type": "integer"})
    );
    assert_eq!(a["logger.name"]["value"], module_path!());
    assert_eq!(a["sentry.origin"]["value"], "auto.log.log");
    assert!(a["code.line.number"]["value"].as_i64().unwrap() > 0);
    assert!(was_forwarded("order 42 paid"));
}

#[test]
fn without_enable_logs_nothing_is_sent_as_a_log() {
    install();
    let server = watchpost::testing::MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .send_result(watchpost::SendResult::Sync);
    watchpost::testing::with_client(options, || log::info!("not a structured log"));
    assert!(server
        .envelopes()
        .iter()
        .all(|e| e.items().iter().all(|i| i.ty() != "log")));
}
