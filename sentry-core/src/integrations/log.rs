//! A `log` backend (the Elixir client's `Sentry.LoggerBackend`). Feature `log`.
//!
//! # Capture crashed process exceptions and error logs
//!
//! [`SentryLogger`] wraps your application's logger: every record still goes to it, records at
//! or above the event level (default `Error`) are reported as events, and those at or above the
//! breadcrumb level (default `Info`) are recorded as breadcrumbs of the current context, so the
//! next event shows what led up to it. Panics are reported by the panic hook (feature `panic`).
//!
//! ```
//! use watchpost::log::{MetadataCapture, SentryLogger};
//!
//! struct Stderr; // your application's logger, e.g. env_logger
//!
//! impl log::Log for Stderr {
//!     fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
//!         metadata.level() <= log::Level::Info
//!     }
//!     fn log(&self, record: &log::Record<'_>) {
//!         if self.enabled(record.metadata()) {
//!             eprintln!("{} {}", record.level(), record.args());
//!         }
//!     }
//!     fn flush(&self) {}
//! }
//!
//! let _guard = watchpost::init(watchpost::ClientOptions::new()).expect("valid Sentry options");
//! SentryLogger::new()
//!     .forward_to(Box::new(Stderr))
//!     .event_level(log::LevelFilter::Error)
//!     .breadcrumb_level(log::LevelFilter::Info)
//!     .metadata(MetadataCapture::All)
//!     .install()
//!     .expect("no other logger installed");
//!
//! log::info!("cache warmed"); // a breadcrumb
//! log::error!(order_id = 42; "payment failed"); // an event, with order_id in its metadata
//! ```
//!
//! Events have `logentry.formatted` (the message), `logger` (the record's target), the level,
//! and `extra.logger_metadata` with the record's `file`, `line`, `module_path` and key-values
//! (as [`MetadataCapture`] says). Their source is [`EventSource::Log`].
//!
//! With [`logs_level`](SentryLogger::logs_level) (and
//! [`enable_logs`](crate::ClientOptions::enable_logs)), records at or above that level are also
//! sent as [structured logs](crate::logs), besides any event or breadcrumb they make: the
//! message as the body, the attributes `logger.name` (the target), `code.file.path`,
//! `code.line.number`, `code.namespace` (the module path), `sentry.origin` (`auto.log.log`) and
//! the key-values [`MetadataCapture`] chooses, typed.
//!
//! ```
//! use watchpost::log::SentryLogger;
//!
//! let logger = SentryLogger::new().logs_level(log::LevelFilter::Info);
//! assert_eq!(logger.max_level(), log::LevelFilter::Info);
//! ```
//!
//! The SDK's own records (targets `watchpost...`) and records from inside the SDK (its worker
//! thread, or sent while this logger is reporting) are forwarded but never reported, so logging
//! can never loop.

use super::{is_sdk_target, on_sdk_thread};
use crate::capture::capture_with_source;
use crate::context::{add_breadcrumb, EventSource};
use crate::event::{Breadcrumb, Event, Level};
use crate::logs::{capture_log, Log as StructuredLog, LogLevel, LogValue};
use log::kv::{Key, Value as KvValue, VisitSource};
use log::{LevelFilter, Log, Metadata, Record};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;

/// Which key-value pairs of a record go into `extra.logger_metadata` (the Elixir backend's
/// `metadata` option). The record's file, line and module path are always there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataCapture {
    /// None.
    None,
    /// All of them (the default).
    #[default]
    All,
    /// Only these keys.
    Keys(Vec<String>),
}

impl MetadataCapture {
    fn wants(&self, key: &str) -> bool {
        match self {
            MetadataCapture::None => false,
            MetadataCapture::All => true,
            MetadataCapture::Keys(keys) => keys.iter().any(|k| k == key),
        }
    }
}

/// A `log::Log` that reports to Sentry and forwards every record to your logger.
/// See the [module docs](self).
pub struct SentryLogger {
    dest: Option<Box<dyn Log>>,
    event_level: LevelFilter,
    breadcrumb_level: LevelFilter,
    logs_level: LevelFilter,
    metadata: MetadataCapture,
}

