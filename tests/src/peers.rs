//! Real Sentry software as test judges.
//!
//! Everything here drives `tests/peers/peer.py` with the Python of `<repo>/.venv`, which
//! `scripts/setup-peers.sh` creates (pinned versions in `tests/peers/requirements.txt`):
//!
//! - [`Bugsink`]: a complete Sentry-compatible server on `127.0.0.1`, validating every event
//!   strictly against Sentry's event schema (a rejected event is answered `200` but not stored,
//!   so always read events back with [`Bugsink::events`] / [`Bugsink::wait_for_events`]).
//! - [`relay_normalize`] / [`relay_problems`] / [`assert_relay_clean`]: Relay's store normalizer, the first thing a
//!   real Sentry does with an event.
//! - [`python_parse_envelope`]: the Python SDK's envelope reader; [`python_log_items`] and the
//!   other `python_*_items`: the items it makes, as shape oracles.
//!
//! This is test code: every function panics with a full explanation when something fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long [`Bugsink::start`] waits for the server to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one query to a running server ([`Bugsink::events`]) may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root (the parent of the `tests` crate).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// Path of `tests/peers/peer.py`.
pub fn peer_script() -> PathBuf {
    workspace_root().join("tests").join("peers").join("peer.py")
}

/// The Python interpreter of the peers' virtual environment (`<repo>/.venv/bin/python`).
///
/// The first call in a process runs `scripts/setup-peers.sh`, which returns at once when the
/// venv is up to date and otherwise installs it (holding a file lock, so parallel test processes
/// don't race). Panics if that fails.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let root = workspace_root();
            let script = root.join("scripts").join("setup-peers.sh");
            let out = Command::new("bash")
                .arg(&script)
                .current_dir(&root)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            if !out.status.success() {
                panic!(
                    "{} failed ({}); the real Sentry peers (Bugsink, Relay, sentry-sdk) are \
                     needed for these tests.\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    script.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                );
            }
            let python = root.join(".venv").join("bin").join("python");
            assert!(
                python.exists(),
                "{} ran but {} does not exist",
                script.display(),
                python.display()
            );
            python
        })
        .clone()
}

/// Runs `peer.py ARGS` with `input` on stdin and returns its stdout; panics on failure.
fn run_peer(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python())
        .arg(peer_script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start peer.py {args:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    // Write from a thread: a large input must not deadlock against a full stdout pipe.
    let writer = thread::spawn(move || {
        // A peer that fails early closes stdin; its stderr then tells why.
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("peer.py {args:?} did not finish: {e}"));
    let _ = writer.join();
    if !out.status.success() {
        panic!(
            "peer.py {args:?} failed ({})\n--- stderr ---\n{}\n--- stdout ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
        );
    }
    out.stdout
}

fn parse_json_output(args: &[&str], out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!(
            "peer.py {args:?} printed something that is not JSON ({e}):\n{}",
            String::from_utf8_lossy(out)
        )
    })
}

/// A running Bugsink server (one project, strict validation) on `127.0.0.1`, stopped on drop.
///
/// Start one per test binary or per test; each has its own temporary folder and database, so
/// they can run side by side. Start-up takes 2–5 s (it copies an empty migrated database that
/// `scripts/setup-peers.sh` prepares; without it the first start migrates, 10 s or more).
#[derive(Debug)]
pub struct Bugsink {
    /// The project's DSN, e.g. `http://<key>@127.0.0.1:<port>/1`.
    pub dsn: String,
    /// The port the server listens on (on `127.0.0.1`).
    pub port: u16,
    /// The project's id (the last part of the DSN).
    pub project_id: u64,
    child: Child,
    /// `peer.py --stdin-control`: commands go to its stdin, answers come back as lines of its
    /// stdout. It stops the server when its stdin closes, even if our process dies without
    /// running `Drop`.
    control: Mutex<Option<Control>>,
    dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Control {
    stdin: ChildStdin,
    lines: mpsc::Receiver<std::io::Result<String>>,
}

impl Bugsink {
    /// Options for a client that sends to this server, environment `e2e`, ignoring `SENTRY_*`
    /// variables.
    pub fn client_options(&self) -> watchpost::ClientOptions {
        watchpost::ClientOptions::new()
            .use_env(false)
            .dsn(self.dsn.clone())
            .environment("e2e")
    }

