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

/// The transaction items the capture kit recorded.
fn transactions(capture: &EventCapture) -> Vec<serde_json::Value> {
    capture
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "transaction")
        .filter_map(|i| i.payload_json().ok())
        .collect()
}

/// What `#[tracing::instrument(fields(region = "eu"))]` makes of an `async fn` (written out, so
/// the tests need no proc-macro crate): the future runs inside its span at every poll.
fn load_prices(shop: u32) -> impl std::future::Future<Output = u32> {
    use tracing::Instrument;
    async move {
        // Across an `.await` and a thread hop: the span is the same span.
        tokio::task::yield_now().await;
        let total = tokio::task::spawn_blocking(move || shop * 2)
            .await
            .unwrap_or(0);
        tracing::info!(total, "prices loaded");
        total
    }
    .instrument(tracing::info_span!("load_prices", shop, region = "eu"))
}

#[test]
fn instrumented_functions_become_spans_of_the_running_transaction() {
    let capture = EventCapture::with_options(ClientOptions::new().traces_sample_rate(1.0));
    let counting = Counting::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    run_traced(&capture, &counting, || {
        let tx = watchpost::trace::start_transaction(watchpost::trace::TransactionContext::new(
            "price-job",
            "task",
        ));
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let ctx = watchpost::Context::current();
        let total = runtime.block_on(async move {
            use tracing::instrument::WithSubscriber;
            use watchpost::ContextFutureExt;
            tokio::spawn(load_prices(21).bind_context(ctx).with_subscriber(dispatch))
                .await
                .unwrap()
        });
        assert_eq!(total, 42);
        // Below the span level: not a span.
        tracing::debug_span!("noise").in_scope(|| ());
        tx.finish();
    });
    let sent = transactions(&capture);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let spans = sent[0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0];
    assert_eq!(span["op"], "load_prices");
    assert_eq!(
        span["parent_span_id"],
        sent[0]["contexts"]["trace"]["span_id"]
    );
    assert_eq!(span["data"]["shop"], 21);
    assert_eq!(span["data"]["region"], "eu");
    assert!(span["timestamp"].as_f64() >= span["start_timestamp"].as_f64());
}

#[test]
fn a_root_span_is_a_transaction_of_its_own_when_tracing_is_on() {
    let capture = EventCapture::with_options(ClientOptions::new().traces_sample_rate(1.0));
    let counting = Counting::default();
    run_traced(&capture, &counting, || {
        let job = tracing::info_span!("nightly_import", rows = tracing::field::Empty);
        job.in_scope(|| {
            tracing::info_span!("parse").in_scope(|| ());
        });
        job.record("rows", 7);
        drop(job);
    });
    let sent = transactions(&capture);
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["transaction"]
        .as_str()
        .unwrap()
        .ends_with("nightly_import"));
    assert_eq!(sent[0]["contexts"]["trace"]["data"]["rows"], 7);
    assert_eq!(sent[0]["spans"][0]["op"], "parse");
}

#[test]
fn without_tracing_spans_cost_nothing_and_send_nothing() {
    let capture = EventCapture::new();
    let counting = Counting::default();
    run_traced(&capture, &counting, || {
        tracing::info_span!("job").in_scope(|| tracing::info!("done"));
    });
    assert!(transactions(&capture).is_empty());
}

#[test]
fn an_error_event_inside_a_span_belongs_to_that_span() {
    let capture = EventCapture::with_options(ClientOptions::new().traces_sample_rate(1.0));
    let counting = Counting::default();
    run_traced(&capture, &counting, || {
        let job = tracing::info_span!("import");
        job.in_scope(|| {
            tracing::info_span!("parse_row", row = 17).in_scope(|| {
                tracing::error!("row 17 is malformed");
            });
        });
    });
    let events = capture.events();
    assert_eq!(events.len(), 1);
    let trace = events[0].contexts.get("trace").expect("contexts.trace");
    let sent = transactions(&capture);
    let span = sent[0]["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["op"] == "parse_row"))
        .expect("the parse_row span");
    assert_eq!(trace["span_id"], span["span_id"]);
    assert_eq!(trace["trace_id"], sent[0]["contexts"]["trace"]["trace_id"]);
}

/// The logs a loopback server received, in order.
fn received_logs(server: &watchpost::testing::MockServer) -> Vec<serde_json::Value> {
    server
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
        .collect()
}

#[test]
fn events_at_the_logs_level_are_structured_logs_with_fields_code_location_and_span() {
    use tracing::level_filters::LevelFilter;
    let server = watchpost::testing::MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .enable_logs(true)
        .traces_sample_rate(1.0)
        .send_result(watchpost::SendResult::Sync);
    let subscriber = tracing_subscriber::registry()
        .with(SentryTracingLayer::new().logs_level(LevelFilter::INFO));
    watchpost::testing::with_client(options, || {
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("below the logs level");
            tracing::info_span!("import").in_scope(|| {
                tracing::warn!(row = 17, ratio = 0.25, strict = true, "row {} skipped", 17);
            });
            tracing::info!(target: "watchpost::transport", "the SDK's own: never forwarded");
        });
    });
    let logs = received_logs(&server);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    let a = &log["attributes"];
    assert_eq!(log["level"], "warn");
    assert_eq!(log["body"], "row 17 skipped");
    assert_eq!(
        a["row"],
        serde_json::json!({"value": 17, "type": "integer"})
    );
    assert_eq!(a["ratio"]["type"], "double");
    assert_eq!(a["strict"]["type"], "boolean");
    assert_eq!(a["sentry.origin"]["value"], "auto.log.tracing");
    assert_eq!(a["logger.name"]["value"], module_path!());
    assert_eq!(a["code.namespace"]["value"], module_path!());
    assert!(a["code.file.path"]["value"]
        .as_str()
        .unwrap()
        .ends_with("integration_tracing.rs"));
    assert!(a["code.line.number"]["value"].as_i64().unwrap() > 0);
    // The `import` span became a transaction: the log belongs to it.
    let tx = server
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .find(|i| i.ty() == "transaction")
        .map(|i| i.payload_json().unwrap())
        .expect("the import transaction");
    assert_eq!(log["trace_id"], tx["contexts"]["trace"]["trace_id"]);
    assert_eq!(log["span_id"], tx["contexts"]["trace"]["span_id"]);
}
