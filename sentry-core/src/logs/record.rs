//! One structured log: its level, body and typed attributes, and the JSON Sentry reads (an
//! entry of the `log` item's `items`).

use super::value::LogValue;
use crate::trace::{SpanId, TraceId};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The most characters of a body or a string attribute kept; the rest is cut off.
pub(crate) const MAX_TEXT_CHARS: usize = 8192;
/// The largest log sent, estimated as [`Log`]'s JSON (a log of thousands of long attributes);
/// a larger one is dropped and counted (`send_error`, category `log_item`) rather than making an
/// item the server refuses.
pub const MAX_LOG_BYTES: usize = 1024 * 1024;
/// What a log is charged besides its text, against the buffer's byte bound: about its JSON
/// framing (timestamp, level, ids, the attributes the SDK adds).
const BASE_BYTES: usize = 600;
/// The framing of one attribute in JSON (`"k":{"value":..,"type":"string"}`).
const ATTRIBUTE_BYTES: usize = 32;
/// `sentry.message.template` and its framing.
const TEMPLATE_KEY_BYTES: usize = 23 + ATTRIBUTE_BYTES;
/// `sentry.message.parameter.<n>`.
const PARAMETER_KEY_BYTES: usize = 27;

/// The severity of a [`Log`], as OpenTelemetry and Sentry name it. Levels compare by
/// severity.
///
/// ```
/// use watchpost::logs::LogLevel;
///
/// assert!(LogLevel::Warn > LogLevel::Info);
/// assert_eq!((LogLevel::Warn.as_str(), LogLevel::Warn.severity_number()), ("warn", 13));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// Fine-grained steps (severity number 1).
    Trace,
    /// Diagnostics (5).
    Debug,
    /// Normal operation (9).
    Info,
    /// Something unexpected that was handled (13).
    Warn,
    /// A failure (17).
    Error,
    /// A failure that stops the program (21).
    Fatal,
}

impl LogLevel {
    /// The `level` value Sentry reads (`trace` ... `fatal`; `warn`, not `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }

    /// The OpenTelemetry severity number: the lowest of the level's range.
    pub fn severity_number(self) -> i64 {
        match self {
            LogLevel::Trace => 1,
            LogLevel::Debug => 5,
            LogLevel::Info => 9,
            LogLevel::Warn => 13,
            LogLevel::Error => 17,
            LogLevel::Fatal => 21,
        }
    }
}

/// A structured log: a line of your application's log that Sentry stores, searchable by its
/// attributes and linked to the trace it was written in.
///
/// Send one with [`capture_log`](crate::logs::capture_log) or the `logger_*!` macros (see
/// [`logs`](crate::logs)); [`before_send_log`](crate::ClientOptions::before_send_log) sees and
/// may change every log before it is sent.
///
/// ```
/// use watchpost::logs::{Log, LogLevel, LogValue};
///
/// let log = Log::new(LogLevel::Warn, "disk almost full")
///     .attribute("disk.free_bytes", 1_048_576)
///     .attribute("disk.mount", "/var");
/// assert_eq!(log.attributes["disk.mount"], LogValue::from("/var"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Log {
    /// The severity.
    pub level: LogLevel,
    /// The message.
    pub body: String,
    /// Typed attributes, searchable in Sentry. The SDK adds its own (`sentry.*`,
    /// `server.address`, `user.*`, ...) unless a key is already set.
    pub attributes: BTreeMap<String, LogValue>,
    timestamp: SystemTime,
    pub(crate) trace_id: Option<TraceId>,
    pub(crate) span_id: Option<SpanId>,
    /// The format string and parameters of a `logger_*!` call, made attributes off the
    /// capturing thread ([`materialize`](Self::materialize)).
    template: Option<Template>,
}

/// A `logger_*!` call's format string and its parameters (`None`: an argument without a
/// value to send).
#[derive(Debug, Clone, PartialEq)]
struct Template {
    format: &'static str,
    params: Vec<Option<LogValue>>,
}

impl Log {
    /// A log written now, without attributes.
    pub fn new(level: LogLevel, body: impl Into<String>) -> Self {
        Log {
            level,
            body: body.into(),
            attributes: BTreeMap::new(),
            timestamp: SystemTime::now(),
            trace_id: None,
            span_id: None,
            template: None,
        }
    }

    /// Keeps a `logger_*!` call's format string and parameters, to become the
    /// `sentry.message.template` and `sentry.message.parameter.<n>` attributes.
    pub(crate) fn with_template(
        mut self,
        format: &'static str,
        params: Vec<Option<LogValue>>,
    ) -> Self {
        self.template = Some(Template { format, params });
        self
    }

    /// Makes the template attributes (set over attributes of the same name).
    pub(crate) fn materialize(&mut self) {
        let Some(Template { format, params }) = self.template.take() else {
            return;
        };
        self.attributes
            .insert("sentry.message.template".to_owned(), format.into());
        for (i, value) in params.into_iter().enumerate() {
            if let Some(value) = value {
                self.attributes
                    .insert(format!("sentry.message.parameter.{i}"), value);
            }
        }
    }

