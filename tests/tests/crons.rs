//! Cron check-ins: a monitored job that succeeds, fails or panics reaches a loopback server
//! as an opening and a closing check-in; the items have the real Python SDK's shape and read
//! back with its envelope reader.

use serde_json::Value;
use std::collections::BTreeSet;
use tests::peers::{python_checkin_items, python_parse_envelope};
use watchpost::crons::{with_monitor, IntervalUnit, MonitorConfig, MonitorSchedule};
use watchpost::testing::{with_client, MockResponse, MockServer};
use watchpost::{ClientOptions, DropReason, Level, SendResult};

fn options(server: &MockServer) -> ClientOptions {
    ClientOptions::new()
        .dsn(server.dsn())
        .use_env(false)
        .release("app@1.0")
        .send_result(SendResult::Sync)
}

fn check_ins(server: &MockServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter_map(|r| r.envelope.as_ref())
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "check_in")
        .filter_map(|i| i.payload_json().ok())
        .collect()
}

fn config() -> MonitorConfig {
    MonitorConfig::new(MonitorSchedule::crontab("0 3 * * *"))
        .checkin_margin(5)
        .max_runtime(30)
        .timezone("Europe/Vienna")
        .failure_issue_threshold(2)
        .recovery_threshold(3)
}

#[test]
fn a_job_that_succeeds_fails_or_panics_opens_and_closes_its_check_in() {
    let server = MockServer::start();
    with_client(options(&server), || {
        let ok = with_monitor("nightly-report", Some(config()), || Ok::<_, String>(7));
        assert_eq!(ok, Ok(7));
        let failed = with_monitor("nightly-report", None, || Err::<(), _>("disk full"));
        assert_eq!(failed, Err("disk full"));
        let panicked = std::panic::catch_unwind(|| {
            with_monitor("hourly-sync", None, || -> Result<(), String> {
                panic!("sync bug")
            })
        });
        assert!(panicked.is_err(), "the panic goes on unwinding");
    });
    let items = check_ins(&server);
    assert_eq!(items.len(), 6, "{items:#?}");
    for (pair, (slug, closing)) in items.chunks(2).zip([
        ("nightly-report", "ok"),
        ("nightly-report", "error"),
        ("hourly-sync", "error"),
    ]) {
        assert_eq!(pair[0]["monitor_slug"], slug);
        assert_eq!(pair[0]["status"], "in_progress");
        assert_eq!(pair[1]["status"], closing);
        assert_eq!(pair[0]["check_in_id"], pair[1]["check_in_id"]);
        assert!(pair[1]["duration"].as_f64().is_some_and(|d| d >= 0.0));
        assert_eq!(
            pair[1]["contexts"]["trace"]["trace_id"],
            pair[0]["contexts"]["trace"]["trace_id"]
        );
    }
    assert_eq!(items[0]["monitor_config"]["schedule"]["value"], "0 3 * * *");
    assert!(items[2].get("monitor_config").is_none());
    let raw = server.requests()[0].body.clone();
    let parsed = python_parse_envelope(&raw);
    assert_eq!(parsed["items"][0]["type"], "check_in");
}

#[test]
fn rate_limited_check_ins_are_dropped_and_counted_while_events_go() {
    let server = MockServer::start();
    server.respond_with(MockResponse::ok().header("X-Sentry-Rate-Limits", "60:monitor:key"));
    let stats = with_client(options(&server), || {
        watchpost::capture_message("before the limit", Level::Error);
        let ran = with_monitor("nightly-report", Some(config()), || Ok::<_, String>(1));
        assert_eq!(ran, Ok(1), "the job runs whatever the limit");
        watchpost::capture_message("after the job", Level::Error);
        watchpost::stats()
    });
    assert!(check_ins(&server).is_empty());
    assert_eq!(server.events().len(), 2, "events are not limited");
    assert_eq!(
        stats
            .dropped
            .get(&(DropReason::RatelimitBackoff, "monitor".to_owned())),
        Some(&2),
        "the opening and the closing check-in: {stats:?}"
    );
}

/// The keys of a check-in that Sentry reads, and their JSON types (`null` counts as absent).
fn shape(item: &Value) -> BTreeSet<(String, &'static str)> {
    const KEYS: [&str; 8] = [
        "check_in_id",
        "monitor_slug",
        "status",
        "duration",
        "environment",
        "release",
        "monitor_config",
        "contexts",
    ];
    KEYS.iter()
        .filter_map(|k| {
            let ty = match item.get(*k)? {
                Value::Null => return None,
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Object(_) => "object",
                _ => "other",
            };
            Some(((*k).to_owned(), ty))
        })
        .collect()
}

#[test]
fn check_ins_have_the_python_sdks_shape() {
    let python = python_checkin_items();
    let server = MockServer::start();
    with_client(options(&server), || {
        with_monitor("nightly-report", Some(config()), || Ok::<_, String>(()))
    })
    .unwrap();
    let ours = check_ins(&server);
    assert_eq!(ours.len(), 2);
    for (ours, theirs) in ours.iter().zip(&python) {
        assert_eq!(
            shape(ours),
            shape(theirs),
            "ours {ours:#}\npython {theirs:#}"
        );
    }
    assert_eq!(ours[0]["monitor_config"], python[0]["monitor_config"]);
    let interval = MonitorConfig::new(MonitorSchedule::interval(2, IntervalUnit::Hour));
    let server = MockServer::start();
    with_client(options(&server), || {
        with_monitor("every-two-hours", Some(interval), || Ok::<_, String>(()))
    })
    .unwrap();
    assert_eq!(
        check_ins(&server)[0]["monitor_config"]["schedule"],
        serde_json::json!({"type": "interval", "value": 2, "unit": "hour"})
    );
}
