//! Structured logs (Sentry Logs): log lines with typed attributes, stored by Sentry, searchable,
//! and linked to the trace they were written in.
//!
//! Turn them on with [`enable_logs`](crate::ClientOptions::enable_logs), then write them with
//! the `logger_*!` macros (a format string, like `format!`) or [`capture_log`]:
//!
//! ```
//! use watchpost::logs::{capture_log, Log, LogLevel};
//!
//! let _guard = watchpost::init(watchpost::ClientOptions::new().enable_logs(true))
//!     .expect("valid Sentry options");
//! let user = "ada";
//! watchpost::logger_info!("user {} signed in", user);
//! watchpost::logger_warn!(attempt = 3, "http.method" = "POST"; "retrying {}", "/pay");
//! capture_log(Log::new(LogLevel::Error, "cache offline").attribute("cache.node", 2));
//! ```
//!
//! The macros send the format string as the `sentry.message.template` attribute and each
//! positional argument as `sentry.message.parameter.<n>` (numbers, booleans and text typed as
//! such, anything else as its `Display` or `Debug` text); inline captures (`{user}`) are only
//! formatted into the body. Attributes go before the format string, `key = value` pairs ended
//! by `;`; a key is a name or a string literal.
//!
//! Every log carries the current context's `trace_id`, the `span_id` of the transaction running
//! in it (if any), and the attributes `sentry.sdk.name`, `sentry.sdk.version`,
//! `sentry.environment`, `sentry.release`, `server.address`, `sentry.severity_number` and
//! `sentry.severity_text`; with [`send_default_pii`](crate::ClientOptions::send_default_pii)
//! also the scope user's `user.id`, `user.name`, `user.email` and `user.ip_address`.
//!
//! # How logs travel
//!
//! Capturing a log never blocks and never does I/O: the log goes into a lock-free buffer of at
//! most [`MAX_BUFFERED_LOGS`] logs and [`MAX_BUFFERED_BYTES`] bytes; a log that does not fit is
//! dropped and counted (`queue_overflow`, category `log_item`). The body and string attributes
//! are cut to 8,192 characters; a log still over [`MAX_LOG_BYTES`] is dropped and counted
//! (`send_error`). The worker sends the buffer in
//! `log` items of at most [`BATCH_SIZE`] logs, one per envelope: at once when a batch is full,
//! and otherwise at its housekeeping, at most [`BATCH_DELAY`] after a log came (with the HTTP
//! transport), and at [`flush`](crate::flush) and shutdown. There, off the capturing thread,
//! [`before_send_log`](crate::ClientOptions::before_send_log) runs. In
//! [`SendResult::Sync`](crate::SendResult::Sync) mode the capturing thread sends a batch
//! itself when it is full or its oldest log is [`BATCH_DELAY`] old (and the worker, when it
//! runs for client reports or the offline cache, at its housekeeping). Logs refused by a rate
//! limit on `log_item`, dropped by `before_send_log` or lost on the way are counted in client
//! reports (`log_item`, and their size as `log_byte`).
//!
//! Logs captured on the SDK's own threads or inside its callbacks are refused (and counted),
//! so forwarding the `log` or `tracing` records of the SDK's own work can never loop; the
//! integrations (features `log` and `tracing`: `SentryLogger::logs_level`,
//! `SentryTracingLayer::logs_level`) forward records at or above a level of your choice as
//! structured logs.

mod batch;
pub(crate) mod macro_support;
mod record;
mod value;

pub(crate) use batch::{envelope, record_log_drop, LogBuffer, Pushed};
pub use batch::{BATCH_DELAY, BATCH_SIZE, MAX_BUFFERED_BYTES, MAX_BUFFERED_LOGS};
pub use record::{Log, LogLevel, MAX_LOG_BYTES};
pub use value::LogValue;

use crate::context::Context;

/// Sends a structured log: buffered, linked to the current context's trace, and sent in a
/// batch. False when it is not buffered: no client, [`enable_logs`](crate::ClientOptions::enable_logs)
/// off, the environment not included, captured inside the SDK, or the buffer full (the last two
/// are counted).
///
/// ```
/// use watchpost::logs::{capture_log, Log, LogLevel};
/// let sent = capture_log(Log::new(LogLevel::Info, "no client: not buffered"));
/// assert!(!sent);
/// ```
pub fn capture_log(log: Log) -> bool {
    let ctx = Context::current();
    match ctx.client() {
        Some(client) => client.capture_log(log, &ctx),
        None => false,
    }
}

/// Writes a structured log at `trace` level. See [`logs`](crate::logs).
///
/// ```
/// watchpost::logger_trace!("cache lookup for {}", "user:42");
/// ```
#[macro_export]
macro_rules! logger_trace {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Trace; $($args)+) };
}

