//! Request bodies that could leak secrets, sent to a real axum + hyper server on 127.0.0.1 with
//! the tower layer and body capture on, reporting (`send_default_pii` off) to the loopback mock
//! server: nothing secret reaches it, bodies without a structure the scrubber understands are
//! left out unless opted in, and Relay's data scrubber (the judge) would strip nothing more from
//! any event.
//!
//! Each test has a client and mock server of its own (`base_context`), sending synchronously: the
//! handler's capture call returns once the server has the event, so the event is there when the
//! response is.

use axum::body::Body;
use axum::extract::Request;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tests::peers::assert_relay_would_scrub_nothing;
use watchpost::testing::{with_client, MockServer};
use watchpost::tower::{RecordingBody, SentryLayer, DEFAULT_BODY_LIMIT};
use watchpost::{ClientOptions, Context, SendResult};

const WAIT: Duration = Duration::from_secs(10);

/// Secrets sent in the bodies below: none may appear in anything the mock server receives.
const SECRETS: &[&str] = &[
    "S1cr3t-plain",
    "S2cr3t-xml",
    "S3cr3t-sid",
    "S4cr3t-session",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "6011111111111117",
    "S5cr3t-url",
    "DE89370400440532013000",
    "078-05-1120",
    "10.1.2.3",
    "10.0.0.5",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Reads the whole body, then reports a message tagged with the `case` query value.
async fn echo(req: Request) -> &'static str {
    let case = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("case=")))
        .unwrap_or_default()
        .to_owned();
    let _ = axum::body::to_bytes(req.into_body(), usize::MAX).await;
    watchpost::set_tags_context([("case", case)]);
    watchpost::capture_message("body read", watchpost::Level::Info);
    "ok"
}

/// The layer type of these tests: bodies wrapped back with `Body::new`.
type Layer = SentryLayer<(), fn(RecordingBody<Body>) -> Body>;

