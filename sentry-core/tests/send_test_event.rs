//! `sentry-send-test-event` as a user runs it: a real process, configured by `SENTRY_*`
//! variables or a file, against a real loopback server. Each outcome's text is checked, and the
//! secret key is never printed in full.

use std::process::{Command, Output};
use watchpost::testing::{MockResponse, MockServer};

const SECRET: &str = "s3cr3tvalue";

fn run(vars: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentry-send-test-event"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SENTRY_")) {
        cmd.env_remove(k);
    }
    cmd.envs(vars.iter().copied()).args(args);
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    let text = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        !text.contains(SECRET),
        "the secret key was printed:\n{text}"
    );
    assert!(!String::from_utf8_lossy(&stderr).contains(SECRET));
    (status.success(), text)
}

fn dsn(server: &MockServer) -> String {
    format!("http://public:{SECRET}@127.0.0.1:{}/1", server.port())
}

#[test]
fn excluded_environment_sends_nothing_and_says_so() {
    let server = MockServer::start();
    let (ok, text) = run(
        &[
            ("SENTRY_DSN", &dsn(&server)),
            ("SENTRY_ENVIRONMENT", "dev"),
            ("SENTRY_INCLUDED_ENVIRONMENTS", "prod"),
        ],
        &[],
    );
    assert!(ok);
    assert_eq!(
        text,
        format!(
            "Client configuration:\nserver: http://127.0.0.1:{}/api/1/envelope/\npublic_key: public\n\
             secret_key: *********ue\nincluded_environments: [prod]\ncurrent environment_name: dev\n\n\
             dev is not in [prod] so no test event will be sent\n",
            server.port()
        )
    );
    assert!(server.requests().is_empty());
}

#[test]
fn included_environment_sends_and_prints_the_event_id() {
    let server = MockServer::start();
    let (ok, text) = run(
        &[
            ("SENTRY_DSN", &dsn(&server)),
            ("SENTRY_ENVIRONMENT", "prod"),
            ("SENTRY_INCLUDED_ENVIRONMENTS", "prod"),
        ],
        &[],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "current environment_name: prod\n\nSending test event!\nTest event sent, event id: "
        ),
        "{text}"
    );
    let event = server.expect_single_event();
    let id = event["event_id"].as_str().unwrap();
    assert!(
        text.contains(id),
        "printed id matches the sent event:\n{text}"
    );
    assert_eq!(
        event["exception"]["values"][0]["value"],
        "Testing sending Sentry event"
    );
    assert_eq!(event["environment"], "prod");
}

#[test]
fn config_file_is_read_like_the_application_does() {
    let server = MockServer::start();
    let dir = std::env::temp_dir().join(format!("sentry-test-event-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sentry.env");
    std::fs::write(
        &file,
        format!(
            "# app config\nSENTRY_DSN=\"{}\"\nSENTRY_ENVIRONMENT=staging\n",
            dsn(&server)
        ),
    )
    .unwrap();
    let (ok, text) = run(&[], &["--config", file.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("current environment_name: staging\n"));
    assert_eq!(server.events().len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn refused_connection_is_one_sentence_and_exit_1() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (ok, text) = run(
        &[
            (
                "SENTRY_DSN",
                &format!("http://public:{SECRET}@127.0.0.1:{port}/1"),
            ),
            ("SENTRY_SEND_MAX_ATTEMPTS", "1"),
        ],
        &[],
    );
    assert!(!ok);
    assert!(
        text.ends_with(&format!(
            "Could not send the test event: the connection to 127.0.0.1:{port} was refused.\n"
        )),
        "{text}"
    );
}

#[test]
fn unauthorized_shows_the_servers_detail() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(401).body(r#"{"detail":"invalid api key"}"#));
    let (ok, text) = run(&[("SENTRY_DSN", &dsn(&server))], &[]);
    assert!(!ok);
    assert!(
        text.ends_with("The server rejected the test event with status 401: invalid api key.\n"),
        "{text}"
    );
}

#[test]
fn rate_limit_shows_the_retry_time() {
    let server = MockServer::start();
    server.respond_with(MockResponse::status(429).header("Retry-After", "60"));
    let (ok, text) = run(&[("SENTRY_DSN", &dsn(&server))], &[]);
    assert!(!ok);
    assert!(
        text.ends_with("The server is rate limiting this project (429): retry in 60 seconds.\n"),
        "{text}"
    );
}

#[test]
fn malformed_dsn_is_reported_not_panicked_on() {
    let (ok, text) = run(&[("SENTRY_DSN", "https://nokey.example.com/1")], &[]);
    assert!(!ok);
    assert!(
        text.contains("The DSN is invalid: the DSN has no public key"),
        "{text}"
    );
}
