//! An axum service with performance monitoring: each request is a transaction named by its
//! route, the trace it came with is continued, and calls to another service carry it on.
//!
//! Configuration, from the environment:
//! - `SENTRY_DSN` and `SENTRY_TRACES_SAMPLE_RATE` (read by `init`, as every `SENTRY_*` variable);
//! - `PORT`: the port to listen on at 127.0.0.1 (default 3001);
//! - `DOWNSTREAM_URL`: the service `GET /chain` calls, when set.
//!
//! Routes: `GET /chain` calls `DOWNSTREAM_URL` (when set) with the trace headers and answers
//! 200; `GET /fail` captures an error inside the request's transaction and answers 500.
//!
//! Run it with `SENTRY_DSN=... SENTRY_TRACES_SAMPLE_RATE=1.0 cargo run -p examples --bin
//! traced_service`.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use watchpost::tower::SentryLayer;
use watchpost::trace::{current_transaction, UreqTracePropagation};
use watchpost::{ClientOptions, SourceTable};

/// This crate's sources, embedded at build time by `build.rs`.
static SOURCES: SourceTable = watchpost::embed_sources!();

/// Calls the downstream service, if there is one, inside a span of the request's transaction.
async fn chain() -> (StatusCode, String) {
    let Ok(url) = std::env::var("DOWNSTREAM_URL") else {
        return (StatusCode::OK, "no downstream service\n".to_owned());
    };
    let span = current_transaction().map(|tx| tx.start_child("http.client", format!("GET {url}")));
    // The context (and with it the trace) follows the blocking call to its thread.
    let context = watchpost::Context::current();
    let answer = tokio::task::spawn_blocking(move || {
        context.run(|| {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .middleware(UreqTracePropagation)
                .build()
                .into();
            agent.get(&url).call().map(|r| r.status().as_u16())
        })
    })
    .await;
    if let Some(span) = span {
        span.finish();
    }
    match answer {
        Ok(Ok(status)) => (StatusCode::OK, format!("downstream answered {status}\n")),
        Ok(Err(e)) => (StatusCode::BAD_GATEWAY, format!("downstream failed: {e}\n")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// Fails inside the request's transaction: the error names the transaction and its trace.
async fn fail() -> (StatusCode, &'static str) {
    let err = std::io::Error::other("the inventory service is unreachable");
    watchpost::capture_error(&err);
    (StatusCode::INTERNAL_SERVER_ERROR, "failed\n")
}

#[tokio::main]
async fn main() {
    let options = ClientOptions::new().source_table(SOURCES);
    let _guard = match watchpost::init(options) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("traced_service: {e}");
            std::process::exit(2);
        }
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let app = Router::new()
        .route("/chain", get(chain))
        .route("/fail", get(fail))
        .layer(SentryLayer::new());
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("traced_service: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("traced_service: listening on http://127.0.0.1:{port}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("traced_service: {e}");
    }
}
