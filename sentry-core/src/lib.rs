//! A Sentry client for Rust services: report errors, panics and messages with the context needed
//! to fix them, including the **source lines around every in-app frame**, embedded at compile
//! time.
//!
//! # Quick start
//!
//! ```no_run
//! use watchpost::{ClientOptions, Level};
//!
//! fn main() {
//!     // Reads SENTRY_DSN, SENTRY_ENVIRONMENT and SENTRY_RELEASE when not set here.
//!     let _guard = watchpost::init(
//!         ClientOptions::new()
//!             .dsn("https://public@sentry.example.com/1")
//!             .release("my-app@1.0.0"),
//!     )
//!     .expect("valid Sentry options");
//!
//!     watchpost::set_tags_context([("region", "eu-west")]);
//!     watchpost::capture_message("service started", Level::Info);
//!
//!     if let Err(err) = std::fs::read_to_string("/etc/my-app.toml") {
//!         watchpost::capture_error(&err);
//!     }
//!     // Panics are reported too (feature `panic`, on by default).
//! }
//! ```
//!
//! # How an event travels
//!
//! A `capture_*` call (or the panic hook, the tower layer, the `log`/`tracing` integrations)
//! builds the event on the caller's thread: the current [`Context`]'s scope is merged in, every
//! value is bounded (depth, breadth, lengths; see `normalize`), and the stack is walked as raw
//! instruction pointers only. The client then applies `filter` and `sample_rate` and hands the
//! event to a bounded, lock-free queue; the capture call returns. The worker thread (at a lowered
//! priority on Linux) resolves the stack to symbols, attaches the embedded source lines
//! ([`SourceTable`]), adds the bulky defaults, runs `before_send`, checks the size budget, and
//! gives the envelope to the sender, which applies rate limits, retries, client reports and the
//! offline cache before the [`HttpClient`] posts it. Events that do not fit the queue go to the
//! spill writer (with `cache_dir`) or are counted; at shutdown a drain thread at the caller's
//! priority helps empty the queue and a last client report says what was left. See
//! `docs/architecture.md` in the repository for the full picture.
//!
//! # Cargo features
//!
//! | feature | what it adds |
//! |---|---|
//! | `panic` (default) | reports panics as unhandled events, with the panicking line's source |
//! | `tower` | a tower `Layer` for web services (axum): per-request context and request data |
//! | `axum` | the tower layer names requests by axum 0.8's matched route |
//! | `tokio` | context set in a tokio task without a context of its own is dropped, not left on the runtime thread (on with `tower`) |
//! | `log` | a `log::Log` backend: breadcrumbs and error events |
//! | `tracing` | a `tracing_subscriber::Layer`: breadcrumbs and error events |
//! | `anyhow` | `capture_anyhow` for `anyhow::Error` |
//! | `source-rules` | run-time `source_code_exclude_patterns` / `source_code_path_pattern` (brings in `regex` and `glob`) |
//! | `test` | the testing kit: in-memory capture and a loopback mock Sentry server |

#![deny(missing_docs, unreachable_pub)]
#![warn(missing_debug_implementations)]

mod capture;
mod client;
mod config_env;
mod context;
pub mod crons;
mod dsn;
mod envelope;
mod error;
mod event;
mod feedback;
mod hooks;
mod integrations;
pub mod logs;
mod normalize;
mod options;
pub mod protocol;
mod scope;
mod session;
mod source_context;
mod source_rules;
mod stacktrace;
mod test_event;
mod thread_priority;
mod time;
pub mod trace;
mod transport;

#[cfg(feature = "test")]
pub mod testing;

pub use capture::{
    capture_error, capture_error_with, capture_event, capture_event_with, capture_message,
    capture_message_with, AsDynError, CaptureOptions, CaptureOutcome,
};
pub use client::{flush, init, stats, ClientGuard};
pub use context::{
    add_breadcrumb, clear_context, configure_scope, last_event_id_and_source, set_extra_context,
    set_tags_context, set_user_context, with_scope, Context, ContextFuture, ContextFutureExt,
    EventSource,
};
pub use dsn::{Dsn, DsnError};
pub use error::{Error, SendError};
pub use feedback::{capture_user_feedback, ReportDialog, UserFeedback};
pub use hooks::{AfterSend, BeforeSend, BeforeSendLog, Filter};
#[cfg(feature = "anyhow")]
pub use integrations::anyhow::{capture_anyhow, capture_anyhow_with};
#[cfg(feature = "log")]
pub use integrations::log;
#[cfg(feature = "tower")]
pub use integrations::tower;
#[cfg(feature = "tracing")]
pub use integrations::tracing;
pub use options::{ClientOptions, QueueOverflowPolicy, SendResult};
pub use protocol::{Attachment, Breadcrumb, Event, Level, User};
pub use scope::Scope;
pub use session::SessionMode;
// `embed_sources!` is `#[macro_export]`ed from `source_context/embed.rs`, the `logger_*!`
// macros from `logs/mod.rs`.
pub use source_context::SourceTable;
pub use stacktrace::release_debug_info;
pub use test_event::{send_test_event, TestEventOutcome};
pub use transport::{
    DropReason, HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse, TransportStats,
    UreqClient,
};

/// The SDK's name, as sent in `sdk.name` and `User-Agent`.
pub const SDK_NAME: &str = "sentry.rust.core";
/// The SDK's version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// `name/version`, the `User-Agent` and `sentry_client` value.
pub(crate) const USER_AGENT: &str = concat!("sentry.rust.core/", env!("CARGO_PKG_VERSION"));

/// Internals used by code that `embed_sources!` and the `logger_*!` macros generate. Not a
/// stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::logs::macro_support::{
        log_target, ByDebug, ByDisplay, ByValue, LogTarget, Opaque, Param,
    };
    pub use crate::source_context::{check_table_format, SourceTable};
    pub use watchpost_macros::embed_sources_impl;
}