/// Serves `/echo` behind `layer` on a free port of 127.0.0.1.
fn serve(layer: Layer) -> SocketAddr {
    let app = Router::new().route("/echo", post(echo)).layer(layer);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let _enter = runtime().enter();
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    runtime().spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A layer recording bodies (up to `limit` bytes), reporting synchronously to `server` through a
/// client of its own with `send_default_pii` off (or as given).
fn layer(server: &MockServer, limit: usize) -> Layer {
    layer_with_pii(server, limit, false)
}

fn layer_with_pii(server: &MockServer, limit: usize, send_default_pii: bool) -> Layer {
    let options = ClientOptions::new()
        .dsn(server.dsn())
        .send_result(SendResult::Sync)
        .send_default_pii(send_default_pii);
    let context = with_client(options, Context::current);
    SentryLayer::new()
        .base_context(context)
        .capture_request_body(limit, Body::new as fn(_) -> Body)
}

fn post_body(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> u16 {
    post_with(addr, path, &[("content-type", content_type)], body)
}

fn post_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(&format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send(body).expect("request").status().as_u16()
}

/// The event of each case, by the `case` tag, once `n` have arrived.
fn events_by_case(server: &MockServer, n: usize) -> std::collections::BTreeMap<String, Value> {
    let events = server.wait_for_events(n, WAIT);
    assert_eq!(events.len(), n, "{events:#?}");
    events
        .into_iter()
        .map(|e| (e["tags"]["case"].as_str().unwrap_or_default().to_owned(), e))
        .collect()
}

/// No secret in any byte the mock server received, and Relay's scrubber would strip nothing
/// more from any event.
fn assert_nothing_secret_arrived(server: &MockServer) {
    for request in server.requests() {
        let body = String::from_utf8_lossy(&request.body);
        for secret in SECRETS {
            assert!(
                !body.contains(secret),
                "{secret} reached the server:\n{body}"
            );
        }
    }
    for event in server.events() {
        assert_relay_would_scrub_nothing(&event);
    }
}

const PLAIN: &str = "user=bob&password=S1cr3t-plain";
const XML: &str = "<login><user>bob</user><password>S2cr3t-xml</password></login>";

#[test]
fn text_and_xml_bodies_are_left_out_unless_opted_in_and_the_event_says_so() {
    let server = MockServer::start();
    let addr = serve(layer(&server, DEFAULT_BODY_LIMIT));
    assert_eq!(
        post_body(addr, "/echo?case=plain", "text/plain", PLAIN),
        200
    );
    assert_eq!(
        post_body(
            addr,
            "/echo?case=xml",
            "application/xml; charset=utf-8",
            XML
        ),
        200
    );

    let events = events_by_case(&server, 2);
    for (case, content_type) in [("plain", "text/plain"), ("xml", "application/xml")] {
        let event = &events[case];
        assert!(event["request"].get("data").is_none(), "{event:#?}");
        let note = &event["contexts"]["request_body"];
        assert_eq!(note["recorded"], false, "{event:#?}");
        assert_eq!(note["content_type"], content_type);
        assert!(note["reason"]
            .as_str()
            .is_some_and(|r| r.contains("capture_text_bodies")));
    }
    assert_nothing_secret_arrived(&server);
}

#[test]
fn opted_in_text_and_xml_bodies_arrive_scrubbed() {
    let server = MockServer::start();
    let addr = serve(layer(&server, DEFAULT_BODY_LIMIT).capture_text_bodies(true));
    let cases = [
        ("plain", "text/plain", PLAIN, "[Filtered]"),
        ("xml", "application/xml", XML, "[Filtered]"),
        (
            "pairs",
            "text/plain; charset=utf-8",
            "user=bob&session=S4cr3t-session&note=hi",
            "user=bob&session=[Filtered]&note=hi",
        ),
        (
            "xml-card",
            "application/soap+xml",
            "<order><item>book</item><sid>S3cr3t-sid</sid>\
             <card>4111 1111 1111 1111</card></order>",
            "<order><item>book</item><sid>[Filtered]</sid>\
             <card>[Filtered]</card></order>",
        ),
        (
            "shapes",
            "text/csv",
            "iban,ssn,db\nDE89370400440532013000,078-05-1120,postgres://app:S5cr3t-url@db/x",
            "iban,ssn,db\n[Filtered],[Filtered],postgres://app:[Filtered]@db/x",
        ),
        (
            "free-text",
            "text/plain",
            "please charge 4111-1111-1111-1111 today, order 12",
            "please charge [Filtered] today, order 12",
        ),
    ];
    for (case, content_type, body, _) in cases {
        assert_eq!(
            post_body(addr, &format!("/echo?case={case}"), content_type, body),
            200
        );
    }

    let events = events_by_case(&server, cases.len());
    for (case, _, _, expected) in cases {
        assert_eq!(events[case]["request"]["data"], expected, "case {case}");
    }
    assert_nothing_secret_arrived(&server);
}

#[test]
fn card_numbers_and_ips_are_filtered_in_json_strings_numbers_forms_queries_and_headers() {
    let server = MockServer::start();
    let addr = serve(layer(&server, DEFAULT_BODY_LIMIT));
    let json = r#"{"amount": 12, "pan": 4111111111111111, "order": 1733310000123,
                   "note": "card 4111 1111 1111 1111, thanks", "cards": [6011111111111117],
                   "payee": {"account": "DE89370400440532013000"}, "from": "10.1.2.3"}"#;
    assert_eq!(
        post_body(addr, "/echo?case=json", "application/json", json),
        200
    );
    assert_eq!(
        post_body(
            addr,
            "/echo?case=form",
            "application/x-www-form-urlencoded",
            "name=ann&card=4111+1111+1111+1111"
        ),
        200
    );

    assert_eq!(
        post_with(
            addr,
            "/echo?case=query&q=4111111111111111&page=2",
            &[
                ("x-card", "4111 1111 1111 1111"),
                ("referer", "http://10.0.0.5/cart"),
                ("accept", "text/html"),
            ],
            ""
        ),
        200
    );

    let events = events_by_case(&server, 3);
    let request = &events["query"]["request"];
    assert_eq!(request["query_string"], "case=query&q=[Filtered]&page=2");
    assert_eq!(request["headers"]["x-card"], "[Filtered]");
    assert_eq!(request["headers"]["accept"], "text/html");
    assert_eq!(request["headers"]["referer"], "http://[Filtered]/cart");
    let data = &events["json"]["request"]["data"];
    assert_eq!(data["pan"], "[Filtered]");
    assert_eq!(data["cards"][0], "[Filtered]");
    assert_eq!(data["payee"]["account"], "[Filtered]");
    assert_eq!(
        data["from"], "[Filtered]",
        "an IP address, send_default_pii off"
    );
    assert_eq!(data["note"], "card [Filtered], thanks");
    assert_eq!(data["amount"], 12);
    assert_eq!(data["order"], 1733310000123u64, "not Luhn-valid: kept");
    let form = &events["form"]["request"]["data"];
    assert_eq!(form["name"], "ann");
    assert_eq!(form["card"], "[Filtered]");
    assert_nothing_secret_arrived(&server);
}

#[test]
fn a_json_body_nested_100_000_deep_is_left_out_and_the_server_keeps_serving() {
    let server = MockServer::start();
    let addr = serve(layer(&server, 1024 * 1024));
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(
        post_body(addr, "/echo?case=deep", "application/json", &body),
        200
    );
    assert_eq!(
        post_body(addr, "/echo?case=after", "application/json", "[1]"),
        200
    );

    let events = events_by_case(&server, 2);
    let deep = &events["deep"];
    assert!(deep["request"].get("data").is_none(), "{deep:#?}");
    assert_eq!(deep["contexts"]["request_body"]["recorded"], false);
    assert_eq!(events["after"]["request"]["data"], serde_json::json!([1]));
    assert_nothing_secret_arrived(&server);
}

#[test]
fn the_relay_oracle_reports_what_relay_would_still_strip() {
    let event = serde_json::json!({
        "request": {
            "url": "http://shop.example/order",
            "data": {"note": "user=bob&password=S1cr3t-plain", "item": "book"},
            "headers": {"Accept": "text/html", "Referer": "http://x/?token=abc"},
            "query_string": "page=2",
        }
    });
    let changes = tests::peers::relay_pii_changes(&event, false);
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["request.data.note", "request.headers.Referer"]);
    assert_eq!(changes[0].after, "[Filtered]");
    assert_eq!(changes[0].rules, ["@password:filter"]);
    let clean =
        serde_json::json!({"request": {"data": {"item": "book", "password": "[Filtered]"}}});
    assert!(tests::peers::relay_pii_changes(&clean, false).is_empty());
}

#[test]
fn with_send_default_pii_on_ip_addresses_in_the_body_are_kept_and_cards_still_filtered() {
    let server = MockServer::start();
    let addr = serve(layer_with_pii(&server, DEFAULT_BODY_LIMIT, true));
    let json = r#"{"from": "10.1.2.3", "pan": "4111 1111 1111 1111"}"#;
    assert_eq!(
        post_body(addr, "/echo?case=pii", "application/json", json),
        200
    );
    let events = events_by_case(&server, 1);
    let data = &events["pii"]["request"]["data"];
    assert_eq!(data["from"], "10.1.2.3");
    assert_eq!(data["pan"], "[Filtered]");
}