    /// Sets an attribute.
    #[must_use]
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<LogValue>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// When the log was written.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The trace it belongs to: the current context's, set when it is captured.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.trace_id
    }

    /// The span it was written in, when a transaction was running.
    pub fn span_id(&self) -> Option<SpanId> {
        self.span_id
    }

    /// Sets an attribute unless one of that name is there.
    pub(crate) fn default_attribute(&mut self, key: &str, value: impl Into<LogValue>) {
        if !self.attributes.contains_key(key) {
            self.attributes.insert(key.to_owned(), value.into());
        }
    }

    /// Cuts the body and string attributes to [`MAX_TEXT_CHARS`].
    pub(crate) fn bound(&mut self) {
        cut(&mut self.body);
        let params = self
            .template
            .iter_mut()
            .flat_map(|t| t.params.iter_mut().flatten());
        for value in self.attributes.values_mut().chain(params) {
            if let LogValue::String(s) = value {
                cut(s);
            }
        }
    }

    /// About the memory it holds and the JSON it makes, in bytes.
    pub(crate) fn estimated_bytes(&self) -> usize {
        let template = self.template.as_ref().map_or(0, |t| {
            TEMPLATE_KEY_BYTES
                + t.format.len()
                + t.params
                    .iter()
                    .flatten()
                    .map(|v| PARAMETER_KEY_BYTES + v.bytes() + ATTRIBUTE_BYTES)
                    .sum::<usize>()
        });
        BASE_BYTES
            + self.body.len()
            + template
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.bytes() + ATTRIBUTE_BYTES)
                .sum::<usize>()
    }

    /// The entry of a `log` item's `items`, with the severity attributes added.
    pub(crate) fn to_json(&self) -> Value {
        if self.template.is_some() {
            let mut made = self.clone();
            made.materialize();
            return made.to_json();
        }
        let mut attributes: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        attributes
            .entry("sentry.severity_number")
            .or_insert_with(|| LogValue::Integer(self.level.severity_number()).to_json());
        attributes
            .entry("sentry.severity_text")
            .or_insert_with(|| LogValue::from(self.level.as_str()).to_json());
        let timestamp = self
            .timestamp
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut item = json!({
            "timestamp": timestamp,
            "level": self.level.as_str(),
            "body": self.body,
            "attributes": attributes,
        });
        if let Some(trace_id) = self.trace_id {
            item["trace_id"] = trace_id.to_string().into();
        }
        if let Some(span_id) = self.span_id {
            item["span_id"] = span_id.to_string().into();
        }
        item
    }
}

fn cut(text: &mut String) {
    if let Some((i, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
        text.truncate(i);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn attributes_carry_their_types() {
        let log = Log::new(LogLevel::Info, "hi")
            .attribute("s", "text")
            .attribute("i", 3)
            .attribute("d", 0.5)
            .attribute("b", true)
            .attribute("nan", f64::NAN)
            .attribute("big", u64::MAX);
        let json = log.to_json();
        let a = &json["attributes"];
        assert_eq!(a["s"], json!({"value": "text", "type": "string"}));
        assert_eq!(a["i"], json!({"value": 3, "type": "integer"}));
        assert_eq!(a["d"], json!({"value": 0.5, "type": "double"}));
        assert_eq!(a["b"], json!({"value": true, "type": "boolean"}));
        assert_eq!(a["nan"]["type"], "string");
        assert_eq!(
            a["big"],
            json!({"value": u64::MAX.to_string(), "type": "string"})
        );
    }

    #[test]
    fn severity_follows_the_level_unless_set() {
        let json = Log::new(LogLevel::Warn, "w").to_json();
        assert_eq!(json["level"], "warn");
        assert_eq!(json["attributes"]["sentry.severity_number"]["value"], 13);
        assert_eq!(json["attributes"]["sentry.severity_text"]["value"], "warn");
        let json = Log::new(LogLevel::Fatal, "f")
            .attribute("sentry.severity_number", 24)
            .to_json();
        assert_eq!(json["attributes"]["sentry.severity_number"]["value"], 24);
    }

    #[test]
    fn a_log_has_a_float_timestamp_and_no_ids_outside_a_trace() {
        let json = Log::new(LogLevel::Info, "x").to_json();
        assert!(json["timestamp"].as_f64().unwrap() > 1.6e9);
        assert!(json.get("trace_id").is_none());
        assert!(json.get("span_id").is_none());
    }

    #[test]
    fn long_text_is_cut() {
        let mut log = Log::new(LogLevel::Info, "é".repeat(MAX_TEXT_CHARS + 5))
            .attribute("a", "x".repeat(MAX_TEXT_CHARS * 2));
        log.bound();
        assert_eq!(log.body.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(
            log.attributes["a"],
            LogValue::String("x".repeat(MAX_TEXT_CHARS))
        );
    }
}
