//! Transactions and spans: what is sent (checked by Relay's normalizer and the Python SDK's
//! envelope reader), how sampling decides, how errors link to the running transaction, and the
//! tower layer's transaction per request.

use serde_json::Value;
use tests::peers::{assert_relay_clean, python_parse_envelope};
use watchpost::testing::{with_client, MockServer};
use watchpost::trace::{
    current_transaction, start_transaction, SpanStatus, TransactionContext, TransactionSource,
};
use watchpost::{ClientOptions, DropReason, SendResult};

fn options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .send_result(SendResult::Sync)
}

/// The transaction items the server received.
fn transactions(server: &MockServer) -> Vec<(Value, Value)> {
    server
        .requests()
        .iter()
        .filter_map(|r| {
            let envelope = r.envelope.as_ref()?;
            let item = envelope.items().iter().find(|i| i.ty() == "transaction")?;
            Some((
                Value::Object(envelope.headers().clone()),
                item.payload_json().ok()?,
            ))
        })
        .collect()
}

#[test]
fn a_sampled_transaction_is_sent_with_its_spans_and_is_valid_for_relay() {
    let server = MockServer::start();
    let trace_id = with_client(options(&server).traces_sample_rate(1.0), || {
        let tx = start_transaction(
            TransactionContext::new("nightly-import", "task").source(TransactionSource::Task),
        );
        assert!(tx.is_sampled());
        let fetch = tx.start_child("http.client", "GET https://prices.example/list");
        let parse = fetch.start_child("serialize", "parse prices");
        parse.set_data("bytes", 1_204);
        parse.finish();
        fetch.set_status(SpanStatus::Ok);
        fetch.finish();
        tx.set_measurement("rows", 42.0, "none");
        tx.set_tag("importer", "v2");
        tx.set_status(SpanStatus::Ok);
        tx.finish();
        tx.finish(); // A second finish sends nothing.
        tx.trace_id().to_string()
    });
    let sent = transactions(&server);
    assert_eq!(sent.len(), 1);
    let (headers, event) = &sent[0];
    assert_eq!(event["type"], "transaction");
    assert_eq!(event["transaction"], "nightly-import");
    assert_eq!(event["transaction_info"]["source"], "task");
    let trace = &event["contexts"]["trace"];
    assert_eq!(trace["trace_id"], trace_id.as_str());
    assert_eq!(
        (trace["op"].as_str(), trace["status"].as_str()),
        (Some("task"), Some("ok"))
    );
    let spans = event["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let (parse, fetch) = (&spans[0], &spans[1]);
    assert_eq!(fetch["parent_span_id"], trace["span_id"]);
    assert_eq!(parse["parent_span_id"], fetch["span_id"]);
    assert_eq!(parse["data"]["bytes"], 1_204);
    assert!(event["start_timestamp"].as_f64() <= event["timestamp"].as_f64());
    assert_eq!(event["measurements"]["rows"]["value"], 42.0);
    assert_eq!(event["tags"]["importer"], "v2");
    assert!(event["contexts"]["os"].is_object(), "the client's defaults");
    assert_eq!(headers["trace"]["trace_id"], trace_id.as_str());
    assert_eq!(headers["trace"]["sampled"], "true");
    assert_eq!(headers["trace"]["transaction"], "nightly-import");
    assert_relay_clean(event);
    let raw = server.requests()[0].body.clone();
    let parsed = python_parse_envelope(&raw);
    assert!(parsed.to_string().contains("transaction"), "{parsed}");
}

#[test]
fn errors_inside_a_transaction_name_its_span_and_trace() {
    let server = MockServer::start();
    let (tx_span, trace_id) = with_client(options(&server).traces_sample_rate(1.0), || {
        let tx = start_transaction(TransactionContext::new("checkout", "task"));
        watchpost::capture_message("inside", watchpost::Level::Error);
        let ids = (tx.span_id().to_string(), tx.trace_id().to_string());
        tx.finish();
        watchpost::capture_message("after", watchpost::Level::Error);
        ids
    });
    let events = server.events();
    let trace = |i: usize| events[i]["contexts"]["trace"].clone();
    assert_eq!(trace(0)["span_id"], tx_span.as_str());
    assert_eq!(trace(0)["trace_id"], trace_id.as_str());
    assert_ne!(trace(1)["span_id"], tx_span.as_str(), "after it finished");
    assert_eq!(
        trace(1)["trace_id"],
        trace_id.as_str(),
        "still the same trace"
    );
}

#[test]
fn without_tracing_options_nothing_is_sent_or_counted() {
    let server = MockServer::start();
    let stats = with_client(options(&server), || {
        let tx = start_transaction(TransactionContext::new("t", "task"));
        assert!(!tx.is_sampled());
        tx.start_child("db", "select").finish();
        tx.finish();
        watchpost::stats()
    });
    assert!(transactions(&server).is_empty());
    assert_eq!(stats.dropped_total(), 0);
}

#[test]
fn an_unsampled_transaction_is_counted_as_sample_rate() {
    let server = MockServer::start();
    let stats = with_client(options(&server).traces_sample_rate(0.0), || {
        start_transaction(TransactionContext::new("t", "task")).finish();
        watchpost::stats()
    });
    assert!(transactions(&server).is_empty());
    assert_eq!(
        stats
            .dropped
            .get(&(DropReason::SampleRate, "transaction".into())),
        Some(&1),
        "{stats:?}"
    );
}

#[test]
fn the_callers_decision_is_followed() {
    let server = MockServer::start();
    let trace = "771a43a4192642f0b136d5159a501700";
    let sampled = |header: String, rate: f64| {
        with_client(options(&server).traces_sample_rate(rate), || {
            watchpost::trace::continue_from_headers([("sentry-trace", header.as_str())]);
            start_transaction(TransactionContext::new("t", "task")).is_sampled()
        })
    };
    assert!(!sampled(format!("{trace}-b7ad6b7169203331-0"), 1.0));
    assert!(sampled(format!("{trace}-b7ad6b7169203331-1"), 0.0));
}

#[test]
fn the_sampler_decides_and_a_panicking_one_samples_nothing() {
    let server = MockServer::start();
    let opts = options(&server).traces_sampler(|ctx| {
        if ctx.name() == "boom" {
            panic!("sampler bug");
        }
        if ctx.op() == "task" {
            1.0
        } else {
            0.0
        }
    });
    let decisions = with_client(opts, || {
        [("job", "task"), ("GET /", "http.server"), ("boom", "task")]
            .map(|(name, op)| start_transaction(TransactionContext::new(name, op)).is_sampled())
    });
    assert_eq!(decisions, [true, false, false]);
}

#[test]
fn traces_sample_rate_samples_about_that_share_of_new_traces() {
    let server = MockServer::start();
    let n = 4_000;
    let sampled = with_client(options(&server).traces_sample_rate(0.5), || {
        (0..n)
            .filter(|_| {
                // No incoming trace: a new one, with a sample_rand of its own.
                watchpost::trace::continue_from_headers([]);
                start_transaction(TransactionContext::new("t", "task")).is_sampled()
            })
            .count()
    });
    // n/2 ± 4 standard deviations (√(n/4) ≈ 32): a constant decision fails.
    assert!((1_870..=2_130).contains(&sampled), "{sampled} of {n}");
}

#[test]
fn spans_beyond_the_limit_are_dropped_and_counted() {
    let server = MockServer::start();
    with_client(options(&server).traces_sample_rate(1.0), || {
        let tx = start_transaction(TransactionContext::new("many", "task"));
        for i in 0..1_100 {
            tx.start_child("op", format!("span {i}")).finish();
        }
        assert!(current_transaction().is_some());
        tx.finish();
        assert!(current_transaction().is_none());
    });
    let (_, event) = &transactions(&server)[0];
    assert_eq!(event["spans"].as_array().unwrap().len(), 1_000);
    assert_eq!(event["contexts"]["trace"]["data"]["dropped_spans"], 100);
}

/// The JSON shape of `value`: objects with their keys, arrays by their first element, and leaf
/// types instead of values (ids, times and machine details vary; the shape must not).
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

#[test]
fn the_transaction_event_has_the_pinned_shape() {
    let server = MockServer::start();
    with_client(
        options(&server).traces_sample_rate(1.0).release("shop@1.0"),
        || {
            watchpost::set_tags_context([("region", "eu")]);
            let tx = start_transaction(TransactionContext::new("GET /users/{id}", "http.server"));
            tx.set_data("http.request.method", "GET");
            let span = tx.start_child("db.query", "SELECT 1");
            span.set_data("rows", 1);
            span.finish();
            tx.finish();
        },
    );
    let (headers, event) = &transactions(&server)[0];
    let mut event = event.clone();
    // Machine-dependent parts are checked elsewhere.
    for machine in ["os", "runtime", "device"] {
        event["contexts"].as_object_mut().unwrap().remove(machine);
    }
    event.as_object_mut().unwrap().remove("server_name");
    event.as_object_mut().unwrap().remove("sdk");
    let expected = serde_json::json!({
        "type": "string",
        "event_id": "string",
        "platform": "string",
        "timestamp": "number",
        "start_timestamp": "number",
        "transaction": "string",
        "transaction_info": { "source": "string" },
        "environment": "string",
        "release": "string",
        "tags": { "region": "string" },
        "contexts": {
            "trace": {
                "type": "string",
                "trace_id": "string",
                "span_id": "string",
                "op": "string",
                "status": "string",
                "data": { "http.request.method": "string" }
            }
        },
        "spans": [{
            "trace_id": "string",
            "span_id": "string",
            "parent_span_id": "string",
            "op": "string",
            "description": "string",
            "start_timestamp": "number",
            "timestamp": "number",
            "status": "string",
            "data": { "rows": "number" }
        }]
    });
    assert_eq!(shape(&event), expected, "{event:#}");
    let expected_header = serde_json::json!({
        "event_id": "string",
        "sdk": { "name": "string", "version": "string" },
        "sent_at": "string",
        "trace": {
            "trace_id": "string",
            "public_key": "string",
            "release": "string",
            "environment": "string",
            "sampled": "string",
            "sample_rate": "string",
            "sample_rand": "string",
            "transaction": "string"
        }
    });
    assert_eq!(shape(headers), expected_header, "{headers:#}");
}
