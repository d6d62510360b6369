//! Getting envelopes to the server: the HTTP client, the sender with retries and rate limits,
//! the bounded background worker, the offline cache, the Spotlight copy, and the counters of
//! what happened.
//!
//! Every envelope handed to the transport ends as exactly one of: accepted by the server
//! (counted in [`TransportStats::sent`]), dropped with a [`DropReason`] (counted, and reported to
//! the server in a client report), or kept in the offline cache for a later attempt
//! ([`TransportStats::cached`]).

mod cache;
mod http;
mod http_error;
mod ratelimit;
mod sender;
mod spotlight;
mod stats;
mod worker;

#[cfg(feature = "test")]
pub(crate) use http::find_header;
pub use http::{HttpClient, HttpRequest, HttpResponse, UreqClient};
pub(crate) use http_error::error_chain;
pub use http_error::{HttpError, HttpErrorKind};
pub(crate) use sender::HttpTransport;
pub(crate) use spotlight::DEFAULT_URL as SPOTLIGHT_URL;
pub(crate) use stats::Stats;
pub use stats::{DropReason, TransportStats};
pub(crate) use worker::{Job, Worker, WorkerConfig, STAY_NAPPING};

use crate::envelope::Envelope;
use crate::error::SendError;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The `log` target of the transport's debug messages (option `debug`).
pub(crate) const LOG_TARGET: &str = "watchpost::transport";

/// Logs a transport action at debug level when the `debug` option is on.
macro_rules! debug_log {
    ($on:expr, $($arg:tt)+) => {
        if $on {
            log::debug!(target: $crate::transport::LOG_TARGET, $($arg)+);
        }
    };
}
pub(crate) use debug_log;

/// What the server said when it accepted an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The `id` from the answer's body, when there was one.
    pub(crate) server_id: Option<String>,
}

/// Where finished envelopes go: HTTP, or memory for the testing kit.
///
/// Only [`send`](Transport::send) is required; the other methods are the background upkeep of
/// transports that have some (the HTTP transport: offline cache, periodic client reports).
pub(crate) trait Transport: Send + Sync + fmt::Debug {
    /// Delivers one envelope, retrying as configured; blocking.
    fn send(&self, envelope: Envelope) -> Result<Sent, SendError>;

    /// True when [`store`](Transport::store) keeps envelopes (an offline cache is configured).
    fn can_store(&self) -> bool {
        false
    }

    /// Keeps an envelope on disk to be sent later by the worker's upkeep, without sending it
    /// now. Hands it back when there is no offline cache or it could not be written.
    fn store(&self, envelope: Envelope) -> Result<(), Envelope> {
        Err(envelope)
    }

    /// True when the transport has background work even without events (an offline cache to
    /// drain), so a worker is needed in [`SendResult::Sync`](crate::SendResult::Sync) mode too.
    fn needs_upkeep(&self) -> bool {
        false
    }

    /// Background work, run by the worker between events: resending cached envelopes, sending
    /// a client report that is due. Returns how long until it wants to run again.
    fn upkeep(&self) -> Duration {
        Duration::from_secs(60)
    }

    /// Called when a flush reaches the worker: send the pending client report now.
    fn flush(&self) {}

    /// Shutdown gave up waiting: stop waiting between attempts, fail fast from now on.
    fn close(&self) {}
}

/// Exponential backoff with full jitter: up to 100 ms × 2^(attempt-1), capped at 5 s; a
/// `Retry-After` from the server wins when it is longer (capped at 60 s).
pub(crate) fn backoff(attempt: u32, retry_after: Option<u64>) -> Duration {
    let cap = Duration::from_millis(100u64.saturating_mul(1 << attempt.saturating_sub(1).min(6)))
        .min(Duration::from_secs(5));
    let jittered = cap.mul_f64(0.5 + 0.5 * crate::time::jitter());
    match retry_after {
        Some(s) => jittered.max(Duration::from_secs(s.min(60))),
        None => jittered,
    }
}

/// Logs send failures at the configured level once per kind of failure, and again only after a
/// success in between; repeats go to debug level.
#[derive(Debug)]
pub(crate) struct FailureLog {
    level: log::Level,
    seen: Mutex<HashSet<String>>,
}

impl FailureLog {
    pub(crate) fn new(level: log::Level) -> Self {
        FailureLog {
            level,
            seen: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn log(&self, kind: &str, err: &(dyn std::error::Error + 'static)) {
        let first = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kind.to_owned());
        let level = if first { self.level } else { log::Level::Debug };
        log::log!(target: "watchpost", level, "sending to Sentry failed: {}", error_chain(err));
    }

    pub(crate) fn recovered(&self) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if !seen.is_empty() {
            seen.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for _ in 0..50 {
            let b1 = backoff(1, None);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = backoff(3, None);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            assert!(backoff(30, None) <= Duration::from_secs(5));
            assert!(backoff(1, Some(2)) >= Duration::from_secs(2));
        }
    }
}
