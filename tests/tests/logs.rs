//! Structured logs: batches of at most 100 (each log once) reach a loopback server in time without a flush,
//! `before_send_log` changes and drops them, rate-limited `log_item`s are counted exactly, logs
//! carry their trace and span, a storm of 100,000 logs from 8 threads is accounted for exactly
//! in bounded memory, and the items have the real Python SDK's shape and read back with its
//! envelope reader.

use serde_json::Value;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::peers::{python_log_items, python_parse_envelope};
use watchpost::logs::{capture_log, Log, LogLevel, BATCH_DELAY, BATCH_SIZE};
use watchpost::protocol::Envelope;
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::trace::{start_transaction, TransactionContext};
use watchpost::{
    ClientOptions, DropReason, HttpClient, HttpError, HttpRequest, HttpResponse, SendResult,
};

fn options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .release("app@1.0")
        .environment("production")
        .server_name("host-1")
        .enable_logs(true)
}

/// The `log` items the server received, in order.
fn log_items(server: &MockServer) -> Vec<watchpost::protocol::EnvelopeItem> {
    server
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "log")
        .collect()
}

/// Every log the server received, in order.
fn logs(server: &MockServer) -> Vec<Value> {
    log_items(server)
        .iter()
        .flat_map(|i| {
            i.payload_json().unwrap()["items"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

fn item_count(item: &watchpost::protocol::EnvelopeItem) -> u64 {
    item.headers()["item_count"].as_u64().unwrap()
}

fn dropped(reason: DropReason, category: &str) -> u64 {
    watchpost::stats()
        .dropped
        .get(&(reason, category.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn logs_go_in_batches_of_at_most_100_one_item_per_envelope() {
    let server = MockServer::start();
    with_client(options(&server), || {
        for n in 0..250 {
            watchpost::logger_info!("line {}", n);
        }
    });
    let items = log_items(&server);
    let counts: Vec<u64> = items.iter().map(item_count).collect();
    assert_eq!(counts.iter().sum::<u64>(), 250, "{counts:?}");
    assert!(counts.iter().all(|n| (1..=100).contains(n)), "{counts:?}");
    for envelope in server.envelopes() {
        let logs = envelope.items().iter().filter(|i| i.ty() == "log").count();
        assert!(logs <= 1, "one log item per envelope");
    }
    for item in &items {
        assert_eq!(
            item.headers()["content_type"],
            "application/vnd.sentry.items.log+json"
        );
        let payload = item.payload_json().unwrap();
        assert_eq!(
            payload["items"].as_array().unwrap().len() as u64,
            item_count(item)
        );
    }
    // Batches may overtake each other on the way (the worker and its booster both send); a
    // batch keeps its logs in order, and every log arrives once.
    let mut numbers: Vec<u64> = Vec::new();
    for item in &items {
        let batch: Vec<u64> = item.payload_json().unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                l["body"].as_str().unwrap()["line ".len()..]
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(batch.windows(2).all(|w| w[0] < w[1]), "{batch:?}");
        numbers.extend(batch);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (0..250).collect::<Vec<u64>>(), "every log once");
}

#[test]
fn a_batch_goes_within_5_seconds_without_a_flush() {
    let server = MockServer::start();
    let wait_for_logs = |n: usize, start: Instant| {
        // No flush: the worker's housekeeping must send them by itself.
        let deadline = start + BATCH_DELAY + Duration::from_secs(3);
        loop {
            if logs(&server).len() >= n {
                return start.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "no log arrived within {:?}",
                deadline - start
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let waited = with_client(options(&server), || {
        // The worker's first housekeeping runs as it starts; the second log waits for a later one.
        watchpost::logger_info!("first");
        wait_for_logs(1, Instant::now());
        let start = Instant::now();
        watchpost::logger_info!("alone in its batch");
        wait_for_logs(2, start)
    });
    assert!(
        waited <= BATCH_DELAY + Duration::from_millis(1500),
        "the log took {waited:?}"
    );
    assert_eq!(logs(&server)[1]["body"], "alone in its batch");
}

#[test]
fn before_send_log_changes_and_drops_logs_and_the_drops_are_counted() {
    let server = MockServer::start();
    let _guard = watchpost::init(
        options(&server)
            .send_result(SendResult::Sync)
            .before_send_log(|log: Log| {
                assert!(log.body != "boom", "the hook panics");
                if log.body.contains("secret") {
                    return None;
                }
                Some(log.attribute("checked", true))
            }),
    )
    .unwrap();
    watchpost::logger_info!("kept");
    watchpost::logger_info!("a secret");
    watchpost::logger_warn!("boom");
    assert!(watchpost::flush(Duration::from_secs(5)));
    let logs = logs(&server);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert_eq!(logs[0]["body"], "kept");
    assert_eq!(logs[0]["attributes"]["checked"]["value"], true);
    assert_eq!(dropped(DropReason::BeforeSend, "log_item"), 2);
    assert!(dropped(DropReason::BeforeSend, "log_byte") > 0);
    let reported: u64 = server
        .client_reports()
        .iter()
        .flat_map(|r| r["discarded_events"].as_array().unwrap().clone())
        .filter(|d| d["reason"] == "before_send" && d["category"] == "log_item")
        .map(|d| d["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, 2);
}

#[test]
fn rate_limited_log_items_are_dropped_before_sending_and_counted_exactly() {
    let server = MockServer::start();
    // The first batch is accepted and limits `log_item` for a minute.
    server.respond_with(MockResponse::ok().header("X-Sentry-Rate-Limits", "60:log_item:key"));
    let _guard = watchpost::init(options(&server).send_result(SendResult::Sync)).unwrap();
    for n in 0..BATCH_SIZE + 150 {
        watchpost::logger_info!("line {}", n);
    }
    // Errors are not limited.
    watchpost::capture_message("still sent", watchpost::Level::Error);
    assert!(watchpost::flush(Duration::from_secs(5)));
    // The worker's housekeeping may have sent a part of the first batch before it was full:
    // what the server accepted before the limit came back varies, the sum does not.
    let received = logs(&server).len() as u64;
    let limited = dropped(DropReason::RatelimitBackoff, "log_item");
    assert!(
        received >= 1 && limited >= 150,
        "{received} received, {limited} limited"
    );
    assert_eq!(received + limited, (BATCH_SIZE + 150) as u64);
    assert_eq!(server.events().len(), 1);
    assert!(dropped(DropReason::RatelimitBackoff, "log_byte") > limited * 100);
    let reported: u64 = server
        .client_reports()
        .iter()
        .flat_map(|r| r["discarded_events"].as_array().unwrap().clone())
        .filter(|d| d["reason"] == "ratelimit_backoff" && d["category"] == "log_item")
        .map(|d| d["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, limited);
}

#[test]
fn a_log_in_a_transaction_carries_its_trace_and_span_id() {
    let server = MockServer::start();
    let opts = options(&server)
        .traces_sample_rate(1.0)
        .send_result(SendResult::Sync);
    let (trace_id, span_id, context_trace) = with_client(opts, || {
        let tx = start_transaction(TransactionContext::new("job", "task"));
        watchpost::logger_info!("inside");
        let ids = (tx.trace_id(), tx.span_id());
        tx.finish();
        watchpost::logger_info!("after");
        (ids.0, ids.1, watchpost::Context::current().trace_id())
    });
    let logs = logs(&server);
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0]["trace_id"], trace_id.to_string());
    assert_eq!(logs[0]["span_id"], span_id.to_string());
    assert_eq!(logs[1]["trace_id"], context_trace.to_string());
    assert!(
        logs[1].get("span_id").is_none(),
        "no span once the transaction finished"
    );
}

/// An HTTP client that answers 200 and keeps only what the storm test checks: the logs
/// received and the largest `item_count`.
#[derive(Debug, Default)]
struct CountingSink {
    logs: AtomicU64,
    largest_item: AtomicU64,
    log_items_over_limit: AtomicU64,
}

impl HttpClient for CountingSink {
    fn post(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let gzipped = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip");
        let mut raw = Vec::new();
        if gzipped {
            flate2::read::GzDecoder::new(request.body)
                .read_to_end(&mut raw)
                .unwrap();
        } else {
            raw.extend_from_slice(request.body);
        }
        let envelope = Envelope::parse(&raw).unwrap();
        let items: Vec<_> = envelope
            .items()
            .iter()
            .filter(|i| i.ty() == "log")
            .collect();
        if items.len() > 1 {
            self.log_items_over_limit.fetch_add(1, Ordering::SeqCst);
        }
        for item in items {
            let n = item_count(item);
            let payload = item.payload_json().unwrap();
            assert_eq!(payload["items"].as_array().unwrap().len() as u64, n);
            self.logs.fetch_add(n, Ordering::SeqCst);
            self.largest_item.fetch_max(n, Ordering::SeqCst);
        }
        Ok(HttpResponse::new(200, Vec::new(), br#"{}"#.to_vec()))
    }
}

/// The peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_storm_of_100000_logs_from_8_threads_is_accounted_for_exactly_in_bounded_memory() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 12_500;
    let sink = Arc::new(CountingSink::default());
    let before = peak_rss_kib();
    let _guard = watchpost::init(
        ClientOptions::new()
            .dsn("http://public@127.0.0.1:9/1")
            .use_env(false)
            .enable_logs(true)
            .http_client(sink.clone()),
    )
    .unwrap();
    // 1 KiB bodies: kept all at once, 100,000 logs would take well over 100 MiB.
    let padding = "x".repeat(1024);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let padding = padding.clone();
            std::thread::spawn(move || {
                let mut buffered = 0u64;
                for n in 0..PER_THREAD {
                    let log = Log::new(LogLevel::Info, format!("{t}/{n} {padding}"))
                        .attribute("thread", t);
                    buffered += u64::from(capture_log(log));
                }
                buffered
            })
        })
        .collect();
    let buffered: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(watchpost::flush(Duration::from_secs(60)));
    let received = sink.logs.load(Ordering::SeqCst);
    let overflowed = dropped(DropReason::QueueOverflow, "log_item");
    let lost = watchpost::stats().dropped_in("log_item");
    eprintln!("storm: {received} received, {overflowed} overflowed, {lost} dropped in all");
    assert_eq!(
        received + lost,
        THREADS * PER_THREAD,
        "captured = received + counted drops, exactly"
    );
    assert_eq!(buffered, received, "every buffered log arrived");
    assert_eq!(overflowed, lost, "the only drops are the full buffer's");
    assert!(sink.largest_item.load(Ordering::SeqCst) <= 100);
    assert_eq!(sink.log_items_over_limit.load(Ordering::SeqCst), 0);
    let grew = peak_rss_kib().saturating_sub(before);
    eprintln!("storm: peak memory grew by {grew} KiB");
    assert!(grew < 48 * 1024, "peak memory grew by {grew} KiB");
}

/// The item header keys and the payload's keys with their JSON types (attributes by key, with
/// their `type`), leaving out what must differ between SDKs.
fn shape(item_headers: &Value, payload: &Value) -> Vec<String> {
    fn ty(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    let mut out: Vec<String> = item_headers
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "length")
        .map(|(k, v)| format!("header {k}: {}", ty(v)))
        .collect();
    for (k, v) in payload.as_object().unwrap() {
        out.push(format!("payload {k}: {}", ty(v)));
    }
    let log = &payload["items"][0];
    for (k, v) in log.as_object().unwrap() {
        out.push(format!("log {k}: {}", ty(v)));
    }
    // Python's own runtime attributes have no counterpart here.
    let python_only = ["process.runtime.name", "process.runtime.version"];
    for (k, v) in log["attributes"].as_object().unwrap() {
        if !python_only.contains(&k.as_str()) {
            out.push(format!(
                "attribute {k}: {} {}",
                v["type"].as_str().unwrap(),
                ty(&v["value"])
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn log_items_have_the_python_sdks_shape_and_read_back_with_its_reader() {
    let python = python_log_items();
    assert_eq!(python.len(), 1, "{python:#?}");
    let theirs = &python[0]["items"][0];

    let server = MockServer::start();
    let opts = options(&server)
        .send_default_pii(true)
        .traces_sample_rate(1.0)
        .send_result(SendResult::Sync);
    with_client(opts, || {
        let mut user = watchpost::User::with_id("42");
        user.email = Some("ada@example.com".into());
        user.username = Some("ada".into());
        watchpost::set_user_context(user);
        let tx = start_transaction(TransactionContext::new("job", "task"));
        let name = "ada";
        watchpost::logger_info!(attempt = 3, ratio = 0.5, admin = true; "user {} signed in", name);
        tx.finish();
    });
    let items = log_items(&server);
    assert_eq!(items.len(), 1);
    let ours_headers = Value::Object(items[0].headers().clone());
    let ours_payload = items[0].payload_json().unwrap();
    // Python names parameters by keyword (`{name}`), Rust by position (`{}`).
    let rename = |mut shape: Vec<String>| {
        for line in &mut shape {
            *line = line.replace(
                "sentry.message.parameter.name",
                "sentry.message.parameter.0",
            );
        }
        shape.sort();
        shape
    };
    assert_eq!(
        shape(&ours_headers, &ours_payload),
        rename(shape(&theirs["headers"], &theirs["payload"])),
        "ours {ours_payload:#}\npython {:#}",
        theirs["payload"]
    );
    let log = &ours_payload["items"][0];
    let python_log = &theirs["payload"]["items"][0];
    assert_eq!(ours_payload["version"], theirs["payload"]["version"]);
    assert_eq!(log["level"], python_log["level"]);
    assert_eq!(log["body"], python_log["body"]);
    for key in [
        "sentry.environment",
        "sentry.release",
        "server.address",
        "sentry.severity_number",
        "sentry.severity_text",
        "user.id",
        "user.name",
        "user.email",
        "attempt",
        "ratio",
        "admin",
    ] {
        assert_eq!(
            log["attributes"][key], python_log["attributes"][key],
            "{key}"
        );
    }
    assert_eq!(
        log["attributes"]["sentry.sdk.name"]["value"],
        watchpost::SDK_NAME
    );

    let raw = server
        .requests()
        .iter()
        .find(|r| {
            r.envelope
                .as_ref()
                .is_some_and(|e| e.items().iter().any(|i| i.ty() == "log"))
        })
        .unwrap()
        .body
        .clone();
    let parsed = python_parse_envelope(&raw);
    assert_eq!(parsed["warnings"], serde_json::json!([]));
    let item = &parsed["items"][0];
    assert_eq!(item["type"], "log");
    assert_eq!(item["headers"]["item_count"], 1);
    assert_eq!(item["payload_json"], ours_payload);
}
