//! The `tracing` layer: breadcrumbs, error events with event and span fields, other layers
//! untouched, no recursion. Each test uses its own subscriber (`with_default`, per thread) and
//! captures its events in memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;
use watchpost::testing::EventCapture;
use watchpost::tracing::SentryTracingLayer;
use watchpost::{ClientOptions, Level};

/// Counts the events that reach it: the layers after ours still see everything.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Counting {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn run_traced<R>(capture: &EventCapture, counting: &Counting, f: impl FnOnce() -> R) -> R {
    let subscriber = tracing_subscriber::registry()
        .with(SentryTracingLayer::new())
        .with(counting.clone());
    capture.run(|| tracing::subscriber::with_default(subscriber, f))
}

#[test]
fn breadcrumbs_in_order_and_error_events_carry_event_and_span_fields() {
    let capture = EventCapture::new();
    let counting = Counting::default();
    run_traced(&capture, &counting, || {
        tracing::info!(step = 1, "cart loaded");
        tracing::debug!("below the breadcrumb level");
        tracing::warn!("slow provider");
        let outer = tracing::info_span!("checkout", order_id = 42, user = tracing::field::Empty);
        let _outer = outer.enter();
        outer.record("user", "ann");
        let inner = tracing::info_span!("charge", provider = "acme");
        let _inner = inner.enter();
        tracing::error!(amount_cents = 1299_u64, "payment failed");
    });
    assert_eq!(counting.0.load(Ordering::SeqCst), 4);

    let events = capture.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        e.logentry.as_ref().and_then(|l| l.formatted.as_deref()),
        Some("payment failed")
    );
    assert_eq!(e.logger.as_deref(), Some(module_path!()));
    assert_eq!(e.level, Level::Error);
    let meta = &e.extra["logger_metadata"];
    assert_eq!(meta["amount_cents"], 1299);
    assert!(meta["file"]
        .as_str()
        .unwrap_or_default()
        .ends_with("integration_tracing.rs"));

    let checkout = e.contexts.get("span.checkout").expect("outer span context");
    assert_eq!(checkout["order_id"], 42);
    assert_eq!(checkout["user"], "ann");
    assert_eq!(
        e.contexts.get("span.charge").expect("inner span context")["provider"],
        "acme"
    );

    let crumbs: Vec<_> = e
        .breadcrumbs
        .values
        .iter()
        .map(|b| (b.message.as_deref(), b.level))
        .collect();
    assert_eq!(
        crumbs,
        [
            (Some("cart loaded"), Level::Info),
            (Some("slow provider"), Level::Warning)
        ]
    );
    assert_eq!(e.breadcrumbs.values[0].data["step"], 1);
}

#[test]
fn events_of_the_sdk_are_ignored() {
    let capture = EventCapture::new();
    let counting = Counting::default();
    run_traced(&capture, &counting, || {
        tracing::error!(target: "watchpost::transport", "sdk failure");
        tracing::info!(target: "watchpost", "sdk info");
        tracing::error!("app failure");
    });
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].title(), "app failure");
    assert!(events[0].breadcrumbs.values.is_empty());
    assert_eq!(counting.0.load(Ordering::SeqCst), 3);
}

#[test]
fn tracing_while_reporting_does_not_recurse() {
    let options = ClientOptions::new().before_send(|event: watchpost::Event| {
        tracing::error!("emitted from before_send");
        Some(event)
    });
    let capture = EventCapture::with_options(options);
    let counting = Counting::default();
    run_traced(&capture, &counting, || tracing::error!("outer"));
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].title(), "outer");
    // tracing-core itself drops events emitted inside a subscriber's callback (its re-entrancy
    // guard); the layer's own guard covers the rest.
    assert_eq!(counting.0.load(Ordering::SeqCst), 1);
}

#[test]
fn levels_are_configurable() {
    let capture = EventCapture::new();
    let subscriber = tracing_subscriber::registry().with(
        SentryTracingLayer::new()
            .event_level(tracing::level_filters::LevelFilter::WARN)
            .breadcrumb_level(tracing::level_filters::LevelFilter::DEBUG)
            .span_fields(false),
    );
    capture.run(|| {
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("job", id = 7);
            let _e = span.enter();
            tracing::debug!("detail");
            tracing::warn!("degraded");
        })
    });
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level, Level::Warning);
    assert_eq!(events[0].breadcrumbs.values.len(), 1);
    assert!(events[0].contexts.get("span.job").is_none());
}
