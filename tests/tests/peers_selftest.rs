//! Checks the peers harness itself with hand-written data, independent of the SDK.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tests::peers::{
    assert_relay_clean, python_parse_envelope, relay_normalize, relay_problems, Bugsink,
};

fn new_event_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// An envelope with one event item, framed as the protocol says (with `length`).
fn event_envelope(event: &Value) -> Vec<u8> {
    let event_id = event["event_id"].as_str().expect("event_id");
    let payload = serde_json::to_string(event).expect("serializable");
    format!(
        "{{\"event_id\":\"{event_id}\",\"sent_at\":\"2026-01-01T00:00:00Z\",\
         \"sdk\":{{\"name\":\"peers-harness\",\"version\":\"0.1.0\"}}}}\n\
         {{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
        payload.len()
    )
    .into_bytes()
}

fn post(server: &Bugsink, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None) // loopback only, whatever the environment says
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut resp = agent
        .post(&server.envelope_url())
        .header("X-Sentry-Auth", &server.auth_header())
        .header("Content-Type", "application/x-sentry-envelope")
        .send(body)
        .expect("POST to Bugsink");
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .read_to_string(&mut text)
        .expect("read response body");
    (status, text)
}

fn valid_event(fingerprint: &str) -> Value {
    json!({
        "event_id": new_event_id(),
        "timestamp": now(),
        "platform": "native",
        "level": "error",
        "logger": "peers-selftest",
        "release": "peers-selftest@1.2.3",
        "environment": "test",
        "tags": {"component": "harness"},
        "extra": {"answer": 42},
        "fingerprint": [fingerprint],
        "logentry": {"formatted": "it broke: 42", "message": "it broke: %s", "params": ["42"]},
        "exception": {"values": [{
            "type": "HarnessError",
            "value": "it broke",
            "module": "peers_selftest",
            "mechanism": {"type": "generic", "handled": true},
            "stacktrace": {"frames": [
                {"function": "main", "filename": "src/main.rs", "lineno": 3, "in_app": true},
                {"function": "peers_selftest::fail", "filename": "src/lib.rs", "lineno": 10,
                 "colno": 5, "in_app": true, "context_line": "    panic!()"}
            ]}
        }]},
        "sdk": {"name": "peers-harness", "version": "0.1.0"}
    })
}

#[test]
fn bugsink_stores_valid_events_and_rejects_legacy_message() {
    let server = Bugsink::start();
    assert!(server.dsn.starts_with("http://"), "{}", server.dsn);
    assert!(server.dsn.contains("@127.0.0.1:"), "{}", server.dsn);
    assert!(
        server.dsn.ends_with(&format!("/{}", server.project_id)),
        "{}",
        server.dsn
    );
    assert_eq!(server.public_key().len(), 32, "{}", server.dsn);
    assert!(server.events().is_empty());

    // 1. A valid event is stored, field by field.
    let first = valid_event("harness-group-a");
    let (status, body) = post(&server, &event_envelope(&first));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["id"], first["event_id"]);
    let events = server.wait_for_events(1, Duration::from_secs(30));
    assert_eq!(events.len(), 1, "{events:#?}");
    let stored = &events[0];
    assert_eq!(stored["event_id"], first["event_id"]);
    assert_eq!(stored["platform"], "native");
    assert_eq!(stored["calculated_type"], "HarnessError");
    assert_eq!(stored["calculated_value"], "it broke");
    assert_eq!(stored["issue_digested_event_count"], 1);
    let data = &stored["data"];
    for key in [
        "event_id",
        "level",
        "logger",
        "release",
        "environment",
        "tags",
        "extra",
        "fingerprint",
        "logentry",
        "exception",
    ] {
        assert_eq!(data[key], first[key], "stored `{key}` differs: {data:#}");
    }

    // 2. The legacy top-level `message` is answered 200 but rejected by strict validation.
    let legacy = json!({
        "event_id": new_event_id(),
        "timestamp": now(),
        "platform": "native",
        "message": "legacy message field",
    });
    let (status, body) = post(&server, &event_envelope(&legacy));
    assert_eq!(
        status, 200,
        "Bugsink answers 200 even for events it then rejects: {body}"
    );

    // 3. A second valid event with the same fingerprint joins the first one's issue.
    let second = valid_event("harness-group-a");
    let (status, body) = post(&server, &event_envelope(&second));
    assert_eq!(status, 200, "{body}");
    let events = server.wait_for_events(2, Duration::from_secs(30));
    let ids: Vec<&Value> = events.iter().map(|e| &e["event_id"]).collect();
    assert_eq!(
        ids,
        [&first["event_id"], &second["event_id"]],
        "{events:#?}"
    );
    assert_eq!(events[0]["issue_id"], events[1]["issue_id"]);
    assert_eq!(events[1]["issue_digested_event_count"], 2);

    let log = server.log();
    assert!(log.contains("invalid_event_data"), "{log}");
    assert!(log.contains("'message' was unexpected"), "{log}");

    // Dropping the harness stops the server.
    let port = server.port;
    drop(server);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "Bugsink still listens on {port} after drop"
    );
}

