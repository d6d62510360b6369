//! A `tracing_subscriber` layer: breadcrumbs and error events from `tracing` events, with the
//! fields of the spans they happen in. Feature `tracing`.
//!
//! ```
//! use watchpost::tracing::SentryTracingLayer;
//! use tracing_subscriber::prelude::*;
//!
//! let _guard = watchpost::init(watchpost::ClientOptions::new()).expect("valid Sentry options");
//! tracing_subscriber::registry()
//!     .with(SentryTracingLayer::new())
//!     .with(tracing_subscriber::fmt::layer())
//!     .init();
//!
//! let span = tracing::info_span!("checkout", order_id = 42, user = "ann");
//! let _entered = span.enter();
//! tracing::info!(items = 3, "cart loaded"); // a breadcrumb
//! tracing::error!(provider = "acme", "payment failed"); // an event with the span's fields
//! ```
//!
//! Events at or above the event level (default `ERROR`) are reported with `logentry.formatted`
//! (the `message` field), `logger` (the target), the level, `extra.logger_metadata` (file, line,
//! module path and the event's other fields) and, for every span of the event's scope, a context
//! `span.<name>` with the span's fields. Their source is [`EventSource::Tracing`]. Events at or
//! above the breadcrumb level (default `INFO`) become breadcrumbs with their fields as data.
//!
//! Spans at or above the span level (default `INFO`) are Sentry spans: children of their
//! nearest ancestor that is one, else of the transaction running in the current context (the
//! tower layer's, say), else, when tracing is on (`traces_sample_rate`), transactions of their
//! own. Their fields are the span's data, and they finish when the `tracing` span closes, so
//! `#[instrument]` on an `async fn` times the whole call across `.await` points and threads.
//!
//! With [`logs_level`](SentryTracingLayer::logs_level) (and
//! [`enable_logs`](crate::ClientOptions::enable_logs)), events at or above that level are also
//! sent as [structured logs](crate::logs): the `message` field as the body, the other fields
//! as typed attributes, and `logger.name` (the target), `code.file.path`, `code.line.number`,
//! `code.namespace` (the module path) and `sentry.origin` (`auto.log.tracing`). A log written
//! inside a span that is a Sentry span carries that span's trace and span ids.
//!
//! ```
//! use watchpost::tracing::SentryTracingLayer;
//! use tracing::level_filters::LevelFilter;
//!
//! let layer = SentryTracingLayer::new().logs_level(LevelFilter::INFO);
//! # drop(layer);
//! ```
//!
//! Events of the SDK itself (targets `watchpost...`), from its worker thread, or emitted while
//! this layer reports are ignored, so reporting can never loop.

mod spans;

use super::{is_sdk_target, on_sdk_thread};
use crate::capture::capture_with_source;
use crate::context::{add_breadcrumb, EventSource};
use crate::event::{Breadcrumb, Event, Level};
use crate::logs::{capture_log, Log, LogLevel, LogValue};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

thread_local! {
    /// Set while this thread reports an event: events emitted meanwhile are ignored.
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

/// The layer. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SentryTracingLayer {
    event_level: LevelFilter,
    breadcrumb_level: LevelFilter,
    span_level: LevelFilter,
    logs_level: LevelFilter,
    span_fields: bool,
}

impl Default for SentryTracingLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentryTracingLayer {
    /// Reports `ERROR` events, keeps `INFO` and above as breadcrumbs, attaches span fields.
    pub fn new() -> Self {
        SentryTracingLayer {
            event_level: LevelFilter::ERROR,
            breadcrumb_level: LevelFilter::INFO,
            span_level: LevelFilter::INFO,
            logs_level: LevelFilter::OFF,
            span_fields: true,
        }
    }

    /// Spans at or above this level become Sentry spans (default `INFO`; `OFF` for none).
    #[must_use]
    pub fn span_level(mut self, level: LevelFilter) -> Self {
        self.span_level = level;
        self
    }