impl fmt::Debug for SentryLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLogger")
            .field("forwards", &self.dest.is_some())
            .field("event_level", &self.event_level)
            .field("breadcrumb_level", &self.breadcrumb_level)
            .field("logs_level", &self.logs_level)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl Default for SentryLogger {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    /// Set while this thread reports a record: records logged meanwhile are only forwarded.
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

impl SentryLogger {
    /// A logger that forwards nowhere, reports `Error` records and keeps `Info` and above as
    /// breadcrumbs, with all metadata.
    pub fn new() -> Self {
        SentryLogger {
            dest: None,
            event_level: LevelFilter::Error,
            breadcrumb_level: LevelFilter::Info,
            logs_level: LevelFilter::Off,
            metadata: MetadataCapture::All,
        }
    }

    /// Forwards every record to `logger` (your application's logger).
    #[must_use]
    pub fn forward_to(mut self, logger: Box<dyn Log>) -> Self {
        self.dest = Some(logger);
        self
    }

    /// Records at or above this level become events (default `Error`; `Off` for none).
    #[must_use]
    pub fn event_level(mut self, level: LevelFilter) -> Self {
        self.event_level = level;
        self
    }

    /// Records at or above this level, below the event level, become breadcrumbs (default `Info`).
    #[must_use]
    pub fn breadcrumb_level(mut self, level: LevelFilter) -> Self {
        self.breadcrumb_level = level;
        self
    }

    /// Records at or above this level are also sent as structured logs when
    /// [`enable_logs`](crate::ClientOptions::enable_logs) is on (default `Off`: none).
    #[must_use]
    pub fn logs_level(mut self, level: LevelFilter) -> Self {
        self.logs_level = level;
        self
    }

    /// Which key-value pairs to attach (default [`MetadataCapture::All`]).
    #[must_use]
    pub fn metadata(mut self, metadata: MetadataCapture) -> Self {
        self.metadata = metadata;
        self
    }

    /// The most verbose level this logger needs: its own levels, or `Trace` when it forwards
    /// (your logger filters for itself). Pass it to `log::set_max_level`.
    pub fn max_level(&self) -> LevelFilter {
        if self.dest.is_some() {
            LevelFilter::Trace
        } else {
            self.event_level
                .max(self.breadcrumb_level)
                .max(self.logs_level)
        }
    }

    /// Installs this logger as the global logger and sets the max level to
    /// [`max_level`](Self::max_level). The logger lives for the rest of the process.
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let level = self.max_level();
        log::set_logger(Box::leak(Box::new(self)))?;
        log::set_max_level(level);
        Ok(())
    }

    /// True for records this logger reports or records as breadcrumbs.
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level()
            <= self
                .event_level
                .max(self.breadcrumb_level)
                .max(self.logs_level)
            && !is_sdk_target(metadata.target())
    }

    fn report(&self, record: &Record<'_>) {
        let level = record.level();
        if level <= self.logs_level {
            let _ = capture_log(self.structured(record));
        }
        if level <= self.event_level {
            let _ = capture_with_source(self.event(record), None, EventSource::Log);
        } else if level <= self.breadcrumb_level {
            add_breadcrumb(self.breadcrumb(record));
        }
    }

    fn event(&self, record: &Record<'_>) -> Event {
        let mut event = Event::message(record.args().to_string(), map_level(record.level()));
        event.logger = Some(record.target().to_owned());
        event.extra.insert(
            "logger_metadata".to_owned(),
            Value::Object(self.metadata_of(record)),
        );
        event.extra.insert(
            "logger_level".to_owned(),
            record.level().as_str().to_ascii_lowercase().into(),
        );
        event
    }

    /// The record as a structured log.
    fn structured(&self, record: &Record<'_>) -> StructuredLog {
        let body = match record.args().as_str() {
            Some(text) => text.to_owned(),
            None => record.args().to_string(),
        };
        let mut log = StructuredLog::new(map_log_level(record.level()), body)
            .attribute("sentry.origin", "auto.log.log")
            .attribute("logger.name", record.target());
        if let Some(file) = record.file() {
            log = log.attribute("code.file.path", file);
        }
        if let Some(line) = record.line() {
            log = log.attribute("code.line.number", line);
        }
        if let Some(module) = record.module_path() {
            log = log.attribute("code.namespace", module);
        }
        let mut kv = Map::new();
        collect_kv(record, &self.metadata, &mut kv);
        for (key, value) in &kv {
            log.attributes.insert(key.clone(), LogValue::from(value));
        }
        log
    }

    fn breadcrumb(&self, record: &Record<'_>) -> Breadcrumb {
        let mut crumb = Breadcrumb::new(record.target(), record.args().to_string())
            .with_level(map_level(record.level()));
        let mut kv = Map::new();
        collect_kv(record, &self.metadata, &mut kv);
        crumb.data.extend(kv);
        crumb
    }

    fn metadata_of(&self, record: &Record<'_>) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(file) = record.file() {
            m.insert("file".to_owned(), file.into());
        }
        if let Some(line) = record.line() {
            m.insert("line".to_owned(), line.into());
        }
        if let Some(module) = record.module_path() {
            m.insert("module_path".to_owned(), module.into());
        }
        collect_kv(record, &self.metadata, &mut m);
        m
    }
}

impl Log for SentryLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.wants(metadata) || self.dest.as_ref().is_some_and(|d| d.enabled(metadata))
    }

    fn log(&self, record: &Record<'_>) {
        if let Some(dest) = &self.dest {
            dest.log(record);
        }
        if !self.wants(record.metadata()) || on_sdk_thread() {
            return;
        }
        let entered = REPORTING.try_with(|r| !r.replace(true)).unwrap_or(false);
        if !entered {
            return;
        }
        self.report(record);
        let _ = REPORTING.try_with(|r| r.set(false));
    }

    fn flush(&self) {
        if let Some(dest) = &self.dest {
            dest.flush();
        }
    }
}