/// Writes a structured log at `debug` level. See [`logs`](crate::logs).
///
/// ```
/// watchpost::logger_debug!(hits = 12; "cache warmed in {} ms", 40);
/// ```
#[macro_export]
macro_rules! logger_debug {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Debug; $($args)+) };
}

/// Writes a structured log at `info` level. See [`logs`](crate::logs).
///
/// ```
/// let name = "ada";
/// watchpost::logger_info!("user {} signed in", name);
/// ```
#[macro_export]
macro_rules! logger_info {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Info; $($args)+) };
}

/// Writes a structured log at `warn` level. See [`logs`](crate::logs).
///
/// ```
/// watchpost::logger_warn!(attempt = 2, "http.route" = "/pay"; "retrying after {:?}", "timeout");
/// ```
#[macro_export]
macro_rules! logger_warn {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Warn; $($args)+) };
}

/// Writes a structured log at `error` level. See [`logs`](crate::logs).
///
/// ```
/// watchpost::logger_error!("payment {} failed: {}", 1234, "card declined");
/// ```
#[macro_export]
macro_rules! logger_error {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Error; $($args)+) };
}

/// Writes a structured log at `fatal` level. See [`logs`](crate::logs).
///
/// ```
/// watchpost::logger_fatal!("out of memory");
/// ```
#[macro_export]
macro_rules! logger_fatal {
    ($($args:tt)+) => { $crate::__logger!($crate::logs::LogLevel::Fatal; $($args)+) };
}

/// The `logger_*!` macros' expansion: attributes, then each argument bound once, then the log.
#[doc(hidden)]
#[macro_export]
macro_rules! __logger {
    ($level:expr; $($key:tt = $value:expr),+ ; $fmt:literal $($rest:tt)*) => {
        $crate::__logger!(@bind $level; [$(($crate::__logger_key!($key), $value))+]; $fmt; []; $($rest)*)
    };
    ($level:expr; $fmt:literal $($rest:tt)*) => {
        $crate::__logger!(@bind $level; []; $fmt; []; $($rest)*)
    };
    (@bind $level:expr; [$($attr:tt)*]; $fmt:literal; [$($bound:ident)*]; , $arg:expr $(, $more:expr)* $(,)?) => {
        match &$arg {
            arg => $crate::__logger!(@bind $level; [$($attr)*]; $fmt; [$($bound)* arg]; $(, $more)*),
        }
    };
    (@bind $level:expr; [$(($key:expr, $value:expr))*]; $fmt:literal; [$($bound:ident)*]; $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::__private::{ByDebug as _, ByDisplay as _, ByValue as _, Opaque as _};
        let attributes = ::std::vec![$(($key, $crate::logs::LogValue::from($value))),*];
        // Nothing is formatted when no client takes logs.
        match $crate::__private::log_target() {
            ::std::option::Option::Some(target) => target.capture(
                $level,
                $fmt,
                ::std::format_args!($fmt, $($bound),*),
                &[$((&&&&$crate::__private::Param($bound)).log_param()),*],
                attributes,
            ),
            ::std::option::Option::None => false,
        }
    }};
}