fn relay_event() -> Value {
    json!({
        "event_id": new_event_id(),
        "timestamp": now(),
        "platform": "native",
        "level": "error",
        "exception": {"values": [{
            "type": "E",
            "value": "v",
            "stacktrace": {"frames": [{"function": "f", "filename": "src/lib.rs", "lineno": 7}]}
        }]}
    })
}

fn with_string_lineno(mut event: Value) -> Value {
    event["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] = json!("seven");
    event
}

#[test]
fn relay_flags_a_non_integer_lineno() {
    let event = relay_event();
    assert_relay_clean(&event);
    assert!(relay_problems(&event).is_empty());
    let normalized = relay_normalize(&event);
    assert_eq!(normalized["platform"], "native");
    assert_eq!(normalized["event_id"], event["event_id"]);

    let event = with_string_lineno(event);
    let normalized = relay_normalize(&event);
    let errors = normalized["errors"].as_array().expect("errors list");
    assert!(
        errors.iter().any(|e| e["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("frames.0.lineno"))),
        "{normalized:#}"
    );
    let problems = relay_problems(&event);
    assert_eq!(problems.len(), 2, "{problems:#?}"); // `errors` entry and `_meta` entry
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("_meta.exception.values.0.stacktrace.frames.0.lineno: ")),
        "{problems:#?}"
    );
}

#[test]
#[should_panic(expected = "frames.0.lineno")]
fn assert_relay_clean_rejects_a_non_integer_lineno() {
    assert_relay_clean(&with_string_lineno(relay_event()));
}

#[test]
fn python_sdk_parses_a_two_item_envelope() {
    let event_id = new_event_id();
    let event =
        json!({"event_id": event_id, "platform": "native", "logentry": {"formatted": "a\nb"}});
    let payload = serde_json::to_string(&event).expect("serializable");
    let attachment = b"line one\nline two\n";
    let mut bytes = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n\
         {{\"type\":\"attachment\",\"length\":{},\"filename\":\"notes.txt\",\"content_type\":\"text/plain\"}}\n",
        payload.len(),
        attachment.len()
    )
    .into_bytes();
    bytes.extend_from_slice(attachment);
    bytes.push(b'\n');

    let parsed = python_parse_envelope(&bytes);
    assert_eq!(parsed["headers"]["event_id"], event_id.as_str());
    let items = parsed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{parsed:#}");
    assert_eq!(items[0]["type"], "event");
    assert_eq!(items[0]["payload_json"], event);
    assert_eq!(items[0]["payload_len"], payload.len());
    assert_eq!(items[1]["type"], "attachment");
    assert_eq!(items[1]["headers"]["filename"], "notes.txt");
    assert_eq!(items[1]["raw_headers"]["content_type"], "text/plain");
    assert_eq!(items[1]["payload_json"], Value::Null);
    assert_eq!(items[1]["payload_len"], attachment.len());
    assert_eq!(parsed["warnings"], json!([]), "{parsed:#}");

    // A wrong length is tolerated by the Python SDK but reported in `warnings`.
    let bad = b"{}\n{\"type\":\"attachment\",\"length\":2}\nabc\n";
    let parsed = python_parse_envelope(bad);
    assert_eq!(parsed["items"][0]["payload_len"], 2);
    assert_eq!(
        parsed["warnings"].as_array().map(Vec::len),
        Some(1),
        "{parsed:#}"
    );
}
