//! End to end: a panicking axum handler behind the `SentryLayer` answers 500, and its event
//! reaches Bugsink (strict validation) with the request and the source lines of the handler,
//! and passes Relay's normalizer.

use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tests::peers::{assert_relay_clean, top_frame, Bugsink};
use watchpost::tower::SentryLayer;
use watchpost::SourceTable;

static SOURCES: SourceTable = watchpost::embed_sources!();

async fn checkout() -> &'static str {
    watchpost::set_tags_context([("feature", "checkout")]);
    panic!("payment provider unreachable");
}

#[test]
fn a_panicking_handler_reaches_bugsink_with_request_and_source() {
    let bugsink = Bugsink::start();
    let guard =
        watchpost::init(bugsink.client_options().source_table(SOURCES)).expect("valid options");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/checkout", get(checkout))
        .layer(SentryLayer::new());
    rt.spawn(async move { axum::serve(listener, app).await });

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .get(format!("http://{addr}/checkout?cart=7"))
        .header("Authorization", "Bearer do-not-send")
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    assert!(guard.flush(Duration::from_secs(20)));
    drop(guard);

    let events = bugsink.wait_for_events(1, Duration::from_secs(30));
    assert_eq!(events.len(), 1, "one event for one panic");
    let data = &events[0]["data"];
    assert_eq!(
        events[0]["calculated_value"],
        "payment provider unreachable"
    );
    let request = &data["request"];
    assert_eq!(request["method"], "GET");
    assert_eq!(request["url"], format!("http://{addr}/checkout"));
    assert_eq!(request["query_string"], "cart=7");
    let auth = request["headers"]
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .map(|(_, v)| v.clone());
    assert_eq!(auth, Some(serde_json::json!("[Filtered]")));
    assert_eq!(data["tags"]["feature"], "checkout");
    let exc = &data["exception"]["values"][0];
    assert_eq!(exc["mechanism"]["handled"], false);
    let top = top_frame(exc);
    assert!(
        top["filename"]
            .as_str()
            .unwrap()
            .ends_with("tests/tests/e2e_axum.rs"),
        "{top}"
    );
    assert_eq!(
        top["context_line"],
        "    panic!(\"payment provider unreachable\");"
    );
    assert_eq!(
        top["pre_context"][2],
        "    watchpost::set_tags_context([(\"feature\", \"checkout\")]);"
    );
    assert_relay_clean(data);
}
