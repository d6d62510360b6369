//! The events the layer reports itself (a handler's panic, a `5xx` response) and the response it
//! sends in place of a panicked handler's.

use super::catch::PanicRecord;
use crate::capture::capture_with_source;
use crate::context::EventSource;
use crate::event::{Event, Exception, Level, Mechanism};
use crate::stacktrace::RawStacktrace;
use uuid::Uuid;

/// A handler's panic, as the [`PanicResponse`] sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HandlerPanic {
    /// The panic message.
    pub message: String,
    /// The id of the event that reported the panic, when it was sent or queued.
    pub event_id: Option<Uuid>,
}

/// Builds the response sent when the inner service panicked: your `500` error page.
///
/// It runs in the request's context right after the panic was reported, so
/// [`last_event_id_and_source`](crate::last_event_id_and_source) answers the panic's event id
/// with [`EventSource::Http`], ready for Sentry's user-feedback dialog.
///
/// Any `Fn(&HandlerPanic) -> http::Response<B>` closure is a `PanicResponse<B>`; `()` (the
/// default) answers an empty `500 Internal Server Error` for bodies that implement `Default`.
pub trait PanicResponse<B>: Send + Sync {
    /// The response to send.
    fn panic_response(&self, panic: &HandlerPanic) -> http::Response<B>;
}

impl<B: Default> PanicResponse<B> for () {
    fn panic_response(&self, _: &HandlerPanic) -> http::Response<B> {
        let mut response = http::Response::new(B::default());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        response
    }
}

impl<B, F: Fn(&HandlerPanic) -> http::Response<B> + Send + Sync> PanicResponse<B> for F {
    fn panic_response(&self, panic: &HandlerPanic) -> http::Response<B> {
        self(panic)
    }
}

/// Reports the panic that escaped the inner service, in the current (request) context: one
/// unhandled exception, mechanism `tower`, with the hook's stack when the hook saw it.
pub(crate) fn report_handler_panic(message: String, record: Option<PanicRecord>) -> HandlerPanic {
    let (stack, thread) = match record {
        Some(r) => (Some(r.stack), Some(r.thread)),
        None => (None, std::thread::current().name().map(str::to_owned)),
    };
    let event = panic_event(&message, "tower", Level::Error, thread);
    let outcome = capture_with_source(event, stack, EventSource::Http);
    HandlerPanic {
        message,
        event_id: outcome.is_accepted().then(|| outcome.event_id()).flatten(),
    }
}

/// Reports a panic that the handler caught itself, as the panic hook would have.
pub(crate) fn report_caught_panic(record: PanicRecord) {
    let event = panic_event(&record.message, "panic", Level::Fatal, Some(record.thread));
    let _ = capture_with_source(event, Some(record.stack), EventSource::Panic);
}

/// Reports a `5xx` response, in the current (request) context, unless something was already
/// reported for this request.
pub(crate) fn report_server_error(status: http::StatusCode, request_line: &str) {
    if crate::context::last_event_id_and_source().is_some() {
        return;
    }
    let reason = status.canonical_reason().unwrap_or("Server Error");
    let mut event = Event::message(
        format!("{request_line} responded {} {reason}", status.as_u16()),
        Level::Error,
    );
    event
        .tags
        .insert("http.status_code".to_owned(), status.as_u16().to_string());
    let _ = capture_with_source(event, None::<RawStacktrace>, EventSource::Http);
}

fn panic_event(message: &str, mechanism: &str, level: Level, thread: Option<String>) -> Event {
    let mut exc = Exception::new("panic", message);
    let mut mech = Mechanism::new(mechanism, false);
    if let Some(name) = thread {
        mech.data.insert("thread_name".to_owned(), name.into());
    }
    exc.mechanism = Some(mech);
    let mut event = Event::new();
    event.level = level;
    event.exception.values.push(exc);
    event
}
