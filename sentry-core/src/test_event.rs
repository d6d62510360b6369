//! `send_test_event`: checks a configuration by printing it and sending one event, as the
//! Elixir client's `mix sentry.send_test_event` does.

use crate::capture::error_event;
use crate::context::{Context, EventSource};
use crate::error::SendError;
use crate::event::Mechanism;
use crate::options::SendResult;
use crate::stacktrace::RawStacktrace;
use crate::transport::{error_chain, HttpErrorKind};
use crate::{CaptureOutcome, ClientOptions, Dsn};
use std::io::{self, Write};
use std::panic::Location;
use uuid::Uuid;

/// What [`send_test_event`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestEventOutcome {
    /// The server accepted the event.
    Sent {
        /// The event's id.
        event_id: Uuid,
        /// The id the server answered with.
        server_id: Option<String>,
    },
    /// The current environment is not included, so nothing was sent (not a failure).
    NotIncluded,
    /// No DSN is configured.
    NoDsn,
    /// The configuration is invalid, or sending failed; the text is one plain sentence.
    Failed(String),
}

impl TestEventOutcome {
    /// True unless the configuration is wrong or the event could not be delivered.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            TestEventOutcome::Sent { .. } | TestEventOutcome::NotIncluded
        )
    }
}

/// The error behind the test event.
#[derive(Debug)]
struct TestError;

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Testing sending Sentry event")
    }
}

impl std::error::Error for TestError {}

/// Prints the client configuration to `out` (the secret key masked) and, when the current
/// environment is included, sends one test event synchronously and prints its id or, in one
/// sentence, why it failed.
///
/// ```no_run
/// let options = watchpost::ClientOptions::from_env().expect("valid SENTRY_* variables");
/// let outcome = watchpost::send_test_event(options, &mut std::io::stdout());
/// std::process::exit(if outcome.is_success() { 0 } else { 1 });
/// ```
#[track_caller]
pub fn send_test_event(options: ClientOptions, out: &mut dyn Write) -> TestEventOutcome {
    let location = Location::caller();
    let options = if options.use_env {
        match options.apply_env() {
            Ok(o) => o,
            Err(e) => {
                let outcome = fail(out, format!("The configuration is invalid: {e}."));
                let _ = out.flush();
                return outcome;
            }
        }
    } else {
        options
    };
    let options = options.send_result(SendResult::Sync);
    let outcome = run(options, out, location);
    let _ = out.flush();
    outcome
}

fn run(
    options: ClientOptions,
    out: &mut dyn Write,
    location: &'static Location<'static>,
) -> TestEventOutcome {
    let _ = writeln!(out, "Client configuration:");
    let Some(dsn_str) = options.dsn_str().map(str::to_owned) else {
        let _ = writeln!(out, "dsn: (not set)");
        let _ = writeln!(
            out,
            "\nNo DSN is configured (set SENTRY_DSN), so no test event will be sent."
        );
        return TestEventOutcome::NoDsn;
    };
    let dsn: Dsn = match dsn_str.parse() {
        Ok(d) => d,
        Err(e) => return fail(out, format!("The DSN is invalid: {e}.")),
    };
    let _ = print_config(out, &dsn, &options);
    if let Err(e) = options.validate() {
        return fail(out, format!("The configuration is invalid: {e}."));
    }
    if !options.environment_included() {
        let list = options
            .included_environments_list()
            .unwrap_or_default()
            .join(", ");
        let _ = writeln!(
            out,
            "\n{} is not in [{list}] so no test event will be sent",
            options.environment_name()
        );
        return TestEventOutcome::NotIncluded;
    }
    let _ = writeln!(out, "\nSending test event!");
    let client = match crate::client::build_client(options) {
        Ok(Some(c)) => std::sync::Arc::new(c),
        Ok(None) => return TestEventOutcome::NoDsn,
        Err(e) => return fail(out, format!("The configuration is invalid: {e}.")),
    };
    let mut event = error_event(&TestError, "watchpost::TestEvent");
    if let Some(exc) = event.exception.values.last_mut() {
        exc.mechanism = Some(Mechanism::new("generic", true));
    }
    event.tags.insert("sentry.test_event".into(), "true".into());
    let ctx = Context::with_client(client.clone());
    let outcome = ctx.run(|| {
        client.capture(
            event,
            Some(RawStacktrace::capture(Some(location))),
            &ctx,
            EventSource::Capture,
        )
    });
    match outcome {
        CaptureOutcome::Sent {
            event_id,
            server_id,
        } => {
            let _ = writeln!(out, "Test event sent, event id: {}", event_id.simple());
            if let Some(id) = &server_id {
                let _ = writeln!(out, "The server answered with id: {id}");
            }
            TestEventOutcome::Sent {
                event_id,
                server_id,
            }
        }
        CaptureOutcome::Failed { error, .. } => fail(out, explain(&error, &dsn)),
        other => fail(out, format!("The test event was not sent: {other:?}.")),
    }
}

