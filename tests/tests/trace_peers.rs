//! One trace across three services: a Python service instrumented with the real `sentry-sdk`
//! calls our axum service, which calls a second Python service; all three report to one
//! loopback sink. The same with a W3C `traceparent` caller.

use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tests::peers::PythonTraceService;
use watchpost::testing::MockServer;
use watchpost::tower::SentryLayer;
use watchpost::trace::UreqTracePropagation;
use watchpost::ClientOptions;

/// Our service: `GET /chain` calls `downstream` with the trace headers.
fn serve_ours(runtime: &tokio::runtime::Runtime, downstream: String) -> SocketAddr {
    let app = Router::new()
        .route(
            "/chain",
            get(move || {
                let url = downstream.clone();
                async move {
                    let context = watchpost::Context::current();
                    let status = tokio::task::spawn_blocking(move || {
                        context.run(|| {
                            let agent: ureq::Agent = ureq::Agent::config_builder()
                                .middleware(UreqTracePropagation)
                                .build()
                                .into();
                            agent.get(&url).call().map(|r| r.status().as_u16())
                        })
                    })
                    .await;
                    match status {
                        Ok(Ok(200)) => "chained",
                        _ => "downstream failed",
                    }
                }
            }),
        )
        .layer(SentryLayer::new());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let _enter = runtime.enter();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The transactions at the sink, by the project they were sent to (the DSN's project id).
fn transactions(sink: &MockServer) -> Vec<(String, Value, Value)> {
    sink.requests()
        .iter()
        .filter_map(|r| {
            let envelope = r.envelope.as_ref()?;
            let item = envelope.items().iter().find(|i| i.ty() == "transaction")?;
            Some((
                r.path.clone(),
                Value::Object(envelope.headers().clone()),
                item.payload_json().ok()?,
            ))
        })
        .collect()
}

/// Waits until the sink holds `n` transactions (20 s at most).
fn wait_for_transactions(sink: &MockServer, n: usize) -> Vec<(String, Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = transactions(sink);
        if found.len() >= n || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn of_project<'a>(all: &'a [(String, Value, Value)], project: &str) -> &'a (String, Value, Value) {
    all.iter()
        .find(|(path, _, _)| path.starts_with(&format!("/api/{project}/")))
        .unwrap_or_else(|| panic!("no transaction for project {project}: {all:#?}"))
}

fn http_get(url: &str, headers: &[(&str, &str)]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.call().map(|r| r.status().as_u16()).unwrap_or(0)
}

/// The sink, the Python leaf service (project 2) and ours (project 3, tracing on) calling it;
/// project 1 is left for a caller. Fields drop in order: our service and client before the
/// services they call and the sink.
struct Chain {
    _runtime: tokio::runtime::Runtime,
    _guard: watchpost::ClientGuard,
    _leaf: PythonTraceService,
    sink: MockServer,
    host: String,
    ours: SocketAddr,
}

impl Chain {
    fn start() -> Chain {
        let sink = MockServer::start();
        let host = sink.url().trim_start_matches("http://").to_owned();
        let leaf = PythonTraceService::start(&format!("http://leafkey@{host}/2"), None);
        let guard = watchpost::init(
            ClientOptions::new()
                .dsn(format!("http://ourkey@{host}/3"))
                .use_env(false)
                .traces_sample_rate(1.0),
        )
        .unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ours = serve_ours(&runtime, leaf.call_url());
        Chain {
            _runtime: runtime,
            _guard: guard,
            _leaf: leaf,
            sink,
            host,
            ours,
        }
    }
}

#[test]
fn a_trace_goes_through_python_rust_and_python_with_one_id_and_chained_spans() {
    let chain = Chain::start();
    let (sink, ours) = (&chain.sink, chain.ours);
    let front = PythonTraceService::start(
        &format!("http://frontkey@{}/1", chain.host),
        Some(&format!("http://{ours}/chain")),
    );

    assert_eq!(http_get(&front.call_url(), &[]), 200);
    assert!(watchpost::flush(Duration::from_secs(10)));
    let all = wait_for_transactions(sink, 3);
    assert_eq!(all.len(), 3, "{all:#?}");
    let (_, _, front_tx) = of_project(&all, "1");
    let (_, leaf_dsc, leaf_tx) = of_project(&all, "2");
    let (_, our_dsc, our_tx) = of_project(&all, "3");
    let trace = |tx: &Value| tx["contexts"]["trace"].clone();

    // One trace id everywhere.
    let trace_id = trace(front_tx)["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace(our_tx)["trace_id"], trace_id.as_str());
    assert_eq!(trace(leaf_tx)["trace_id"], trace_id.as_str());
    // Parent and child spans chained: ours under the front's `http.client` span, the leaf under
    // ours.
    let front_client_span = front_tx["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["op"] == "http.client"))
        .expect("the front service's http.client span");
    assert_eq!(
        trace(our_tx)["parent_span_id"],
        front_client_span["span_id"]
    );
    assert_eq!(trace(leaf_tx)["parent_span_id"], trace(our_tx)["span_id"]);
    // The head's sampling decision and dynamic sampling context, carried through unchanged.
    assert_eq!(our_dsc["trace"]["public_key"], "frontkey");
    assert_eq!(our_dsc["trace"]["trace_id"], trace_id.as_str());
    assert_eq!(leaf_dsc["trace"]["public_key"], "frontkey");
    assert_eq!(leaf_dsc["trace"]["sampled"], "true");
    assert_eq!(our_tx["transaction"], "GET /chain");
    tests::peers::assert_relay_clean(our_tx);
}

#[test]
fn a_w3c_traceparent_caller_is_continued_through_to_the_python_leaf() {
    let chain = Chain::start();
    let (sink, ours) = (&chain.sink, chain.ours);
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent = "b7ad6b7169203331";
    let status = http_get(
        &format!("http://{ours}/chain"),
        &[("traceparent", &format!("00-{trace_id}-{parent}-01"))],
    );
    assert_eq!(status, 200);
    assert!(watchpost::flush(Duration::from_secs(10)));
    let all = wait_for_transactions(sink, 2);
    let (_, _, our_tx) = of_project(&all, "3");
    let (_, leaf_dsc, leaf_tx) = of_project(&all, "2");
    assert_eq!(our_tx["contexts"]["trace"]["trace_id"], trace_id);
    assert_eq!(our_tx["contexts"]["trace"]["parent_span_id"], parent);
    assert_eq!(leaf_tx["contexts"]["trace"]["trace_id"], trace_id);
    assert_eq!(
        leaf_tx["contexts"]["trace"]["parent_span_id"],
        our_tx["contexts"]["trace"]["span_id"]
    );
    // We started the sampling context (the caller sent none): ours, with our public key.
    assert_eq!(leaf_dsc["trace"]["public_key"], "ourkey");
}
