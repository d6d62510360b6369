//! The crate's error type: configuration problems found at `init`, and send failures.

use crate::dsn::DsnError;

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The request did not get an HTTP answer (DNS, refused, reset, timeout, TLS).
    #[error("network error: {0}")]
    Network(String),
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
    /// The event could not be serialized.
    #[error("the event could not be serialized: {0}")]
    Serialize(String),
    /// No DSN is configured: the SDK is disabled.
    #[error("no DSN is configured")]
    NoDsn,
    /// The background queue was full (and no offline cache took it): dropped, counted as
    /// `queue_overflow`.
    #[error("the send queue is full")]
    QueueFull,
}
