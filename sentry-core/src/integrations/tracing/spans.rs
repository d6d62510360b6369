//! `tracing` spans as Sentry spans: a span at or above the layer's span level becomes a child
//! of its nearest ancestor that is one, else of the transaction running in the current context;
//! with neither, a root span becomes a transaction of its own (when tracing is on). Its fields
//! are the span's data; it finishes when the `tracing` span closes, wherever that happens.

use crate::trace::{
    current_transaction, start_transaction, Span, SpanId, TraceId, Transaction, TransactionContext,
    TransactionSource,
};
use serde_json::{Map, Value};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

/// The Sentry side of a `tracing` span, kept in its extensions.
pub(super) enum SentrySpan {
    Child(Span),
    Root(Transaction),
}

impl SentrySpan {
    fn start_child(&self, op: &str, description: &str) -> Span {
        match self {
            SentrySpan::Child(span) => span.start_child(op, description),
            SentrySpan::Root(tx) => tx.start_child(op, description),
        }
    }

    pub(super) fn set_data(&self, fields: &Map<String, Value>) {
        for (k, v) in fields {
            match self {
                SentrySpan::Child(span) => span.set_data(k.clone(), v.clone()),
                SentrySpan::Root(tx) => tx.set_data(k.clone(), v.clone()),
            }
        }
    }

    /// `contexts.trace` for an event that happened inside this span.
    /// The trace and span ids of this span.
    pub(super) fn ids(&self) -> (TraceId, SpanId) {
        match self {
            SentrySpan::Child(span) => (span.trace_id(), span.span_id()),
            SentrySpan::Root(tx) => (tx.trace_id(), tx.span_id()),
        }
    }

    pub(super) fn trace_context(&self) -> Map<String, Value> {
        let (trace_id, span_id) = self.ids();
        let mut fields = Map::new();
        fields.insert("trace_id".into(), trace_id.to_string().into());
        fields.insert("span_id".into(), span_id.to_string().into());
        fields
    }

    pub(super) fn finish(&self) {
        match self {
            SentrySpan::Child(span) => span.finish(),
            SentrySpan::Root(tx) => tx.finish(),
        }
    }
}

/// Starts the Sentry span of a new `tracing` span, or `None` when it has no parent to join and
/// tracing is off.
pub(super) fn start<S>(
    attrs: &Attributes<'_>,
    id: &Id,
    ctx: &LayerContext<'_, S>,
    fields: &Map<String, Value>,
) -> Option<SentrySpan>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = attrs.metadata();
    let op = meta.name();
    let description = match meta.module_path() {
        Some(module) => format!("{module}::{op}"),
        None => op.to_owned(),
    };
    let span = ctx.span(id)?;
    let parent = span.scope().skip(1).find_map(|ancestor| {
        let extensions = ancestor.extensions();
        extensions
            .get::<SentrySpan>()
            .map(|p| p.start_child(op, &description))
    });
    let sentry_span = match parent {
        Some(child) => SentrySpan::Child(child),
        None => match current_transaction() {
            Some(tx) => SentrySpan::Child(tx.start_child(op, &description)),
            None if tracing_on() => SentrySpan::Root(start_transaction(
                TransactionContext::new(description, op).source(TransactionSource::Task),
            )),
            None => return None,
        },
    };
    sentry_span.set_data(fields);
    Some(sentry_span)
}

/// Whether the current context's client samples transactions at all.
fn tracing_on() -> bool {
    crate::Context::current()
        .client()
        .is_some_and(|c| c.options().tracing_enabled())
}
