//! The tower layer behind a real axum + hyper server on 127.0.0.1, called with a real HTTP client,
//! reporting to the mock Sentry server.
//!
//! One global `init` (with the panic hook) serves the tests that use the default setup; the
//! others give the layer a context bound to a client of their own (`base_context`), so tests in
//! this binary run in parallel without seeing each other's events.

use axum::body::Body;
use axum::extract::{ConnectInfo, Query};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tests::peers::assert_relay_would_scrub_nothing;
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::tower::{HandlerPanic, SentryLayer};
use watchpost::{ClientOptions, Context, ContextFutureExt, EventSource, SendResult, User};

const WAIT: Duration = Duration::from_secs(10);

/// The events received so far by the server the global client of this binary reports to
/// (started, with `init`, on first use).
fn global_events() -> Vec<Value> {
    static GLOBAL: OnceLock<(Mutex<MockServer>, watchpost::ClientGuard)> = OnceLock::new();
    let (server, _guard) = GLOBAL.get_or_init(|| {
        let server = MockServer::start();
        let guard = watchpost::init(ClientOptions::new().dsn(server.dsn()).use_env(false))
            .expect("valid options");
        (Mutex::new(server), guard)
    });
    server.lock().unwrap_or_else(|e| e.into_inner()).events()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Serves `app` on a free port of 127.0.0.1 (with the peer address as `ConnectInfo`).
fn serve(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let _enter = runtime().enter();
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    runtime().spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

/// A context bound to a client of its own, sending synchronously to `server`.
fn own_context(server: &MockServer, pii: bool) -> Context {
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .send_default_pii(pii);
    with_client(options, Context::current)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn get_with(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().expect("request");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

/// Waits until `n` events of the global client match `pred`, and returns the matching ones.
fn wait_matching(n: usize, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let found: Vec<Value> = global_events().into_iter().filter(|e| pred(e)).collect();
        if found.len() >= n || start.elapsed() > WAIT {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tag<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event["tags"][key].as_str()
}

#[test]
fn panicking_handler_answers_500_and_is_reported_once_with_the_scrubbed_request() {
    global_events();
    async fn boom() -> &'static str {
        watchpost::set_tags_context([("test", "panic")]);
        panic!("kaboom in the handler");
    }
    let addr = serve(
        Router::new()
            .route("/boom", get(boom))
            .layer(SentryLayer::new()),
    );

    let (status, _) = get_with(
        &format!("http://{addr}/boom?page=1&token=abc"),
        &[
            ("Authorization", "Bearer s3cr3t"),
            ("Cookie", "session_id=abc123; theme=dark"),
            ("X-Api-Key", "k-123"),
            ("Accept", "text/html"),
        ],
    );
    assert_eq!(status, 500);

    let events = wait_matching(1, |e| tag(e, "test") == Some("panic"));
    // The flush returning true proves the pipeline empty: a duplicate would be here by now.
    assert!(watchpost::flush(WAIT));
    let all_panics: Vec<Value> = global_events()
        .into_iter()
        .filter(|e| e["exception"]["values"][0]["value"] == "kaboom in the handler")
        .collect();
    assert_eq!(
        all_panics.len(),
        1,
        "the panic must be reported once: {all_panics:#?}"
    );
    let event = &events[0];

    let exc = &event["exception"]["values"][0];
    assert_eq!(exc["type"], "panic");
    assert_eq!(exc["mechanism"]["type"], "tower");
    assert_eq!(exc["mechanism"]["handled"], false);
    let frames = exc["stacktrace"]["frames"]
        .as_array()
        .expect("a stack trace from the panic hook");
    let top = frames.last().expect("frames");
    assert!(
        top["filename"]
            .as_str()
            .unwrap_or_default()
            .ends_with("integration_tower.rs"),
        "{top:#?}"
    );

    let req = &event["request"];
    assert_eq!(req["method"], "GET");
    assert_eq!(req["url"], format!("http://{addr}/boom"));
    assert_eq!(req["query_string"], "page=1&token=[Filtered]");
    assert_eq!(req["headers"]["authorization"], "[Filtered]");
    assert_eq!(req["headers"]["cookie"], "[Filtered]");
    assert_eq!(req["headers"]["x-api-key"], "[Filtered]");
    assert_eq!(req["headers"]["accept"], "text/html");
    assert_eq!(req["cookies"]["session_id"], "[Filtered]");
    assert_eq!(req["cookies"]["theme"], "dark");
    assert!(
        req.get("env").is_none(),
        "no client address without send_default_pii"
    );
    assert_relay_would_scrub_nothing(event);
}

#[test]
fn concurrent_requests_never_share_tags_user_or_breadcrumbs() {
    global_events();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let app = {
        let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
        Router::new()
            .route(
                "/work",
                get(move |Query(q): Query<HashMap<String, String>>| {
                    let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
                    async move {
                        let id = q.get("id").cloned().unwrap_or_default();
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max_in_flight.fetch_max(now, Ordering::SeqCst);
                        watchpost::set_tags_context([
                            ("test", "concurrency".to_owned()),
                            ("req", id.clone()),
                        ]);
                        watchpost::set_user_context(User::with_id(id.clone()));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        watchpost::add_breadcrumb(watchpost::Breadcrumb::new(
                            "step",
                            format!("crumb {id}"),
                        ));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        watchpost::capture_message(format!("request {id}"), watchpost::Level::Info);
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        "ok"
                    }
                }),
            )
            .layer(SentryLayer::new())
    };
    let addr = serve(app);

    let clients: Vec<_> = (0..200)
        .map(|i| std::thread::spawn(move || get_with(&format!("http://{addr}/work?id={i}"), &[]).0))
        .collect();
    for c in clients {
        assert_eq!(c.join().expect("client thread"), 200);
    }
    assert!(
        max_in_flight.load(Ordering::SeqCst) > 1,
        "requests did not overlap"
    );

    let events = wait_matching(200, |e| tag(e, "test") == Some("concurrency"));
    assert_eq!(events.len(), 200);
    // One is enough for Relay's scrubber: the 200 differ only in their ids.
    assert_relay_would_scrub_nothing(&events[0]);
    for e in &events {
        let id = tag(e, "req").expect("req tag");
        assert_eq!(e["logentry"]["formatted"], format!("request {id}"));
        assert_eq!(e["user"]["id"], id);
        assert_eq!(e["request"]["query_string"], format!("id={id}"));
        let crumbs: Vec<&str> = e["breadcrumbs"]["values"]
            .as_array()
            .expect("crumbs")
            .iter()
            .filter_map(|b| b["message"].as_str())
            .collect();
        assert_eq!(crumbs, [format!("crumb {id}")]);
    }
}

#[test]
fn server_errors_are_reported_only_when_enabled_and_not_twice() {
    let server = MockServer::start();
    let ctx = own_context(&server, false);
    let flusher = ctx.clone();
    let routes = || {
        Router::new()
            .route(
                "/fail",
                get(|| async { (http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
            )
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/captured",
                get(|| async {
                    watchpost::capture_message("explicit", watchpost::Level::Error);
                    (http::StatusCode::INTERNAL_SERVER_ERROR, "failed")
                }),
            )
            .route(
                "/forked",
                get(|| async {
                    // Reported by a task forked from the request's context: the request
                    // knows the event, so the layer does not report the 500 again.
                    let task = async {
                        watchpost::capture_message("from the task", watchpost::Level::Error);
                    };
                    let _ = tokio::spawn(task.in_forked_context()).await;
                    let known = watchpost::last_event_id_and_source().is_some();
                    (http::StatusCode::INTERNAL_SERVER_ERROR, known.to_string())
                }),
            )
    };
    let on = serve(
        routes().layer(
            SentryLayer::new()
                .base_context(ctx.clone())
                .capture_server_errors(true),
        ),
    );
    let off = serve(routes().layer(SentryLayer::new().base_context(ctx)));

    assert_eq!(get_with(&format!("http://{on}/ok"), &[]).0, 200);
    assert_eq!(get_with(&format!("http://{off}/fail"), &[]).0, 503);
    assert_eq!(get_with(&format!("http://{on}/captured"), &[]).0, 500);
    assert_eq!(
        get_with(&format!("http://{on}/forked"), &[]),
        (500, "true".to_owned()),
        "the handler sees the forked task's event"
    );
    assert_eq!(get_with(&format!("http://{on}/fail"), &[]).0, 503);

    let events = server.wait_for_events(3, WAIT);
    // The flush returning true proves the pipeline empty: a duplicate would be here by now.
    assert!(flusher.run(|| watchpost::flush(WAIT)));
    let titles: Vec<String> = server
        .events()
        .iter()
        .map(|e| {
            e["logentry"]["formatted"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        titles,
        [
            "explicit",
            "from the task",
            "GET /fail responded 503 Service Unavailable"
        ]
    );
    assert_eq!(events[2]["request"]["url"], format!("http://{on}/fail"));
    assert_eq!(events[2]["tags"]["http.status_code"], "503");
    events.iter().for_each(assert_relay_would_scrub_nothing);
}

#[test]
fn error_page_offers_the_feedback_dialog_for_the_panic_event() {
    let server = MockServer::start();
    let ctx = own_context(&server, true);
    let error_page = |panic: &HandlerPanic| {
        let (id, source) = watchpost::last_event_id_and_source().expect("the panic was reported");
        assert_eq!(source, EventSource::Http);
        assert_eq!(Some(id), panic.event_id);
        let dialog = watchpost::ReportDialog::new(id)
            .to_html()
            .unwrap_or_default();
        http::Response::builder()
            .status(500)
            .header("content-type", "text/html")
            .body(Body::from(format!("<p>event {}</p>{dialog}", id.simple())))
            .unwrap_or_default()
    };
    async fn order(Json(body): Json<Value>) -> &'static str {
        panic!("cannot order {}", body["item"]);
    }
    let layer = SentryLayer::new()
        .base_context(ctx)
        .on_panic(error_page)
        .client_address(|ext: &http::Extensions| {
            ext.get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip())
        })
        .capture_request_body(watchpost::tower::DEFAULT_BODY_LIMIT, Body::new);
    let addr = serve(Router::new().route("/order", post(order)).layer(layer));

    let mut resp = agent()
        .post(&format!("http://{addr}/order"))
        .header("content-type", "application/json")
        .send(r#"{"item":"book","password":"hunter2"}"#)
        .expect("request");
    assert_eq!(resp.status().as_u16(), 500);
    let page = resp.body_mut().read_to_string().expect("body");

    let event = server.expect_single_event();
    let id = event["event_id"].as_str().expect("event id");
    assert!(page.contains(&format!("<p>event {id}</p>")), "{page}");
    assert!(page.contains("Sentry.showReportDialog"), "{page}");
    assert!(page.contains(&format!("\"eventId\":\"{id}\"")), "{page}");
    assert_eq!(
        event["exception"]["values"][0]["value"],
        "cannot order \"book\""
    );
    assert_eq!(event["request"]["env"]["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(event["request"]["data"]["item"], "book");
    assert_eq!(event["request"]["data"]["password"], "[Filtered]");
}

#[test]
fn user_feedback_in_background_mode_is_queued_not_waited_for() {
    let server = MockServer::start();
    server.set_default(MockResponse::never_answer());
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .http_timeout(Duration::from_secs(60))
        .shutdown_timeout(Duration::from_millis(200));
    let (result, stats) = with_client(options, || {
        // Returns while the server holds the request: a call that waited would get a timeout
        // error after 60 s.
        let result = watchpost::capture_user_feedback(watchpost::UserFeedback::new("slow"));
        let requests = server.wait_for_requests(1, WAIT);
        assert_eq!(
            requests[0].items_json("feedback").len(),
            1,
            "sent by the worker"
        );
        (result, watchpost::stats())
    });
    let id = result.expect("queued");
    assert_eq!(stats.sent, 0, "no answer yet");
    assert_eq!(
        server.requests()[0].event_id(),
        Some(id.simple().to_string().as_str())
    );
}

#[test]
fn user_feedback_is_sent_as_a_feedback_item() {
    let server = MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .environment("staging");
    let event_id = uuid::Uuid::new_v4();
    let sent = with_client(options, || {
        watchpost::capture_user_feedback(
            watchpost::UserFeedback::new("It broke when I paid")
                .name("Ann")
                .contact_email("ann@example.com")
                .associated_event_id(event_id),
        )
    })
    .expect("feedback sent");

    let requests = server.wait_for_requests(1, WAIT);
    let items = requests[0].items_json("feedback");
    assert_eq!(items.len(), 1);
    let fb = &items[0]["contexts"]["feedback"];
    assert_eq!(items[0]["event_id"], sent.simple().to_string());
    assert_eq!(fb["message"], "It broke when I paid");
    assert_eq!(fb["contact_email"], "ann@example.com");
    assert_eq!(fb["associated_event_id"], event_id.simple().to_string());
    assert_eq!(items[0]["environment"], "staging");
}

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const PARENT_SPAN: &str = "b7ad6b7169203331";

/// A route that captures a message and answers with the outgoing trace headers it would send.
fn traced_routes() -> Router {
    Router::new().route(
        "/traced",
        get(|| async {
            watchpost::capture_message("traced", watchpost::Level::Error);
            let headers: HashMap<&str, String> =
                watchpost::trace::outgoing_headers().into_iter().collect();
            Json(headers)
        }),
    )
}

#[test]
fn an_incoming_trace_is_continued_on_events_and_outgoing_requests() {
    let server = MockServer::start();
    let ctx = own_context(&server, false);
    let addr = serve(traced_routes().layer(SentryLayer::new().base_context(ctx)));
    let (status, body) = get_with(
        &format!("http://{addr}/traced"),
        &[
            ("sentry-trace", &format!("{TRACE}-{PARENT_SPAN}-1")),
            (
                "baggage",
                &format!("sentry-trace_id={TRACE},sentry-public_key=upstream,sentry-sample_rate=0.25,sentry-sampled=true,other=1"),
            ),
        ],
    );
    assert_eq!(status, 200);
    let outgoing: HashMap<String, String> = serde_json::from_str(&body).unwrap();

    let requests = server.requests();
    let event = requests[0].event().unwrap();
    let trace = &event["contexts"]["trace"];
    assert_eq!(trace["trace_id"], TRACE);
    assert_eq!(trace["parent_span_id"], PARENT_SPAN);
    let span_id = trace["span_id"].as_str().unwrap();
    assert_ne!(span_id, PARENT_SPAN);
    // The caller's sampling context goes on unchanged, in the envelope and downstream.
    let dsc = &requests[0].envelope.as_ref().unwrap().headers()["trace"];
    assert_eq!(dsc["public_key"], "upstream");
    assert_eq!(dsc["sample_rate"], "0.25");
    assert_eq!(outgoing["sentry-trace"], format!("{TRACE}-{span_id}-1"));
    assert_eq!(outgoing["traceparent"], format!("00-{TRACE}-{span_id}-01"));
    assert!(outgoing["baggage"].contains("sentry-public_key=upstream"));
    assert!(!outgoing["baggage"].contains("other=1"));
    assert_relay_would_scrub_nothing(&event);
}

#[test]
fn each_request_without_trace_headers_starts_a_trace_of_its_own() {
    let server = MockServer::start();
    let ctx = own_context(&server, false);
    let addr = serve(traced_routes().layer(SentryLayer::new().base_context(ctx)));
    for _ in 0..2 {
        // A W3C-only caller the first time round would be continued; these send nothing.
        assert_eq!(get_with(&format!("http://{addr}/traced"), &[]).0, 200);
    }
    let requests = server.requests();
    let traces: Vec<String> = requests
        .iter()
        .map(|r| {
            r.event().unwrap()["contexts"]["trace"]["trace_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(traces.len(), 2);
    assert_ne!(traces[0], traces[1], "two requests, two traces");
    for (request, trace_id) in requests.iter().zip(&traces) {
        let dsc = &request.envelope.as_ref().unwrap().headers()["trace"];
        assert_eq!(dsc["trace_id"], trace_id.as_str());
        assert_eq!(dsc["public_key"], "public");
        assert!(dsc["sample_rand"].as_str().unwrap().parse::<f64>().is_ok());
    }
}

#[test]
fn a_w3c_traceparent_is_continued_too() {
    let server = MockServer::start();
    let ctx = own_context(&server, false);
    let addr = serve(traced_routes().layer(SentryLayer::new().base_context(ctx)));
    let (_, body) = get_with(
        &format!("http://{addr}/traced"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT_SPAN}-00"))],
    );
    let outgoing: HashMap<String, String> = serde_json::from_str(&body).unwrap();
    let event = server.requests()[0].event().unwrap();
    assert_eq!(event["contexts"]["trace"]["trace_id"], TRACE);
    assert!(
        outgoing["sentry-trace"].ends_with("-0"),
        "not sampled upstream"
    );
}

#[test]
fn the_ureq_middleware_sends_the_current_trace() {
    let sink = MockServer::start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .middleware(watchpost::trace::UreqTracePropagation)
        .build()
        .into();
    let ctx = Context::new();
    let trace_id = ctx.trace_id().to_string();
    ctx.run(|| {
        agent
            .post(&format!("{}/api/1/envelope/", sink.url()))
            .send("x")
    })
    .unwrap();
    let request = &sink.requests()[0];
    let sentry_trace = request.header("sentry-trace").unwrap();
    assert!(
        sentry_trace.starts_with(&format!("{trace_id}-")),
        "{sentry_trace}"
    );
    assert!(request.header("traceparent").unwrap().contains(&trace_id));
}

#[test]
fn each_request_is_a_transaction_named_by_its_route() {
    let server = MockServer::start();
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .traces_sample_rate(1.0);
    let ctx = with_client(options, Context::current);
    let app = Router::new()
        .route(
            "/users/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                    if id == 0 {
                        return (http::StatusCode::NOT_FOUND, "no such user");
                    }
                    let span = watchpost::trace::current_transaction()
                        .map(|tx| tx.start_child("db.query", "SELECT * FROM users WHERE id = $1"));
                    watchpost::capture_message("user looked up", watchpost::Level::Warning);
                    if let Some(span) = span {
                        span.finish();
                    }
                    (http::StatusCode::OK, "found")
                },
            ),
        )
        .layer(SentryLayer::new().base_context(ctx));
    let addr = serve(app);
    assert_eq!(get_with(&format!("http://{addr}/users/7"), &[]).0, 200);
    assert_eq!(get_with(&format!("http://{addr}/users/0"), &[]).0, 404);

    let requests = server.requests();
    let items: Vec<(String, Value)> = requests
        .iter()
        .filter_map(|r| {
            let item = r.envelope.as_ref()?.items().first()?.clone();
            Some((item.ty().to_owned(), item.payload_json().ok()?))
        })
        .collect();
    let kinds: Vec<&str> = items.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, ["event", "transaction", "transaction"]);
    let (error, found, missing) = (&items[0].1, &items[1].1, &items[2].1);
    assert_eq!(found["transaction"], "GET /users/{id}");
    assert_eq!(found["transaction_info"]["source"], "route");
    let trace = &found["contexts"]["trace"];
    assert_eq!(
        (trace["op"].as_str(), trace["status"].as_str()),
        (Some("http.server"), Some("ok"))
    );
    assert_eq!(trace["data"]["http.request.method"], "GET");
    assert_eq!(trace["data"]["http.response.status_code"], 200);
    assert_eq!(found["spans"][0]["op"], "db.query");
    assert_eq!(found["request"]["url"], format!("http://{addr}/users/7"));
    assert_eq!(missing["contexts"]["trace"]["status"], "not_found");
    // The error of the request names the request and its transaction's span.
    assert_eq!(error["transaction"], "GET /users/{id}");
    assert_eq!(error["contexts"]["trace"]["span_id"], trace["span_id"]);
    assert_eq!(error["contexts"]["trace"]["trace_id"], trace["trace_id"]);
    tests::peers::assert_relay_clean(found);
}
