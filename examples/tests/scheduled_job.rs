//! `cargo run -p examples --bin scheduled_job` against a loopback Sentry: a good run and a
//! failing one (`JOB_FAIL=1`) each send their check-ins with the monitor's config, an event with
//! a file attached, and their session.

// A failed unwrap in a test is the test failing.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::process::Command;
use watchpost::testing::MockServer;

/// Runs the job against `server`; returns its exit status.
fn run_job(server: &MockServer, fail: bool) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scheduled_job"));
    cmd.env("SENTRY_DSN", server.dsn())
        .env_remove("SENTRY_ENVIRONMENT")
        .env_remove("SENTRY_RELEASE");
    if fail {
        cmd.env("JOB_FAIL", "1");
    } else {
        cmd.env_remove("JOB_FAIL");
    }
    cmd.status().expect("the job starts")
}

fn items(server: &MockServer, ty: &str) -> Vec<(serde_json::Map<String, Value>, Vec<u8>)> {
    server
        .envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == ty)
        .map(|i| (i.headers().clone(), i.payload().to_vec()))
        .collect()
}

fn payloads(server: &MockServer, ty: &str) -> Vec<Value> {
    items(server, ty)
        .into_iter()
        .map(|(_, p)| serde_json::from_slice(&p).unwrap())
        .collect()
}

/// Every structured log the server received, in order.
fn logs(server: &MockServer) -> Vec<Value> {
    payloads(server, "log")
        .into_iter()
        .flat_map(|batch| batch["items"].as_array().unwrap().clone())
        .collect()
}

fn statuses(values: &[Value]) -> Vec<String> {
    let mut s: Vec<String> = values
        .iter()
        .map(|v| v["status"].as_str().unwrap().to_owned())
        .collect();
    s.sort();
    s
}

#[test]
fn a_good_run_reports_ok_with_its_report_attached() {
    let server = MockServer::start();
    assert!(run_job(&server, false).success());
    let check_ins = payloads(&server, "check_in");
    assert_eq!(statuses(&check_ins), ["in_progress", "ok"]);
    let opening = check_ins
        .iter()
        .find(|c| c["status"] == "in_progress")
        .unwrap();
    assert_eq!(opening["monitor_slug"], "nightly-report");
    assert_eq!(opening["monitor_config"]["schedule"]["value"], "0 3 * * *");
    let events = server.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["level"], "info");
    let attached = items(&server, "attachment");
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].0["filename"], "report.txt");
    assert_eq!(attached[0].1, b"2 rows\n");
    let logs = logs(&server);
    let bodies: Vec<&str> = logs.iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies[0].starts_with("reading the export"));
    assert_eq!(bodies[1], "2 rows read");
    assert_eq!(logs[1]["attributes"]["job"]["value"], "nightly-report");
    assert_eq!(
        logs[1]["attributes"]["sentry.message.parameter.0"]["value"],
        2
    );
    let opening_trace = &opening["contexts"]["trace"]["trace_id"];
    assert!(
        logs.iter().all(|l| &l["trace_id"] == opening_trace),
        "logs share the job's trace"
    );
    let sessions = payloads(&server, "session");
    assert_eq!(statuses(&sessions), ["exited", "ok"]);
    assert!(sessions.iter().all(|s| s.get("errors").is_none()));
}

#[test]
fn a_failing_run_reports_error_with_its_manifest_attached() {
    let server = MockServer::start();
    assert_eq!(run_job(&server, true).code(), Some(1));
    let check_ins = payloads(&server, "check_in");
    assert_eq!(statuses(&check_ins), ["error", "in_progress"]);
    let closing = check_ins.iter().find(|c| c["status"] == "error").unwrap();
    assert!(closing["duration"].as_f64().is_some());
    let events = server.events();
    assert_eq!(events.len(), 1);
    let exception = &events[0]["exception"]["values"][0];
    assert!(exception["value"].as_str().unwrap().contains("missing"));
    let attached = items(&server, "attachment");
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].0["filename"], "manifest.txt");
    assert!(String::from_utf8_lossy(&attached[0].1).contains("job = nightly-report"));
    let logs = logs(&server);
    let error = logs
        .iter()
        .find(|l| l["level"] == "error")
        .expect("the error log");
    assert!(error["body"].as_str().unwrap().contains("cannot be read"));
    let sessions = payloads(&server, "session");
    let last = sessions.iter().find(|s| s["status"] == "exited").unwrap();
    assert_eq!(
        last["errors"], 1,
        "the failed run counts as errored: {sessions:#?}"
    );
}
