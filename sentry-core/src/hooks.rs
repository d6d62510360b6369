//! User callbacks: `before_send`, `before_send_log`, `after_send` and `filter`, each a trait
//! with a closure impl.

use crate::event::Event;
use crate::logs::Log;
use crate::{CaptureOutcome, EventSource};

/// Changes or drops an event before it is sent (Elixir `before_send_event`).
///
/// Any `Fn(Event) -> Option<Event>` closure is a `BeforeSend`.
pub trait BeforeSend: Send + Sync {
    /// Returns the event to send, or `None` to drop it.
    fn before_send(&self, event: Event) -> Option<Event>;
}

impl<F> BeforeSend for F
where
    F: Fn(Event) -> Option<Event> + Send + Sync,
{
    fn before_send(&self, event: Event) -> Option<Event> {
        self(event)
    }
}

/// Changes or drops a structured log before it is sent (the Python SDK's `before_send_log`).
///
/// Any `Fn(Log) -> Option<Log>` closure is a `BeforeSendLog`. It runs on the worker when the
/// batch is built, never on the thread that captured the log; a log it drops, or that it
/// panics on, is counted (`before_send`, category `log_item`).
///
/// ```
/// use watchpost::logs::{Log, LogLevel};
/// use watchpost::ClientOptions;
///
/// // Leave out debug logs and a secret attribute.
/// let options = ClientOptions::new()
///     .enable_logs(true)
///     .before_send_log(|mut log: Log| {
///         log.attributes.remove("password");
///         (log.level > LogLevel::Debug).then_some(log)
///     });
/// # drop(options);
/// ```
pub trait BeforeSendLog: Send + Sync {
    /// Returns the log to send, or `None` to drop it.
    fn before_send_log(&self, log: Log) -> Option<Log>;
}

impl<F> BeforeSendLog for F
where
    F: Fn(Log) -> Option<Log> + Send + Sync,
{
    fn before_send_log(&self, log: Log) -> Option<Log> {
        self(log)
    }
}

/// No hook: every log goes on unchanged.
impl BeforeSendLog for () {
    fn before_send_log(&self, log: Log) -> Option<Log> {
        Some(log)
    }
}

/// Sees every event after sending, with the outcome (Elixir `after_send_event`).
///
/// Any `Fn(&Event, &CaptureOutcome)` closure is an `AfterSend`.
pub trait AfterSend: Send + Sync {
    /// Called once per event that reached the send step.
    fn after_send(&self, event: &Event, outcome: &CaptureOutcome);
}

impl<F> AfterSend for F
where
    F: Fn(&Event, &CaptureOutcome) + Send + Sync,
{
    fn after_send(&self, event: &Event, outcome: &CaptureOutcome) {
        self(event, outcome)
    }
}

/// Decides whether to exclude an event, given where it came from (Elixir `filter`).
///
/// ```
/// use watchpost::{ClientOptions, EventSource, Event};
/// // Ignore errors reported by the web layer whose title mentions "client disconnected".
/// let options = ClientOptions::new().filter(|event: &Event, source: EventSource| {
///     source == EventSource::Http && event.title().contains("client disconnected")
/// });
/// # let _ = options;
/// ```
pub trait Filter: Send + Sync {
    /// True to exclude (not send) the event.
    fn exclude(&self, event: &Event, source: EventSource) -> bool;
}

impl<F> Filter for F
where
    F: Fn(&Event, EventSource) -> bool + Send + Sync,
{
    fn exclude(&self, event: &Event, source: EventSource) -> bool {
        self(event, source)
    }
}

/// No hook: every event goes on unchanged.
impl BeforeSend for () {
    fn before_send(&self, event: Event) -> Option<Event> {
        Some(event)
    }
}

/// No hook.
impl AfterSend for () {
    fn after_send(&self, _: &Event, _: &CaptureOutcome) {}
}

/// No filter: nothing is excluded.
impl Filter for () {
    fn exclude(&self, _: &Event, _: EventSource) -> bool {
        false
    }
}

/// Runs a user callback, turning a panic inside it into `None` so the host never goes down
/// because of a hook. The caller counts and logs the failure.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = IN_CALLBACK.try_with(|c| c.replace(true)).unwrap_or(false);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    let _ = IN_CALLBACK.try_with(|c| c.set(was));
    r
}

thread_local! {
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SDK_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread runs a user callback (the panic hook ignores panics from there; they
/// are reported as a failed callback instead).
pub(crate) fn in_sdk_callback() -> bool {
    IN_CALLBACK.try_with(std::cell::Cell::get).unwrap_or(false)
}

/// Marks the calling thread as one of the SDK's own (worker, spill writer, Spotlight sender).
pub(crate) fn mark_sdk_thread() {
    let _ = SDK_THREAD.try_with(|c| c.set(true));
}

/// True on the SDK's own threads. Events from there (a panic while sending, a log line of a
/// custom HTTP client) are not fed back into the worker that produced them.
pub(crate) fn on_sdk_thread() -> bool {
    SDK_THREAD.try_with(std::cell::Cell::get).unwrap_or(false)
}

/// True when a capture made now would come from the SDK itself: from inside a user callback
/// (`before_send` capturing would loop) or from one of the SDK's threads.
pub(crate) fn inside_sdk() -> bool {
    in_sdk_callback() || on_sdk_thread()
}
