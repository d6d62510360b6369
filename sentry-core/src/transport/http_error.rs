//! [`HttpError`]: a request that got no HTTP answer, with what kind of failure it was and the
//! underlying error as its source.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// The request got no HTTP answer: DNS failure, refused, reset, timeout, TLS error.
///
/// It says what kind of failure it was ([`kind`](HttpError::kind)), describes it in one sentence
/// (its `Display`), and keeps the error it came from as its
/// [`source`](std::error::Error::source) when there is one.
///
/// A [timeout](HttpErrorKind::TimedOut) is not retried at once: a server that accepts connections
/// but does not answer would hold every queued event for `send_max_attempts` timeouts. Other
/// failures (refused, reset, ...) are retried with backoff.
///
/// ```
/// use watchpost::{HttpError, HttpErrorKind};
///
/// let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let err = HttpError::new(HttpErrorKind::ConnectionRefused, "connection refused").with_source(io);
/// assert_eq!(err.to_string(), "connection refused");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, Clone)]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

/// What kind of failure an [`HttpError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The host name could not be resolved.
    HostNotFound,
    /// The server refused the connection.
    ConnectionRefused,
    /// The connection was reset or closed before a whole answer came.
    ConnectionReset,
    /// No answer came within the timeout.
    TimedOut,
    /// Anything else: TLS, I/O, a malformed answer.
    Other,
}

impl HttpError {
    /// A failure of `kind`, described by `message` (one sentence, shown in logs and errors: the
    /// transport masks the DSN's secret in it).
    pub fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        HttpError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, with `source` as the error it came from.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }

    /// True when no answer came within the timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == HttpErrorKind::TimedOut
    }

    /// The error with `secret` masked: replaced by `***` in the message, and the source left
    /// out when any error of its chain mentions it (a source's text cannot be rewritten).
    pub(crate) fn redacted(mut self, secret: Option<&str>) -> Self {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return self;
        };
        if self.message.contains(secret) {
            self.message = self.message.replace(secret, "***");
        }
        let mut next: Option<&(dyn StdError + 'static)> = self
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static));
        while let Some(err) = next {
            if err.to_string().contains(secret) {
                self.source = None;
                break;
            }
            next = err.source();
        }
        self
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for HttpError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Two errors are equal when they are of the same kind and say the same thing; sources are not
/// compared.
impl PartialEq for HttpError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for HttpError {}

/// `err` and each of its sources, joined by `": "`: the whole story in one log line.
pub(crate) fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    // Bounded: a source chain is user data like any other.
    for _ in 0..16 {
        let Some(e) = next else { break };
        let more = e.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Leaky;
    impl fmt::Display for Leaky {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("header X-Sentry-Auth: sentry_secret=s3cr3t")
        }
    }
    impl StdError for Leaky {}

    #[test]
    fn the_source_is_kept_and_reachable() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let err = HttpError::new(HttpErrorKind::ConnectionReset, "reset").with_source(io);
        let source = err.source().expect("a source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(err.kind(), HttpErrorKind::ConnectionReset);
    }

    #[test]
    fn redaction_masks_the_message_and_drops_a_source_that_names_the_secret() {
        let err =
            HttpError::new(HttpErrorKind::Other, "failed with s3cr3t in it").with_source(Leaky);
        let err = err.redacted(Some("s3cr3t"));
        assert_eq!(err.to_string(), "failed with *** in it");
        assert!(err.source().is_none());
        assert!(!format!("{err:?}").contains("s3cr3t"));
    }

    #[test]
    fn redaction_keeps_a_source_that_does_not_name_the_secret() {
        let io = std::io::Error::other("tls handshake failed");
        let err = HttpError::new(HttpErrorKind::Other, "tls").with_source(io);
        assert!(err.redacted(Some("s3cr3t")).source().is_some());
    }

    #[test]
    fn the_chain_is_joined_without_repeating_a_message() {
        let io = std::io::Error::other("connection refused");
        let err =
            HttpError::new(HttpErrorKind::ConnectionRefused, "connection refused").with_source(io);
        assert_eq!(error_chain(&err), "connection refused");
        let err = HttpError::new(HttpErrorKind::Other, "I/O error").with_source(Leaky);
        assert_eq!(
            error_chain(&err),
            "I/O error: header X-Sentry-Auth: sentry_secret=s3cr3t"
        );
    }
}