    /// Starts a fresh server and waits (up to 120 s) until it accepts requests.
    ///
    /// Set `SENTRY_PEERS_KEEP=1` to keep its folder (database, `server.log`) after the test.
    pub fn start() -> Bugsink {
        let started = Instant::now();
        let python = python();
        let dir = tempfile::Builder::new()
            .prefix("bugsink-")
            .tempdir()
            .expect("cannot create a temporary folder for Bugsink");
        let stderr_path = dir.path().join("peer.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("cannot create peer.stderr");
        let mut cmd = Command::new(python);
        cmd.arg(peer_script())
            .arg("bugsink-serve")
            .arg("--dir")
            .arg(dir.path())
            .arg("--stdin-control")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        // Its own process group, so that Drop can stop peer.py and the server it runs at once.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start peer.py bugsink-serve: {e}"));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");

        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                let read = reader.read_line(&mut line);
                let done = !matches!(read, Ok(n) if n > 0);
                if tx.send(read.map(|_| line)).is_err() || done {
                    break;
                }
            }
        });

        let mut server = Bugsink {
            dsn: String::new(),
            port: 0,
            project_id: 0,
            child,
            control: Mutex::new(None),
            dir,
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            other => {
                let why = match other {
                    Ok(Ok(_)) => "peer.py exited without printing the DSN".to_owned(),
                    Ok(Err(e)) => format!("reading peer.py's output failed: {e}"),
                    Err(_) => format!("no DSN within {START_TIMEOUT:?}"),
                };
                // If peer.py is exiting, let it finish so its status and stderr are complete.
                let deadline = Instant::now() + Duration::from_secs(2);
                while matches!(server.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(50));
                }
                let details = server.diagnostics();
                drop(server);
                panic!("Bugsink did not start: {why}\n{details}");
            }
        };
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("peer.py bugsink-serve printed a line that is not JSON ({e}): {line}")
        });
        server.dsn = info["dsn"]
            .as_str()
            .unwrap_or_else(|| panic!("no dsn in {info}"))
            .to_owned();
        server.port = info["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("no port in {info}"));
        server.project_id = info["project_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no project_id in {info}"));
        server.control = Mutex::new(Some(Control { stdin, lines: rx }));
        eprintln!(
            "Bugsink started in {:.1?} at 127.0.0.1:{} (folder {})",
            started.elapsed(),
            server.port,
            server.dir.path().display()
        );
        server
    }

    /// The server's folder (configuration, SQLite database, `server.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The public key of the project's DSN.
    pub fn public_key(&self) -> &str {
        let rest = self
            .dsn
            .split_once("://")
            .map_or(self.dsn.as_str(), |(_, rest)| rest);
        rest.split_once('@').map_or("", |(key, _)| key)
    }

    /// `http://127.0.0.1:<port>/api/<project_id>/envelope/`
    pub fn envelope_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/api/{}/envelope/",
            self.port, self.project_id
        )
    }

    /// A valid `X-Sentry-Auth` header value for this server's project.
    pub fn auth_header(&self) -> String {
        format!(
            "Sentry sentry_version=7, sentry_client=peers-harness/0.1, sentry_key={}",
            self.public_key()
        )
    }

    /// Every stored event, oldest first: objects with `event_id`, `calculated_type`,
    /// `calculated_value`, `platform`, `issue_id`, `issue_digested_event_count` and `data` (the
    /// whole event as stored).
    pub fn events(&self) -> Vec<Value> {
        let mut answer = self.query("events");
        match answer.get_mut("events").map(Value::take) {
            Some(Value::Array(events)) => events,
            _ => panic!(
                "Bugsink's `events` query failed: {answer}\n--- server log ---\n{}",
                self.log()
            ),
        }
    }

    /// Sends one command to `peer.py --stdin-control` and returns its JSON answer.
    fn query(&self, command: &str) -> Value {
        let mut guard = self
            .control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let control = guard
            .as_mut()
            .expect("the control pipe is set once the server has started");
        let sent = control
            .stdin
            .write_all(format!("{command}\n").as_bytes())
            .and_then(|()| control.stdin.flush());
        let line = match (sent, control.lines.recv_timeout(QUERY_TIMEOUT)) {
            (Ok(()), Ok(Ok(line))) if !line.is_empty() => line,
            (sent, received) => {
                drop(guard);
                panic!(
                    "Bugsink's helper did not answer `{command}` (send: {sent:?}, answer: \
                     {received:?}); has the server died?\n--- server log ---\n{}",
                    self.log()
                );
            }
        };
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("answer to `{command}` is not JSON ({e}): {line}"))
    }

    /// Waits until at least `n` events are stored and returns all of them; panics with what was
    /// stored and the server log if that does not happen within `timeout`.
    ///
    /// Events rejected by strict validation are never stored: the log tells why.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events();
            if events.len() >= n {
                return events;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected at least {n} stored event(s) within {timeout:?}, found {}:\n{}\n\
                     --- server log ---\n{}",
                    events.len(),
                    serde_json::to_string_pretty(&events).unwrap_or_default(),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The server log (shows `ValidationError ... invalid_event_data` for rejected events).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log"))
            .unwrap_or_else(|e| format!("<no server.log: {e}>"))
    }

    /// Exit status, stderr of peer.py and the server log, for failure messages.
    fn diagnostics(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("peer.py exited: {status}"),
            Ok(None) => "peer.py is still running".to_owned(),
            Err(e) => format!("peer.py status unknown: {e}"),
        };
        let stderr =
            std::fs::read_to_string(self.dir.path().join("peer.stderr")).unwrap_or_default();
        format!(
            "{status}\n--- peer.py stderr ---\n{stderr}\n--- server log ---\n{}",
            self.log()
        )
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Bugsink {
    fn drop(&mut self) {
        let control = self
            .control
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        drop(control);
        if let Ok(None) = self.child.try_wait() {
            self.signal_group("TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() >= deadline {
                    self.signal_group("KILL");
                    let _ = self.child.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        // Whatever peer.py left in its group (normally nothing by now).
        self.signal_group("KILL");
        if std::env::var_os("SENTRY_PEERS_KEEP").is_some_and(|v| v == "1") {
            let dir = std::mem::replace(
                &mut self.dir,
                tempfile::TempDir::new().expect("cannot create a temporary folder"),
            );
            let kept = dir.keep();
            eprintln!("Bugsink folder kept at {}", kept.display());
        }
    }
}

/// Relay's store normalization of `event`: the event as Sentry would store it, with any invalid
/// field listed in `errors` and marked with an `err` entry under `_meta`.
pub fn relay_normalize(event: &Value) -> Value {
    let input = serde_json::to_vec(event).expect("a serde_json::Value always serializes");
    let args = ["relay-normalize"];
    let out = run_peer(&args, &input);
    let mut parsed = parse_json_output(&args, &out);
    match parsed.get_mut("normalized") {
        Some(normalized) => normalized.take(),
        None => panic!("relay-normalize printed no `normalized`: {parsed}"),
    }
}

/// What Relay finds invalid in `event`, as readable lines (empty when the event is clean): each
/// entry of the normalized event's `errors` list, then each `err` entry under `_meta` with the
/// path of the field it is attached to.
pub fn relay_problems(event: &Value) -> Vec<String> {
    problems_in(&relay_normalize(event))
}

fn problems_in(normalized: &Value) -> Vec<String> {
    let mut problems: Vec<String> = normalized
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().map(|e| format!("errors: {e}")).collect())
        .unwrap_or_default();
    if let Some(meta) = normalized.get("_meta") {
        collect_meta_errors(meta, "", &mut problems);
    }
    problems
}

/// The innermost frame (where it happened) of an exception as Sentry stores it: the last of
/// `stacktrace.frames`. Panics when there is none.
pub fn top_frame(exception: &serde_json::Value) -> serde_json::Value {
    exception["stacktrace"]["frames"]
        .as_array()
        .and_then(|frames| frames.last())
        .unwrap_or_else(|| panic!("no stack frames in {exception}"))
        .clone()
}

/// Panics, showing the problems and the whole normalized event, if Relay finds anything invalid
/// in `event`: a non-empty `errors` list or an `err` entry anywhere under `_meta`.
pub fn assert_relay_clean(event: &Value) {
    let normalized = relay_normalize(event);
    let problems = problems_in(&normalized);
    if !problems.is_empty() {
        panic!(
            "Relay found invalid data in the event:\n  {}\n--- event ---\n{}\n\
             --- normalized by Relay ---\n{}",
            problems.join("\n  "),
            serde_json::to_string_pretty(event).unwrap_or_default(),
            serde_json::to_string_pretty(&normalized).unwrap_or_default(),
        );
    }
}

fn collect_meta_errors(meta: &Value, path: &str, found: &mut Vec<String>) {
    match meta {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "err" {
                    let at = if path.is_empty() { "<event>" } else { path };
                    found.push(format!("_meta.{at}: {value}"));
                    continue;
                }
                let child = match (path.is_empty(), key.is_empty()) {
                    (true, _) => key.clone(),
                    (false, true) => path.to_owned(),
                    (false, false) => format!("{path}.{key}"),
                };
                collect_meta_errors(value, &child, found);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                collect_meta_errors(value, &format!("{path}.{i}"), found);
            }
        }
        _ => {}
    }
}