    /// Events at or above this level are reported (default `ERROR`; `OFF` for none).
    #[must_use]
    pub fn event_level(mut self, level: LevelFilter) -> Self {
        self.event_level = level;
        self
    }

    /// Events at or above this level, below the event level, become breadcrumbs (default `INFO`).
    #[must_use]
    pub fn breadcrumb_level(mut self, level: LevelFilter) -> Self {
        self.breadcrumb_level = level;
        self
    }

    /// Events at or above this level are also sent as structured logs when
    /// [`enable_logs`](crate::ClientOptions::enable_logs) is on (default `OFF`: none).
    #[must_use]
    pub fn logs_level(mut self, level: LevelFilter) -> Self {
        self.logs_level = level;
        self
    }

    /// Whether reported events carry the fields of their spans (default true).
    #[must_use]
    pub fn span_fields(mut self, on: bool) -> Self {
        self.span_fields = on;
        self
    }

    /// An event as a structured log, in the trace of the Sentry span it happens in (if any).
    fn structured<S>(
        &self,
        event: &tracing::Event<'_>,
        fields: &EventFields,
        ctx: &LayerContext<'_, S>,
    ) -> Log
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        let mut log = Log::new(map_log_level(*meta.level()), fields.message_or(meta.name()));
        for (key, value) in &fields.fields {
            log.attributes.insert(key.clone(), LogValue::from(value));
        }
        log = log
            .attribute("sentry.origin", "auto.log.tracing")
            .attribute("logger.name", meta.target());
        if let Some(file) = meta.file() {
            log = log.attribute("code.file.path", file);
        }
        if let Some(line) = meta.line() {
            log = log.attribute("code.line.number", line);
        }
        if let Some(module) = meta.module_path() {
            log = log.attribute("code.namespace", module);
        }
        let ids = ctx.event_scope(event).and_then(|scope| {
            scope.into_iter().find_map(|span| {
                span.extensions()
                    .get::<spans::SentrySpan>()
                    .map(spans::SentrySpan::ids)
            })
        });
        if let Some((trace_id, span_id)) = ids {
            log.trace_id = Some(trace_id);
            log.span_id = Some(span_id);
        }
        log
    }

    fn event<S>(
        &self,
        event: &tracing::Event<'_>,
        fields: EventFields,
        ctx: &LayerContext<'_, S>,
    ) -> Event
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        let mut out = Event::message(fields.message_or(meta.name()), map_level(*meta.level()));
        out.logger = Some(meta.target().to_owned());
        let mut metadata = Map::new();
        if let Some(file) = meta.file() {
            metadata.insert("file".to_owned(), file.into());
        }
        if let Some(line) = meta.line() {
            metadata.insert("line".to_owned(), line.into());
        }
        if let Some(module) = meta.module_path() {
            metadata.insert("module_path".to_owned(), module.into());
        }
        metadata.extend(fields.fields);
        out.extra
            .insert("logger_metadata".to_owned(), Value::Object(metadata));
        // An event inside a span that is a Sentry span belongs to it.
        let trace = ctx.event_scope(event).and_then(|scope| {
            scope.into_iter().find_map(|span| {
                span.extensions()
                    .get::<spans::SentrySpan>()
                    .map(spans::SentrySpan::trace_context)
            })
        });
        if let Some(trace) = trace {
            out.contexts.insert("trace", "trace", trace);
        }
        if self.span_fields {
            for span in ctx
                .event_scope(event)
                .into_iter()
                .flat_map(|scope| scope.from_root())
            {
                let mut context = span
                    .extensions()
                    .get::<SpanFields>()
                    .map(|f| f.0.clone())
                    .unwrap_or_default();
                context.insert("target".to_owned(), span.metadata().target().into());
                out.contexts
                    .insert(format!("span.{}", span.name()), "default", context);
            }
        }
        out
    }
}

