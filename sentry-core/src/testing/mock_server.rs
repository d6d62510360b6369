//! [`MockServer`]: a real HTTP server on a free loopback port that plays Sentry for integration
//! tests (the role Bypass plays for the Elixir client).

use super::request::ReceivedRequest;
use super::response::MockResponse;
use super::server::{self, ServerThread, Shared, State};
use crate::envelope::Envelope;
use serde_json::Value;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long the assertion helpers wait for requests still on their way.
const ASSERT_WAIT: Duration = Duration::from_secs(5);
/// How long dropping the server waits for its thread.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A loopback Sentry server for integration tests.
///
/// It answers every request, by default with `200` and `{"id":"<event_id>"}` as Sentry does;
/// script other answers with [`respond_with`](MockServer::respond_with). It keeps every request
/// it received, decompressed and read as an envelope, for the test to look at. Dropping it stops
/// it (also connections held open by [`MockResponse::never_answer`]).
///
/// Each test starts its own server, so tests running in parallel do not share one. Send to it
/// with [`with_client`](super::with_client), which keeps the client to the closure, or with
/// [`init`](crate::init) and [`SendResult::Sync`](crate::SendResult::Sync).
///
/// ```
/// use watchpost::testing::{with_client, MockResponse, MockServer};
/// use watchpost::{capture_message, CaptureOutcome, ClientOptions, Level, SendResult};
///
/// let server = MockServer::start();
/// server.respond_with(MockResponse::ok().body(r#"{"id":"340"}"#));
///
/// let options = ClientOptions::new().dsn(server.dsn()).send_result(SendResult::Sync);
/// let outcome = with_client(options, || capture_message("hello", Level::Info));
///
/// assert!(matches!(outcome, CaptureOutcome::Sent { server_id: Some(ref id), .. } if id == "340"));
/// let event = server.expect_single_event();
/// assert_eq!(event["logentry"]["formatted"], "hello");
/// server.assert_auth_header();
/// ```
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: ServerThread,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("requests", &self.shared.lock().requests.len())
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// The public key in [`dsn`](MockServer::dsn).
    pub const PUBLIC_KEY: &'static str = "public";
    /// The secret key in [`dsn_with_secret`](MockServer::dsn_with_secret).
    pub const SECRET_KEY: &'static str = "secret";
    /// The project id in the DSNs.
    pub const PROJECT_ID: &'static str = "1";

    /// Starts a server on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// When no port can be bound or no thread started; see [`try_start`](MockServer::try_start).
    pub fn start() -> MockServer {
        match Self::try_start() {
            Ok(server) => server,
            Err(e) => panic!("could not start the mock Sentry server: {e}"),
        }
    }

    /// Starts a server on a free port of 127.0.0.1, or says why it could not.
    pub fn try_start() -> io::Result<MockServer> {
        let shared = Arc::new(Shared::default());
        let (addr, thread) = server::spawn(shared.clone())?;
        Ok(MockServer {
            addr,
            shared,
            thread,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A DSN for this server: `http://public@127.0.0.1:<port>/1`.
    pub fn dsn(&self) -> String {
        format!(
            "http://{}@{}/{}",
            Self::PUBLIC_KEY,
            self.addr,
            Self::PROJECT_ID
        )
    }

    /// A DSN with the (deprecated) secret key: `http://public:secret@127.0.0.1:<port>/1`.
    pub fn dsn_with_secret(&self) -> String {
        format!(
            "http://{}:{}@{}/{}",
            Self::PUBLIC_KEY,
            Self::SECRET_KEY,
            self.addr,
            Self::PROJECT_ID
        )
    }

    /// The envelope endpoint clients post to: `http://127.0.0.1:<port>/api/1/envelope/`.
    pub fn envelope_url(&self) -> String {
        format!("{}/api/{}/envelope/", self.url(), Self::PROJECT_ID)
    }

    /// Queues an answer for the next request that has none yet. Answers are used in order, one
    /// per request; then the default answers.
    ///
    /// ```
    /// # use watchpost::testing::{MockResponse, MockServer};
    /// let server = MockServer::start();
    /// server.respond_with(MockResponse::status(500));
    /// server.respond_with(MockResponse::rate_limited(60, "error"));
    /// // The first request gets 500, the second 429, every later one 200.
    /// ```
    pub fn respond_with(&self, response: MockResponse) {
        self.shared.lock().scripted.push_back(response);
    }

    /// Queues the same answer for the next `n` requests.
    pub fn respond_with_many(&self, n: usize, response: MockResponse) {
        let mut state = self.shared.lock();
        state.scripted.extend(std::iter::repeat_n(response, n));
    }

    /// Sets the answer given when no scripted one is left (initially [`MockResponse::ok`]).
    pub fn set_default(&self, response: MockResponse) {
        self.shared.lock().default = response;
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The envelopes of the requests received so far (bodies that are not envelopes are skipped).
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter_map(|r| r.envelope.clone())
            .collect()
    }

    /// The payloads of the event items received so far, as JSON.
    ///
    /// A retried envelope arrives once per attempt, so its event is here once per attempt too.
    pub fn events(&self) -> Vec<Value> {
        events_in(&self.shared.lock())
    }

    /// The payloads of the client reports received so far, as JSON.
    pub fn client_reports(&self) -> Vec<Value> {
        self.shared
            .lock()
            .requests
            .iter()
            .flat_map(|r| r.items_json("client_report"))
            .collect()
    }

    /// Waits until at least `n` requests arrived or `timeout` passed, and returns those received
    /// (check their number: fewer came if the time ran out).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        self.shared
            .wait_until(timeout, |s| s.requests.len() >= n)
            .requests
            .clone()
    }

    /// Waits until at least `n` events arrived or `timeout` passed, and returns those received
    /// (check their number: fewer came if the time ran out).
    ///
    /// ```
    /// use watchpost::testing::{with_client, MockServer};
    /// use watchpost::{capture_message, ClientOptions, Level};
    /// use std::time::Duration;
    ///
    /// let server = MockServer::start();
    /// // The default, background sending: the capture call returns before the server answers.
    /// let options = ClientOptions::new().dsn(server.dsn());
    /// with_client(options, || capture_message("in the background", Level::Info));
    /// let events = server.wait_for_events(1, Duration::from_secs(5));
    /// assert_eq!(events.len(), 1);
    /// ```
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<Value> {
        events_in(&self.shared.wait_until(timeout, |s| events_in(s).len() >= n))
    }

    /// Forgets the requests received so far (the scripted answers stay).
    pub fn clear(&self) {
        self.shared.lock().requests.clear();
    }

    /// Asserts that exactly `n` events arrived, waiting up to 5 s for ones still on their way.
    /// An event arriving after the `n`th one was seen may be missed.
    ///
    /// # Panics
    ///
    /// When the number differs, listing the events received.
    #[track_caller]
    pub fn assert_event_count(&self, n: usize) {
        self.exactly_events(n);
    }

    /// Asserts that exactly one event arrived, waiting as
    /// [`assert_event_count`](Self::assert_event_count) does, and returns it.
    ///
    /// # Panics
    ///
    /// When none or several arrived.
    #[track_caller]
    pub fn expect_single_event(&self) -> Value {
        // Exactly one element, checked by `exactly_events`.
        self.exactly_events(1).swap_remove(0)
    }

    /// The events, once exactly `n` arrived.
    #[track_caller]
    fn exactly_events(&self, n: usize) -> Vec<Value> {
        let events = self.wait_for_events(n, ASSERT_WAIT);
        if events.len() != n {
            let titles: Vec<String> = events.iter().map(title).collect();
            panic!(
                "expected {n} events at the mock server, got {}: {titles:#?}",
                events.len()
            );
        }
        events
    }

    /// Asserts that at least one request arrived and that every request carried an
    /// `X-Sentry-Auth` header with `sentry_version=7` and this server's public key.
    ///
    /// # Panics
    ///
    /// When no request arrived, or one lacks the header or has a wrong one.
    #[track_caller]
    pub fn assert_auth_header(&self) {
        let requests = self.requests();
        assert!(!requests.is_empty(), "no request reached the mock server");
        let key = format!("sentry_key={}", Self::PUBLIC_KEY);
        for (i, r) in requests.iter().enumerate() {
            let Some(auth) = r.header("x-sentry-auth") else {
                panic!(
                    "request {i} ({} {}) has no X-Sentry-Auth header",
                    r.method, r.path
                );
            };
            assert!(
                auth.starts_with("Sentry sentry_version=7"),
                "request {i}: X-Sentry-Auth is `{auth}`, expected `Sentry sentry_version=7, ...`"
            );
            assert!(
                auth.split(',').any(|part| part.trim() == key),
                "request {i}: X-Sentry-Auth `{auth}` lacks `{key}`"
            );
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if !self.thread.stop(STOP_TIMEOUT) {
            let addr = self.addr;
            log::warn!(
                target: "watchpost",
                "the mock Sentry server on {addr} did not stop within {STOP_TIMEOUT:?}; leaving its thread behind"
            );
        }
    }
}

fn events_in(state: &State) -> Vec<Value> {
    state
        .requests
        .iter()
        .filter_map(ReceivedRequest::event)
        .collect()
}

/// A one-line description of an event for failure messages.
fn title(event: &Value) -> String {
    if let Some(exc) = event
        .pointer("/exception/values")
        .and_then(Value::as_array)
        .and_then(|v| v.last())
    {
        let ty = exc.get("type").and_then(Value::as_str).unwrap_or("?");
        return match exc.get("value").and_then(Value::as_str) {
            Some(v) => format!("{ty}: {v}"),
            None => ty.to_owned(),
        };
    }
    match event.pointer("/logentry/formatted").and_then(Value::as_str) {
        Some(m) => m.to_owned(),
        None => event.to_string().chars().take(200).collect(),
    }
}
