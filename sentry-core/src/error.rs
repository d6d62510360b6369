//! The crate's error type: configuration problems found at `init`, and send failures.

use std::sync::Arc;

use crate::dsn::DsnError;
use crate::transport::HttpError;

/// A configuration problem found by [`init`](crate::init) or [`ClientOptions::validate`](crate::ClientOptions::validate).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The DSN (from options or `SENTRY_DSN`) could not be parsed.
    #[error("invalid DSN `{dsn}`: {source}")]
    InvalidDsn {
        /// The DSN with its keys masked and nothing kept but an `http(s)` scheme and the host
        /// (`https://***@host`): a malformed DSN may hold its secret anywhere.
        dsn: String,
        /// What is wrong with it.
        source: DsnError,
    },
    /// An option has a value it cannot take.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name, as in the options table.
        option: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

impl Error {
    pub(crate) fn option(option: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            option,
            reason: reason.into(),
        }
    }
}

/// Why an event could not be delivered.
///
/// Its `Display` says what happened in one sentence; the error it came from (an [`HttpError`],
/// a `serde_json::Error`) is its [`source`](std::error::Error::source).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The request did not get an HTTP answer (DNS, refused, reset, timeout, TLS); the
    /// [`HttpError`] says which.
    #[error("the server did not answer")]
    Network(#[source] HttpError),
    /// The server did not answer moments ago: the transport waits out the outage before it
    /// tries again, and did not send this envelope (with `cache_dir` it is kept for later).
    #[error("the server was unreachable moments ago; not tried again yet")]
    Unreachable,
    /// The server answered with an error status.
    #[error("server answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// HTTP status code.
        status: u16,
        /// `X-Sentry-Error` or the body's `detail`, when present.
        detail: Option<String>,
        /// Seconds the server asked us to wait (`Retry-After` / rate limits), when given.
        retry_after: Option<u64>,
    },
    /// The event's category is rate limited; the event was not sent.
    #[error("rate limited for another {retry_after} s")]
    RateLimited {
        /// Seconds until the limit ends.
        retry_after: u64,
    },
    /// The event could not be serialized, or a queued event could not be read back.
    #[error("the event could not be serialized")]
    Serialize(#[source] Arc<serde_json::Error>),
    /// The event is still over the size limit after trimming (Sentry would refuse it with a
    /// `413`): dropped, counted as `send_error`.
    #[error("the event is {bytes} bytes after trimming, over the {limit} byte limit")]
    TooLarge {
        /// The event's size as JSON after trimming.
        bytes: usize,
        /// The largest event the SDK sends.
        limit: usize,
    },
    /// No DSN is configured: the SDK is disabled.
    #[error("no DSN is configured")]
    NoDsn,
    /// The background queue was full (and no offline cache took it): dropped, counted as
    /// `queue_overflow`.
    #[error("the send queue is full")]
    QueueFull,
}

impl SendError {
    pub(crate) fn serialize(err: serde_json::Error) -> Self {
        SendError::Serialize(Arc::new(err))
    }
}

/// Two errors are equal when they are the same variant with equal fields; the serde errors of
/// two [`Serialize`](SendError::Serialize) errors are compared by their text.
impl PartialEq for SendError {
    fn eq(&self, other: &Self) -> bool {
        use SendError::*;
        match (self, other) {
            (Network(a), Network(b)) => a == b,
            (Serialize(a), Serialize(b)) => a.to_string() == b.to_string(),
            (
                Status {
                    status: a,
                    detail: b,
                    retry_after: c,
                },
                Status {
                    status: x,
                    detail: y,
                    retry_after: z,
                },
            ) => (a, b, c) == (x, y, z),
            (RateLimited { retry_after: a }, RateLimited { retry_after: b }) => a == b,
            (TooLarge { bytes: a, limit: b }, TooLarge { bytes: x, limit: y }) => (a, b) == (x, y),
            (Unreachable, Unreachable) | (NoDsn, NoDsn) | (QueueFull, QueueFull) => true,
            _ => false,
        }
    }
}

impl Eq for SendError {}