/// Maps a `log` level to a Sentry level.
pub(crate) fn map_level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warning,
        log::Level::Info => Level::Info,
        log::Level::Debug | log::Level::Trace => Level::Debug,
    }
}

/// Maps a `log` level to a structured log's level.
fn map_log_level(level: log::Level) -> LogLevel {
    match level {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

fn collect_kv(record: &Record<'_>, capture: &MetadataCapture, out: &mut Map<String, Value>) {
    struct Collect<'a> {
        capture: &'a MetadataCapture,
        out: &'a mut Map<String, Value>,
    }
    impl<'kvs> VisitSource<'kvs> for Collect<'_> {
        fn visit_pair(
            &mut self,
            key: Key<'kvs>,
            value: KvValue<'kvs>,
        ) -> Result<(), log::kv::Error> {
            if self.capture.wants(key.as_str()) {
                self.out.insert(key.as_str().to_owned(), kv_to_json(&value));
            }
            Ok(())
        }
    }
    if *capture == MetadataCapture::None {
        return;
    }
    let _ = record.key_values().visit(&mut Collect { capture, out });
}

fn kv_to_json(value: &KvValue<'_>) -> Value {
    if let Some(b) = value.to_bool() {
        b.into()
    } else if let Some(i) = value.to_i64() {
        i.into()
    } else if let Some(u) = value.to_u64() {
        u.into()
    } else if let Some(f) = value.to_f64() {
        serde_json::Number::from_f64(f).map_or_else(|| value.to_string().into(), Value::Number)
    } else {
        value.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level as L;

    #[test]
    fn levels_map_to_sentry_levels() {
        assert_eq!(map_level(L::Error), Level::Error);
        assert_eq!(map_level(L::Warn), Level::Warning);
        assert_eq!(map_level(L::Trace), Level::Debug);
    }

    #[test]
    fn events_carry_target_file_line_and_chosen_metadata() {
        let logger = SentryLogger::new().metadata(MetadataCapture::Keys(vec!["order_id".into()]));
        let kvs: [(&str, KvValue<'_>); 2] = [
            ("order_id", KvValue::from(42u64)),
            ("card", KvValue::from("4111")),
        ];
        let record = Record::builder()
            .args(format_args!("payment failed"))
            .level(L::Error)
            .target("shop::pay")
            .file(Some("src/pay.rs"))
            .line(Some(12))
            .key_values(&kvs)
            .build();
        let event = logger.event(&record);
        assert_eq!(
            event.logentry.as_ref().and_then(|l| l.formatted.as_deref()),
            Some("payment failed")
        );
        assert_eq!(event.logger.as_deref(), Some("shop::pay"));
        let meta = &event.extra["logger_metadata"];
        assert_eq!(meta["file"], "src/pay.rs");
        assert_eq!(meta["line"], 12);
        assert_eq!(meta["order_id"], 42);
        assert!(meta.get("card").is_none());
    }

    #[test]
    fn structured_logs_carry_target_code_location_and_typed_key_values() {
        let logger = SentryLogger::new().logs_level(LevelFilter::Info);
        let kvs: [(&str, KvValue<'_>); 3] = [
            ("order_id", KvValue::from(42u64)),
            ("retry", KvValue::from(true)),
            ("card", KvValue::from("4111")),
        ];
        // One statement: the formatted arguments live until its end.
        let log = logger.structured(
            &Record::builder()
                .args(format_args!("payment {}", "failed"))
                .level(L::Warn)
                .target("shop::pay")
                .module_path(Some("shop::pay"))
                .file(Some("src/pay.rs"))
                .line(Some(12))
                .key_values(&kvs)
                .build(),
        );
        assert_eq!(
            (log.level, log.body.as_str()),
            (LogLevel::Warn, "payment failed")
        );
        let a = &log.attributes;
        assert_eq!(a["logger.name"], LogValue::from("shop::pay"));
        assert_eq!(a["code.file.path"], LogValue::from("src/pay.rs"));
        assert_eq!(a["code.line.number"], LogValue::Integer(12));
        assert_eq!(a["code.namespace"], LogValue::from("shop::pay"));
        assert_eq!(a["sentry.origin"], LogValue::from("auto.log.log"));
        assert_eq!(a["order_id"], LogValue::Integer(42));
        assert_eq!(a["retry"], LogValue::Boolean(true));
        assert_eq!(a["card"], LogValue::from("4111"));
        let meta = Metadata::builder().level(L::Info).target("app").build();
        assert!(logger.wants(&meta));
        let meta = Metadata::builder()
            .level(L::Info)
            .target("watchpost")
            .build();
        assert!(!logger.wants(&meta));
    }

    #[test]
    fn sdk_records_are_not_wanted() {
        let logger = SentryLogger::new();
        let meta = Metadata::builder()
            .level(L::Error)
            .target("watchpost::client")
            .build();
        assert!(!logger.wants(&meta));
        let meta = Metadata::builder().level(L::Debug).target("app").build();
        assert!(!logger.wants(&meta));
    }
}