/// The Python SDK's reading of an envelope (`sentry_sdk.envelope.Envelope.deserialize`):
///
/// ```json
/// {"headers": {...},
///  "items": [{"headers": {...}, "raw_headers": {...}, "type": "event",
///             "payload_json": {...} | null, "payload_len": 123, "payload_base64": "..."}],
///  "warnings": ["..."]}
/// ```
///
/// `headers` of an item is what the Python SDK made of it (it adds an inferred `content_type`),
/// `raw_headers` the item header exactly as sent. `payload_json` is the payload parsed as JSON
/// (null when it is not JSON). `warnings` lists framing problems the Python SDK tolerates
/// silently, such as a payload that is not followed by a newline: a correct envelope has none.
pub fn python_parse_envelope(bytes: &[u8]) -> Value {
    let args = ["parse-envelope"];
    let out = run_peer(&args, bytes);
    parse_json_output(&args, &out)
}

/// One value that Relay's data scrubber would still change in an event (see
/// [`relay_pii_changes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PiiChange {
    /// Dotted path of the value, with pair lists (headers, cookies, query) by key:
    /// `request.headers.Referer`, `request.data.note`.
    pub path: String,
    /// The value as sent.
    pub before: Value,
    /// The value as Sentry would keep it (`null` when removed).
    pub after: Value,
    /// Relay's rules that changed it, such as `@password:filter` or `@creditcard:filter`.
    pub rules: Vec<String>,
}

