//! In-memory capture: a client whose transport keeps envelopes in a `Vec`, bound to its own
//! [`Context`] so that parallel tests never see each other's events.

use crate::client::Client;
use crate::context::Context;
use crate::envelope::Envelope;
use crate::error::SendError;
use crate::event::Event;
use crate::options::{ClientOptions, SendResult};
use crate::transport::{Sent, Stats, Transport};
use std::sync::{Arc, Mutex, PoisonError};

/// A transport that keeps every envelope it is given, in order, and answers like a server that
/// accepted them (`server_id` is the envelope's `event_id`).
#[derive(Debug, Default)]
pub(crate) struct MemoryTransport {
    envelopes: Mutex<Vec<Envelope>>,
}

impl MemoryTransport {
    fn envelopes(&self) -> Vec<Envelope> {
        self.lock().clone()
    }

    fn take(&self) -> Vec<Envelope> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Envelope>> {
        // A test that panicked while holding the lock leaves a usable Vec behind.
        self.envelopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Transport for MemoryTransport {
    fn send(&self, envelope: Envelope) -> Result<Sent, SendError> {
        let server_id = envelope
            .headers()
            .get("event_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        self.lock().push(envelope);
        Ok(Sent { server_id })
    }
}

/// Captures events in memory, for as many [`run`](EventCapture::run) calls as a test needs.
///
/// An `EventCapture` owns a client with an in-memory transport and a fresh [`Context`] bound to
/// that client. Code run inside [`run`](EventCapture::run) sends its events there instead of to
/// the global client, through the whole pipeline (scope, defaults, `filter`, `sample_rate`,
/// `before_send`), synchronously. Since the context is per thread, tests running in parallel never
/// see each other's events.
///
/// Threads spawned inside `run` start with an empty context: their events are captured only when
/// they carry this one, e.g. `Context::current().fork()` moved in and `run` there (a fork keeps
/// the client), or [`context`](EventCapture::context) bound to a future with
/// [`bind_context`](crate::ContextFutureExt::bind_context).
///
/// ```
/// use watchpost::testing::EventCapture;
/// use watchpost::{capture_message, set_tags_context, Level};
///
/// let capture = EventCapture::new();
/// capture.run(|| set_tags_context([("step", "one")]));
/// capture.run(|| capture_message("first", Level::Info));
///
/// let ctx = capture.context().fork();
/// std::thread::spawn(move || ctx.run(|| capture_message("from a thread", Level::Info)))
///     .join()
///     .unwrap();
///
/// let events = capture.events();
/// assert_eq!(events.len(), 2);
/// assert_eq!(events[0].title(), "first");
/// assert_eq!(events[1].tags["step"], "one");
/// ```
#[derive(Debug)]
pub struct EventCapture {
    transport: Arc<MemoryTransport>,
    context: Context,
}

impl Default for EventCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl EventCapture {
    /// A capture with default options.
    pub fn new() -> Self {
        Self::with_options(ClientOptions::new())
    }

    /// A capture with these options (release, tags, `before_send`, ...). The DSN and
    /// `send_result` are ignored: events are always kept in memory, synchronously. The environment
    /// variables `SENTRY_*` are not read.
    ///
    /// # Panics
    ///
    /// When the options are invalid, with the error naming the option: this is test code, and a
    /// bad option is a bug in the test.
    pub fn with_options(options: ClientOptions) -> Self {
        // The DSN plays no part here; dropping it also keeps a bad one from failing validation.
        let mut options = options.send_result(SendResult::Sync);
        options.dsn = None;
        if let Err(e) = options.validate() {
            panic!("EventCapture: invalid ClientOptions: {e}");
        }
        let transport = Arc::new(MemoryTransport::default());
        let client = Client::with_transport(options, transport.clone(), Arc::new(Stats::default()));
        EventCapture {
            transport,
            context: Context::with_client(Arc::new(client)),
        }
    }

    /// Runs `f` with this capture's context as the current one.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.context.run(f)
    }

    /// The context events are captured in; fork it to carry it into other threads.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The envelopes captured so far, in capture order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.transport.envelopes()
    }

    /// The events captured so far, in capture order.
    ///
    /// # Panics
    ///
    /// When an event item cannot be read back as an [`Event`]: that is a bug in the SDK.
    pub fn events(&self) -> Vec<Event> {
        events_of(&self.transport.envelopes())
    }

    /// Takes the events captured so far: later calls see only newer ones.
    ///
    /// # Panics
    ///
    /// As [`events`](EventCapture::events).
    pub fn take_events(&self) -> Vec<Event> {
        events_of(&self.transport.take())
    }
}

/// The events of `envelopes`, in order.
fn events_of(envelopes: &[Envelope]) -> Vec<Event> {
    envelopes
        .iter()
        .flat_map(|env| env.items().iter().filter(|i| i.ty() == "event"))
        .map(|item| match serde_json::from_slice(item.payload()) {
            Ok(event) => event,
            Err(e) => panic!(
                "a captured event item is not a valid Event ({e}): {}",
                String::from_utf8_lossy(item.payload())
            ),
        })
        .collect()
}

/// Runs `f` and returns its result with the events it captured, in order; nothing is sent.
///
/// Parallel-safe: see [`EventCapture`], which this wraps, for threads spawned inside `f`.
///
/// ```
/// use watchpost::testing::with_captured_events;
/// use watchpost::{capture_message, Level};
///
/// let (outcome, events) = with_captured_events(|| capture_message("hello", Level::Warning));
/// assert!(outcome.is_accepted());
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].title(), "hello");
/// assert_eq!(events[0].level, Level::Warning);
/// ```
///
/// # Panics
///
/// When `f` panics (the panic goes on), or as [`EventCapture::events`].
pub fn with_captured_events<R>(f: impl FnOnce() -> R) -> (R, Vec<Event>) {
    with_captured_events_options(ClientOptions::new(), f)
}