/// An attribute key of the `logger_*!` macros: a name or a string literal.
#[doc(hidden)]
#[macro_export]
macro_rules! __logger_key {
    ($key:ident) => {
        ::std::stringify!($key)
    };
    ($key:literal) => {
        $key
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use crate::testing::EventCapture;
    use serde_json::Value;
    use std::fmt;
    use std::time::Duration;

    #[derive(Debug)]
    struct OnlyDebug;
    struct Shown;
    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("shown")
        }
    }

    /// The logs sent so far, after a flush.
    fn logs_of(capture: &EventCapture) -> Vec<Value> {
        let flushed = capture.run(|| {
            crate::Context::current()
                .client()
                .unwrap()
                .flush(Duration::from_secs(5))
        });
        assert!(flushed);
        capture
            .envelopes()
            .iter()
            .flat_map(|e| e.items().to_vec())
            .filter(|i| i.ty() == "log")
            .flat_map(|i| {
                i.payload_json().unwrap()["items"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    #[test]
    fn macro_parameters_keep_their_types_and_are_evaluated_once() {
        let capture = EventCapture::with_options(crate::ClientOptions::new().enable_logs(true));
        let mut calls = 0;
        let mut next = || {
            calls += 1;
            calls
        };
        capture.run(|| {
            crate::logger_info!(
                admin = true, "http.route" = "/pay";
                "{} {} {} {:?} {}", "ada", next(), Shown, OnlyDebug, 0.5
            )
        });
        assert_eq!(calls, 1);
        let logs = logs_of(&capture);
        assert_eq!(logs.len(), 1, "{logs:#?}");
        let a = &logs[0]["attributes"];
        assert_eq!(logs[0]["body"], "ada 1 shown OnlyDebug 0.5");
        assert_eq!(a["sentry.message.template"]["value"], "{} {} {} {:?} {}");
        assert_eq!(a["sentry.message.parameter.0"]["value"], "ada");
        assert_eq!(a["sentry.message.parameter.1"]["type"], "integer");
        assert_eq!(a["sentry.message.parameter.2"]["value"], "shown");
        assert_eq!(a["sentry.message.parameter.3"]["value"], "OnlyDebug");
        assert_eq!(a["sentry.message.parameter.4"]["type"], "double");
        assert_eq!(a["admin"]["value"], true);
        assert_eq!(a["http.route"]["value"], "/pay");
    }

    #[test]
    fn with_logs_off_the_macros_format_nothing() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static FORMATTED: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl fmt::Display for Counted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                FORMATTED.fetch_add(1, Ordering::SeqCst);
                f.write_str("counted")
            }
        }
        let off = EventCapture::with_options(crate::ClientOptions::new());
        assert!(!off.run(|| crate::logger_info!("{}", Counted)));
        assert!(!crate::logger_info!("no client: {}", Counted));
        assert_eq!(FORMATTED.load(Ordering::SeqCst), 0);
        let on = EventCapture::with_options(crate::ClientOptions::new().enable_logs(true));
        assert!(on.run(|| crate::logger_info!("{}", Counted)));
        assert_eq!(
            FORMATTED.load(Ordering::SeqCst),
            2,
            "the body and the parameter"
        );
    }

    #[test]
    fn a_log_over_a_megabyte_is_dropped_and_counted_not_sent() {
        let capture = EventCapture::with_options(crate::ClientOptions::new().enable_logs(true));
        let mut huge = crate::logs::Log::new(crate::logs::LogLevel::Info, "many attributes");
        for i in 0..200 {
            huge = huge.attribute(format!("a{i}"), "x".repeat(8_000));
        }
        assert!(!capture.run(|| crate::logs::capture_log(huge)));
        assert!(capture.run(|| crate::logger_info!("a small one")));
        let logs = logs_of(&capture);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["body"], "a small one");
        let stats = capture.run(crate::stats);
        assert_eq!(
            stats
                .dropped
                .get(&(crate::DropReason::SendError, "log_item".to_owned())),
            Some(&1)
        );
    }

    #[test]
    fn a_plain_message_has_no_template() {
        let capture = EventCapture::with_options(crate::ClientOptions::new().enable_logs(true));
        capture.run(|| crate::logger_error!("disk full"));
        let logs = logs_of(&capture);
        assert_eq!(logs[0]["level"], "error");
        assert!(logs[0]["attributes"]
            .get("sentry.message.template")
            .is_none());
    }

    #[test]
    fn the_scope_user_is_sent_only_with_send_default_pii() {
        for pii in [false, true] {
            let options = crate::ClientOptions::new()
                .enable_logs(true)
                .send_default_pii(pii);
            let capture = EventCapture::with_options(options);
            capture.run(|| {
                let mut user = crate::User::with_id("42");
                user.email = Some("ada@example.com".into());
                crate::set_user_context(user);
                crate::logger_info!("signed in");
            });
            let a = &logs_of(&capture)[0]["attributes"];
            assert_eq!(a.get("user.id").is_some(), pii, "{a:#}");
            assert_eq!(a.get("user.email").is_some(), pii, "{a:#}");
            assert!(a.get("user.name").is_none());
        }
    }

    #[test]
    fn a_log_captured_inside_before_send_log_is_refused_and_counted() {
        let options = crate::ClientOptions::new()
            .enable_logs(true)
            .before_send_log(|log: super::Log| {
                assert!(!crate::logger_info!("from the hook"));
                Some(log)
            });
        let capture = EventCapture::with_options(options);
        capture.run(|| crate::logger_info!("outer"));
        let logs = logs_of(&capture);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["body"], "outer");
        let stats = capture.run(|| crate::Context::current().client().unwrap().stats());
        let refused = stats.dropped[&(crate::DropReason::EventProcessor, "log_item".to_owned())];
        assert_eq!(refused, 1);
    }

    #[test]
    fn nothing_is_buffered_outside_the_included_environments() {
        let options = crate::ClientOptions::new()
            .enable_logs(true)
            .environment("dev")
            .included_environments(["prod"]);
        let capture = EventCapture::with_options(options);
        assert!(!capture.run(|| crate::logger_info!("dev only")));
    }

    #[test]
    fn nothing_is_buffered_unless_logs_are_enabled() {
        let capture = EventCapture::new();
        assert!(!capture.run(|| crate::logger_info!("off")));
        assert!(logs_of(&capture).is_empty());
    }
}
