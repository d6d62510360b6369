//! Traces: every event carries the trace of the request or task it was captured in, so that
//! the errors of one request are linked in Sentry, and a trace that came in with a request goes
//! on to the services it calls.
//!
//! Each [`Context`] has a trace: a new one for a new context, the parent's for a
//! [fork](crate::Context::fork), and, in the tower layer, the one the request's `sentry-trace`
//! (or W3C `traceparent`) and `baggage` headers name. Events get it as `contexts.trace`
//! (`trace_id`, `span_id`, `parent_span_id`), and their envelopes carry the dynamic sampling
//! context (the `trace` envelope header): the caller's, passed on unchanged, or this SDK's own
//! (`trace_id`, `public_key`, `release`, `environment`, `sample_rand`).
//!
//! To continue the trace in a service you call, add [`outgoing_headers`] to the request (or use
//! [`UreqTracePropagation`] with ureq); to continue a trace
//! that arrived some other way than the tower layer (a queue message, say), call
//! [`continue_from_headers`].
//!
//! ```
//! use watchpost::trace;
//!
//! // In a consumer of a message queue: the message carries the producer's headers.
//! let message_headers = [(
//!     "sentry-trace",
//!     "771a43a4192642f0b136d5159a501700-b7ad6b7169203331-1",
//! )];
//! trace::continue_from_headers(message_headers);
//! assert_eq!(
//!     watchpost::Context::current().trace_id().to_string(),
//!     "771a43a4192642f0b136d5159a501700"
//! );
//! // ... and when calling another service:
//! for (name, value) in trace::outgoing_headers() {
//!     assert!(["sentry-trace", "baggage", "traceparent"].contains(&name));
//!     # let _ = value;
//! }
//! ```

mod finished;
mod headers;
mod ids;
mod propagation;
mod sampling;
mod transaction;
mod ureq;

pub(crate) use finished::FinishedTransaction;
pub use ids::{InvalidId, SpanId, TraceId};
pub(crate) use propagation::{own_dsc, Dsc, DscSource, Propagation};
pub use sampling::SamplingContext;
pub(crate) use transaction::RunningTransaction;
pub use transaction::{
    current_transaction, start_transaction, Span, SpanStatus, Transaction, TransactionContext,
    TransactionSource,
};
pub use ureq::UreqTracePropagation;

use crate::Context;

/// The headers that make the service a request goes to continue the current context's trace:
/// `sentry-trace`, `baggage` (the dynamic sampling context) and W3C `traceparent`.
pub fn outgoing_headers() -> Vec<(&'static str, String)> {
    Context::current().outgoing_trace_headers()
}

/// Continues, in the current context, the trace that incoming headers name (`sentry-trace`,
/// else `traceparent`, with `baggage`; names in any case). Without such a header (or with a
/// malformed one) the context starts a new trace. The tower layer does this for every request.
pub fn continue_from_headers<'a, I>(headers: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    Context::current().continue_trace(headers);
}

/// The outgoing headers for a trace, with `dsc` as its dynamic sampling context.
pub(crate) fn headers_for(p: &Propagation, dsc: &Dsc) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (
            "sentry-trace",
            headers::sentry_trace(p.trace_id, p.span_id, p.sampled),
        ),
        (
            "traceparent",
            headers::traceparent(p.trace_id, p.span_id, p.sampled),
        ),
    ];
    if !dsc.is_empty() {
        out.push(("baggage", headers::baggage(dsc)));
    }
    out
}

/// The incoming trace headers among `headers` (names in any case).
pub(crate) fn propagation_from<'a, I>(headers: I) -> Propagation
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let (mut sentry_trace, mut traceparent, mut baggage) = (None, None, None);
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("sentry-trace") {
            sentry_trace = Some(value);
        } else if name.eq_ignore_ascii_case("traceparent") {
            traceparent = Some(value);
        } else if name.eq_ignore_ascii_case("baggage") {
            baggage = Some(value);
        }
    }
    Propagation::from_incoming(sentry_trace, traceparent, baggage)
}