/// [`with_captured_events`] with options: a `before_send`, a release, tags, ...
///
/// ```
/// use watchpost::testing::with_captured_events_options;
/// use watchpost::{capture_message, ClientOptions, Level};
///
/// let options = ClientOptions::new().release("app@1.0.0").before_send(|mut event: watchpost::Event| {
///     event.fingerprint = vec!["grouped".to_owned()];
///     Some(event)
/// });
/// let ((), events) = with_captured_events_options(options, || {
///     capture_message("hello", Level::Info);
/// });
/// assert_eq!(events[0].release.as_deref(), Some("app@1.0.0"));
/// assert_eq!(events[0].fingerprint, ["grouped"]);
/// ```
///
/// # Panics
///
/// When the options are invalid, when `f` panics, or as [`EventCapture::events`].
pub fn with_captured_events_options<R>(
    options: ClientOptions,
    f: impl FnOnce() -> R,
) -> (R, Vec<Event>) {
    let capture = EventCapture::with_options(options);
    let r = capture.run(f);
    (r, capture.events())
}

/// Runs `f` and returns its result with the envelopes it produced, in order: to look at item
/// headers, attachments or feedback rather than events alone.
///
/// ```
/// use watchpost::testing::with_captured_envelopes;
/// use watchpost::{capture_message, ClientOptions, Level};
///
/// let (_, envelopes) = with_captured_envelopes(ClientOptions::new(), || {
///     capture_message("hi", Level::Info)
/// });
/// assert_eq!(envelopes.len(), 1);
/// assert_eq!(envelopes[0].items()[0].ty(), "event");
/// assert!(envelopes[0].headers().contains_key("event_id"));
/// ```
///
/// # Panics
///
/// When the options are invalid or `f` panics.
pub fn with_captured_envelopes<R>(
    options: ClientOptions,
    f: impl FnOnce() -> R,
) -> (R, Vec<Envelope>) {
    let capture = EventCapture::with_options(options);
    let r = capture.run(f);
    (r, capture.envelopes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{capture_message, CaptureOutcome, Level};

    #[test]
    fn memory_transport_answers_with_the_event_id() {
        let ((outcome, id), events) = with_captured_events(|| {
            let outcome = capture_message("m", Level::Info);
            (outcome.clone(), outcome.event_id())
        });
        let id = id.expect("a sent event has an id");
        assert_eq!(
            outcome,
            CaptureOutcome::Sent {
                event_id: id,
                server_id: Some(id.simple().to_string())
            }
        );
        assert_eq!(events[0].event_id, id);
    }

    #[test]
    fn captures_do_not_share_events() {
        let (capture, other) = (EventCapture::new(), EventCapture::new());
        other.run(|| capture_message("elsewhere", Level::Info));
        capture.run(|| capture_message("here", Level::Info));
        let titles: Vec<_> = capture.events().iter().map(Event::title).collect();
        assert_eq!(titles, ["here"]);
        assert_eq!(other.events().len(), 1);
    }

    #[test]
    fn take_events_empties_the_capture() {
        let capture = EventCapture::new();
        capture.run(|| capture_message("a", Level::Info));
        assert_eq!(capture.take_events().len(), 1);
        assert!(capture.events().is_empty());
    }

    #[test]
    fn before_send_can_drop_captured_events() {
        let (outcome, events) = with_captured_events_options(
            ClientOptions::new().before_send(|_: crate::Event| None),
            || capture_message("dropped", Level::Info),
        );
        assert_eq!(outcome, CaptureOutcome::DroppedByBeforeSend);
        assert!(events.is_empty());
    }

    #[test]
    #[should_panic(expected = "sample_rate")]
    fn invalid_options_panic_naming_the_option() {
        let _ = EventCapture::with_options(ClientOptions::new().sample_rate(2.0));
    }
}