impl<S> Layer<S> for SentryTracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        let as_span =
            *meta.level() <= self.span_level && !is_sdk_target(meta.target()) && !on_sdk_thread();
        if !(self.span_fields || as_span) {
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut JsonVisitor {
            fields: &mut fields.0,
            message: None,
        });
        let sentry_span = as_span
            .then(|| spans::start(attrs, id, &ctx, &fields.0))
            .flatten();
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(sentry_span) = sentry_span {
            extensions.insert(sentry_span);
        }
        if self.span_fields {
            extensions.insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let mut recorded = Map::new();
        values.record(&mut JsonVisitor {
            fields: &mut recorded,
            message: None,
        });
        if let Some(sentry_span) = extensions.get_mut::<spans::SentrySpan>() {
            sentry_span.set_data(&recorded);
        }
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            fields.0.extend(recorded);
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let sentry_span = span.extensions_mut().remove::<spans::SentrySpan>();
        if let Some(sentry_span) = sentry_span {
            sentry_span.finish();
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        let level = *meta.level();
        let as_event = level <= self.event_level;
        let as_log = level <= self.logs_level;
        if !(as_event || as_log || level <= self.breadcrumb_level)
            || is_sdk_target(meta.target())
            || on_sdk_thread()
        {
            return;
        }
        let entered = REPORTING.try_with(|r| !r.replace(true)).unwrap_or(false);
        if !entered {
            return;
        }
        let mut fields = EventFields::default();
        event.record(&mut JsonVisitor {
            fields: &mut fields.fields,
            message: Some(&mut fields.message),
        });
        if as_log {
            let _ = capture_log(self.structured(event, &fields, &ctx));
        }
        if as_event {
            let _ =
                capture_with_source(self.event(event, fields, &ctx), None, EventSource::Tracing);
        } else if level <= self.breadcrumb_level {
            let mut crumb = Breadcrumb::new(meta.target(), fields.message_or(meta.name()))
                .with_level(map_level(level));
            crumb.data.extend(fields.fields);
            add_breadcrumb(crumb);
        }
        let _ = REPORTING.try_with(|r| r.set(false));
    }
}

/// A span's fields, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields(Map<String, Value>);

/// An event's `message` field and its other fields.
#[derive(Debug, Default)]
struct EventFields {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl EventFields {
    fn message_or(&self, fallback: &str) -> String {
        self.message.clone().unwrap_or_else(|| fallback.to_owned())
    }
}

/// Records fields as JSON; the `message` field goes to `message` when one is given.
struct JsonVisitor<'a> {
    fields: &'a mut Map<String, Value>,
    message: Option<&'a mut Option<String>>,
}

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            if let Some(message) = self.message.as_deref_mut() {
                *message = Some(match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
                return;
            }
        }
        self.fields.insert(field.name().to_owned(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map_or_else(|| value.to_string().into(), Value::Number);
        self.put(field, v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.put(field, text.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

/// Maps a `tracing` level to a structured log's level.
fn map_log_level(level: tracing::Level) -> LogLevel {
    match level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// Maps a `tracing` level to a Sentry level.
fn map_level(level: tracing::Level) -> Level {
    match level {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warning,
        tracing::Level::INFO => Level::Info,
        _ => Level::Debug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_sentry_levels() {
        assert_eq!(map_level(tracing::Level::ERROR), Level::Error);
        assert_eq!(map_level(tracing::Level::WARN), Level::Warning);
        assert_eq!(map_level(tracing::Level::TRACE), Level::Debug);
    }

    #[test]
    fn levels_map_to_log_levels() {
        assert_eq!(map_log_level(tracing::Level::WARN), LogLevel::Warn);
        assert_eq!(map_log_level(tracing::Level::TRACE), LogLevel::Trace);
    }

    #[test]
    fn thresholds_compare_as_tracing_does() {
        let layer = SentryTracingLayer::new();
        assert!(tracing::Level::ERROR <= layer.event_level);
        assert!(tracing::Level::WARN > layer.event_level);
        assert!(tracing::Level::INFO <= layer.breadcrumb_level);
        assert!(tracing::Level::DEBUG > layer.breadcrumb_level);
    }
}
