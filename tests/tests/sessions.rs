//! Release health: application sessions of real program runs (a clean exit, handled errors, a
//! panic, a SIGKILL that the next run reports as abnormal) and request sessions of an axum
//! service aggregated over 10,000 requests; the items have the real Python SDK's shape and read
//! back with its envelope reader.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tests::peers::{python_parse_envelope, python_session_items};
use watchpost::testing::{MockResponse, MockServer};
use watchpost::tower::SentryLayer;
use watchpost::{ClientOptions, DropReason, Level, SessionMode};

const CHILD: &str = env!("CARGO_BIN_EXE_session_child");

/// The payloads of every item of `ty` the server received, in order.
fn items_of(server: &MockServer, ty: &str) -> Vec<Value> {
    server
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == ty)
        .filter_map(|i| i.payload_json().ok())
        .collect()
}

fn cache_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "watchpost-session-test-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the child to its end; true when it exited successfully.
fn run_child(how: &str, server: &MockServer, cache: &Path) -> bool {
    Command::new(CHILD)
        .args([how, &server.dsn(), cache.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the child starts")
        .success()
}

/// The session updates the server received, in the order they were made: envelopes may
/// arrive out of order (the worker and the shutdown drain send side by side), and Sentry reads
/// each update on its own.
fn session_updates(server: &MockServer) -> Vec<Value> {
    let mut updates = items_of(server, "session");
    updates.sort_by_key(|u| {
        (
            u["timestamp"].as_str().unwrap().to_owned(),
            u["init"] != true,
        )
    });
    updates
}

fn statuses(updates: &[Value]) -> Vec<&str> {
    updates
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_clean_run_opens_its_session_and_closes_it_exited() {
    let server = MockServer::start();
    let cache = cache_dir("clean");
    assert!(run_child("ok", &server, &cache));
    let updates = session_updates(&server);
    assert_eq!(statuses(&updates), ["ok", "exited"], "{updates:#?}");
    assert_eq!(updates[0]["init"], true);
    assert_eq!(updates[1]["init"], false);
    assert_eq!(updates[0]["sid"], updates[1]["sid"]);
    assert!(
        updates[1].get("errors").is_none(),
        "an info message is no error"
    );
    assert!(updates[1]["duration"].as_f64().is_some_and(|d| d >= 0.0));
    assert_eq!(updates[1]["attrs"]["release"], "session-child@1.0");
    assert_eq!(updates[1]["attrs"]["environment"], "test");
    assert_eq!(
        std::fs::read_dir(cache.join("sessions")).unwrap().count(),
        0
    );
}

#[test]
fn handled_errors_are_counted_and_the_first_is_sent_at_once() {
    let server = MockServer::start();
    let cache = cache_dir("errors");
    assert!(run_child("error", &server, &cache));
    let updates = session_updates(&server);
    assert_eq!(statuses(&updates), ["ok", "ok", "exited"], "{updates:#?}");
    assert_eq!(updates[1]["errors"], 1);
    assert_eq!(updates[2]["errors"], 2);
    assert_eq!(server.events().len(), 2);
}

#[test]
fn a_panicking_run_ends_crashed_and_is_not_reported_again() {
    let server = MockServer::start();
    let cache = cache_dir("panic");
    assert!(
        !run_child("panic", &server, &cache),
        "the child dies of its panic"
    );
    let updates = session_updates(&server);
    assert_eq!(statuses(&updates), ["ok", "crashed"], "{updates:#?}");
    assert_eq!(updates[1]["errors"], 1);
    assert_eq!(
        server.events()[0]["exception"]["values"][0]["mechanism"]["handled"],
        false
    );

    server.clear();
    assert!(run_child("ok", &server, &cache));
    let next = session_updates(&server);
    assert_eq!(
        statuses(&next),
        ["ok", "exited"],
        "no abnormal for a reported crash"
    );
}

#[test]
fn a_killed_run_is_reported_abnormal_by_the_next_one() {
    let server = MockServer::start();
    let cache = cache_dir("killed");
    let mut child = Command::new(CHILD)
        .args(["hang", &server.dsn(), cache.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");
    let opened = session_updates(&server);
    assert_eq!(statuses(&opened), ["ok"]);

    // While it runs, another run leaves its session alone.
    let other = MockServer::start();
    assert!(run_child("ok", &other, &cache));
    assert_eq!(statuses(&session_updates(&other)), ["ok", "exited"]);

    child.kill().unwrap(); // SIGKILL: no shutdown, no closing update
    child.wait().unwrap();
    server.clear();
    assert!(run_child("ok", &server, &cache));
    let updates = session_updates(&server);
    let abnormal: Vec<&Value> = updates
        .iter()
        .filter(|u| u["status"] == "abnormal")
        .collect();
    assert_eq!(abnormal.len(), 1, "{updates:#?}");
    assert_eq!(abnormal[0]["sid"], opened[0]["sid"]);
    assert_eq!(abnormal[0]["init"], false);
    assert_eq!(
        updates.len(),
        3,
        "the abnormal end, then this run's ok and exited"
    );

    server.clear();
    assert!(run_child("ok", &server, &cache));
    assert_eq!(
        statuses(&session_updates(&server)),
        ["ok", "exited"],
        "reported once"
    );
}

async fn fine() -> &'static str {
    "fine"
}

async fn server_error() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn handled_error() -> &'static str {
    watchpost::capture_message("a handled problem", Level::Error);
    "handled"
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

/// The global client for `server`, tracking one session per request.
fn request_mode_client(server: &MockServer) -> watchpost::ClientGuard {
    watchpost::init(
        ClientOptions::new()
            .dsn(server.dsn())
            .use_env(false)
            .release("svc@2.0")
            .auto_session_tracking(true)
            .session_mode(SessionMode::Request),
    )
    .unwrap()
}

/// Serves `app` behind the `SentryLayer` on a free loopback port; the runtime keeps it running.
fn serve(app: Router) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.layer(SentryLayer::new());
    rt.spawn(async move { axum::serve(listener, app).await });
    (rt, addr)
}

#[test]
fn ten_thousand_requests_are_aggregated_by_outcome() {
    let server = MockServer::start();
    let guard = request_mode_client(&server);
    let (_rt, addr) = serve(
        Router::new()
            .route("/fine", get(fine))
            .route("/fail", get(server_error))
            .route("/error", get(handled_error))
            .route("/panic", get(panics)),
    );

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // Four clients side by side, 2,500 requests each.
    std::thread::scope(|threads| {
        for t in 0..4 {
            let agent = agent.clone();
            threads.spawn(move || {
                for i in (t..10_000).step_by(4) {
                    let path = match i % 10 {
                        0 => "fail",
                        1 => "panic",
                        2 => "error",
                        _ => "fine",
                    };
                    let mut response = agent.get(format!("http://{addr}/{path}")).call().unwrap();
                    // Read to the end, so the connection goes back to the pool.
                    response.body_mut().read_to_string().unwrap();
                }
            });
        }
    });
    assert!(guard.flush(Duration::from_secs(60)));
    let stats = guard.close();
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");

    let sessions = items_of(&server, "sessions");
    assert!(!sessions.is_empty());
    let mut totals = [0u64; 4];
    for item in &sessions {
        assert_eq!(item["attrs"]["release"], "svc@2.0");
        assert_eq!(item["attrs"]["environment"], "production");
        for minute in item["aggregates"].as_array().unwrap() {
            assert!(minute["started"].as_str().unwrap().ends_with(":00.000000Z"));
            for (i, key) in ["exited", "errored", "crashed", "abnormal"]
                .iter()
                .enumerate()
            {
                totals[i] += minute[key].as_u64().unwrap_or(0);
            }
        }
    }
    assert_eq!(totals, [7_000, 2_000, 1_000, 0]);
    assert!(
        session_updates(&server).is_empty(),
        "no per-run session in request mode"
    );
    // Aggregates are few and small: at most one item per flush, one entry per minute.
    assert!(sessions.len() <= 3, "{}", sessions.len());
}

/// The keys of an item Sentry reads and their JSON types.
fn shape(item: &Value) -> BTreeSet<(String, &'static str)> {
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    let mut keys = BTreeSet::new();
    for (k, v) in item.as_object().unwrap() {
        keys.insert((k.clone(), kind(v)));
        if let Value::Object(inner) = v {
            for (ik, iv) in inner {
                keys.insert((format!("{k}.{ik}"), kind(iv)));
            }
        }
        if let Value::Array(entries) = v {
            for entry in entries.iter().filter_map(Value::as_object) {
                for (ik, iv) in entry {
                    keys.insert((format!("{k}[].{ik}"), kind(iv)));
                }
            }
        }
    }
    keys
}

#[test]
fn session_items_have_the_python_sdks_shape_and_read_back_with_its_reader() {
    let python = python_session_items();
    let py_session = python["session"].clone();
    let py_sessions = python["sessions"].clone();

    let server = MockServer::start();
    let cache = cache_dir("shape");
    assert!(run_child("error", &server, &cache));
    let ours = session_updates(&server);
    let closing = ours.last().unwrap();
    // The Python SDK sends no duration; ours says how long the run lasted.
    let mut ours_shape = shape(closing);
    ours_shape.remove(&("duration".to_owned(), "number"));
    assert_eq!(
        ours_shape,
        shape(&py_session),
        "ours {closing:#}\npython {py_session:#}"
    );
    assert_eq!(closing["status"], py_session["status"]);

    for raw in server.requests().iter().map(|r| r.body.clone()) {
        let parsed = python_parse_envelope(&raw);
        assert!(parsed["items"].as_array().is_some_and(|i| !i.is_empty()));
    }

    let server = MockServer::start();
    let guard = request_mode_client(&server);
    let (_rt, addr) = serve(
        Router::new()
            .route("/fine", get(fine))
            .route("/error", get(handled_error)),
    );
    for path in ["fine", "error"] {
        ureq::get(format!("http://{addr}/{path}")).call().unwrap();
    }
    drop(guard);
    let aggregate = items_of(&server, "sessions").pop().unwrap();
    assert_eq!(
        shape(&aggregate),
        shape(&py_sessions),
        "ours {aggregate:#}\npython {py_sessions:#}"
    );
    let raw = server
        .requests()
        .iter()
        .map(|r| r.body.clone())
        .find(|b| String::from_utf8_lossy(b).contains("\"sessions\""))
        .unwrap();
    let parsed = python_parse_envelope(&raw);
    assert!(parsed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["type"] == "sessions"));
}

#[test]
fn rate_limited_sessions_are_dropped_and_counted() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().header("X-Sentry-Rate-Limits", "60:session:key"));
    let guard = watchpost::init(
        ClientOptions::new()
            .dsn(server.dsn())
            .use_env(false)
            .release("app@1")
            .auto_session_tracking(true)
            .send_client_reports(false),
    )
    .unwrap();
    // The opening update goes out and brings the limit back.
    assert!(guard.flush(Duration::from_secs(10)));
    watchpost::capture_message("an error while sessions are limited", Level::Error);
    assert!(guard.flush(Duration::from_secs(10)));
    let stats = guard.close();
    assert_eq!(
        stats
            .dropped
            .get(&(DropReason::RatelimitBackoff, "session".to_owned())),
        Some(&2),
        "the first-error update and the closing one: {stats:?}"
    );
    assert_eq!(server.events().len(), 1, "errors are not limited");
    assert_eq!(session_updates(&server).len(), 1);
}