fn fail(out: &mut dyn Write, sentence: String) -> TestEventOutcome {
    let _ = writeln!(out, "{sentence}");
    TestEventOutcome::Failed(sentence)
}

fn print_config(out: &mut dyn Write, dsn: &Dsn, o: &ClientOptions) -> io::Result<()> {
    writeln!(out, "server: {}", dsn.envelope_url())?;
    writeln!(out, "public_key: {}", dsn.public_key())?;
    writeln!(
        out,
        "secret_key: {}",
        dsn.secret_key().map_or_else(|| "(none)".to_owned(), mask)
    )?;
    match o.included_environments_list() {
        Some(list) => writeln!(out, "included_environments: [{}]", list.join(", "))?,
        None => writeln!(out, "included_environments: (every environment)")?,
    }
    writeln!(out, "current environment_name: {}", o.environment_name())
}

/// Shows at most the last two characters of a secret, never the whole of it.
fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 4 {
        "*".repeat(n.max(4))
    } else {
        let tail: String = secret.chars().skip(n - 2).collect();
        format!("{}{tail}", "*".repeat(n - 2))
    }
}

/// One plain sentence for a send failure.
fn explain(error: &SendError, dsn: &Dsn) -> String {
    let host = match dsn.port() {
        Some(p) => format!("{}:{p}", dsn.host()),
        None => dsn.host().to_owned(),
    };
    match error {
        SendError::Network(e) => match e.kind() {
            HttpErrorKind::HostNotFound => format!(
                "Could not send the test event: the host name `{}` could not be resolved (DNS failure).",
                dsn.host()
            ),
            HttpErrorKind::ConnectionRefused => {
                format!("Could not send the test event: the connection to {host} was refused.")
            }
            HttpErrorKind::TimedOut => {
                format!("Could not send the test event: {host} did not answer in time ({e}).")
            }
            _ => format!(
                "Could not send the test event to {host}: {}.",
                error_chain(e)
            ),
        },
        SendError::Status {
            status: 429,
            retry_after,
            ..
        } => match retry_after {
            Some(s) => {
                format!("The server is rate limiting this project (429): retry in {s} seconds.")
            }
            None => "The server is rate limiting this project (429).".to_owned(),
        },
        SendError::RateLimited { retry_after } => {
            format!(
                "The server is rate limiting this project (429): retry in {retry_after} seconds."
            )
        }
        SendError::Status { status, detail, .. } => match detail {
            Some(d) => format!("The server rejected the test event with status {status}: {d}."),
            None => format!("The server rejected the test event with status {status}."),
        },
        other => format!("Could not send the test event: {other}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed_in_full() {
        assert_eq!(mask("abc"), "****");
        assert_eq!(mask("supersecret"), "*********et");
        let mut out = Vec::new();
        let dsn: Dsn = "http://pub:supersecret@127.0.0.1:1/1".parse().unwrap();
        print_config(&mut out, &dsn, &ClientOptions::new()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("public_key: pub\n"));
        assert!(!text.contains("supersecret"));
    }

    #[test]
    fn not_included_prints_the_elixir_sentence() {
        let mut out = Vec::new();
        let o = ClientOptions::new()
            .use_env(false)
            .dsn("http://public:secret@127.0.0.1:9/1")
            .environment("dev")
            .included_environments(["prod"]);
        let outcome = send_test_event(o, &mut out);
        assert_eq!(outcome, TestEventOutcome::NotIncluded);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("\ndev is not in [prod] so no test event will be sent\n"),
            "{text}"
        );
        assert!(text.contains("current environment_name: dev\n"));
    }
}