impl std::fmt::Display for PiiChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} -> {} ({})",
            self.path,
            self.before,
            self.after,
            self.rules.join(", ")
        )
    }
}

/// Every value of `event` that Relay's data scrubber (`pii_strip_event` with Sentry's default
/// project settings: scrub data and defaults on, no extra sensitive fields, IP addresses scrubbed
/// unless `send_default_pii`) would still change. Empty when Sentry would keep the event as
/// sent.
pub fn relay_pii_changes(event: &Value, send_default_pii: bool) -> Vec<PiiChange> {
    let input = serde_json::to_vec(event).expect("a serde_json::Value always serializes");
    let mut args = vec!["relay-pii-changes"];
    if send_default_pii {
        args.push("--send-default-pii");
    }
    let out = run_peer(&args, &input);
    let parsed = parse_json_output(&args, &out);
    let Some(changes) = parsed.get("changes").and_then(Value::as_array) else {
        panic!("relay-pii-changes printed no `changes`: {parsed}");
    };
    changes
        .iter()
        .map(|c| PiiChange {
            path: c["path"].as_str().unwrap_or_default().to_owned(),
            before: c["before"].clone(),
            after: c["after"].clone(),
            rules: c["rules"]
                .as_array()
                .map(|rules| {
                    rules
                        .iter()
                        .filter_map(|r| r[0].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Panics, listing each value, if Relay's data scrubber would still change anything in the
/// `request` or `user` of `event` (sent with `send_default_pii` off): whatever Sentry would
/// strip must already have been scrubbed by the SDK.
///
/// One change is expected and allowed: Relay's `@ip` rule rewrites IP-looking text anywhere,
/// including the `Host` header, which names the server the client called (our test servers
/// listen on `127.0.0.1`), not the client.
pub fn assert_relay_would_scrub_nothing(event: &Value) {
    let changes: Vec<PiiChange> = relay_pii_changes(event, false)
        .into_iter()
        .filter(|c| c.path.starts_with("request.") || c.path.starts_with("user."))
        .filter(|c| !(c.path == "request.headers.Host" && c.rules == ["@ip:replace"]))
        .collect();
    if !changes.is_empty() {
        let listed: Vec<String> = changes.iter().map(ToString::to_string).collect();
        panic!(
            "Relay's data scrubber would still change what the SDK sent:\n  {}\n--- event ---\n{}",
            listed.join("\n  "),
            serde_json::to_string_pretty(event).unwrap_or_default(),
        );
    }
}

/// A Python service instrumented with the real `sentry-sdk` (see `peer.py trace-service`),
/// stopped when dropped.
#[derive(Debug)]
pub struct PythonTraceService {
    child: Child,
    port: u16,
}

impl PythonTraceService {
    /// Starts the service reporting to `dsn`; its `GET /call` calls `next` when given.
    pub fn start(dsn: &str, next: Option<&str>) -> PythonTraceService {
        let mut cmd = Command::new(python());
        cmd.arg(peer_script())
            .args(["trace-service", "--dsn", dsn])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(next) = next {
            cmd.args(["--next", next]);
        }
        let mut child = cmd.spawn().expect("starting peer.py trace-service");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the service's port");
        let port = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("trace-service printed no port: {line:?}"));
        PythonTraceService { child, port }
    }

    /// The URL of its `GET /call`.
    pub fn call_url(&self) -> String {
        format!("http://127.0.0.1:{}/call", self.port)
    }
}

impl Drop for PythonTraceService {
    fn drop(&mut self) {
        // EOF on stdin stops it; kill it if it does not go within a few seconds.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

/// The `check_in` payloads the real Python SDK makes for an `in_progress` check-in with a
/// monitor config and the `ok` one closing it (see `peer.py checkin-items`).
pub fn python_checkin_items() -> Vec<Value> {
    let args = ["checkin-items"];
    let out = run_peer(&args, b"");
    match parse_json_output(&args, &out).get_mut("items") {
        Some(Value::Array(items)) => std::mem::take(items),
        other => panic!("checkin-items printed no items: {other:?}"),
    }
}

/// The `session` and `sessions` payloads the real Python SDK sends for an application session
/// with handled errors and for request-mode aggregates (see `peer.py session-items`), as
/// `{"session": ..., "sessions": ...}`.
pub fn python_session_items() -> Value {
    let args = ["session-items"];
    let out = run_peer(&args, b"");
    parse_json_output(&args, &out)
}

/// The item headers of the envelope the real Python SDK makes for a message event with an
/// attachment (see `peer.py attachment-items`).
pub fn python_attachment_items() -> Vec<Value> {
    let args = ["attachment-items"];
    let out = run_peer(&args, b"");
    match parse_json_output(&args, &out).get_mut("items") {
        Some(Value::Array(items)) => std::mem::take(items),
        other => panic!("attachment-items printed no items: {other:?}"),
    }
}

/// The envelopes with `log` items the real Python SDK makes with `enable_logs=True` for one
/// `sentry_sdk.logger.info` call with a template parameter and attributes, inside a transaction,
/// with a scope user and `send_default_pii` (see `peer.py log-items`): objects with `headers`
/// and `items` (each `{"headers", "payload"}`).
pub fn python_log_items() -> Vec<Value> {
    let args = ["log-items"];
    let out = run_peer(&args, b"");
    match parse_json_output(&args, &out).get_mut("envelopes") {
        Some(Value::Array(envelopes)) => std::mem::take(envelopes),
        other => panic!("log-items printed no envelopes: {other:?}"),
    }
}
