//! Scripted answers of the [`MockServer`](super::MockServer).

use std::time::Duration;

/// How the server reacts to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reaction {
    /// Answer with the status, headers and body.
    Answer,
    /// Keep the connection open without answering until the server stops.
    NeverAnswer,
    /// Close the connection without answering.
    CloseConnection,
}

/// One scripted answer of the [`MockServer`](super::MockServer): a status with headers and a
/// body, possibly late, or no answer at all.
///
/// Without [`body`](MockResponse::body), a 2xx answer carries `{"id":"<event_id>"}` (the
/// envelope's `event_id`, as Sentry answers) and any other status an empty body.
///
/// ```
/// use watchpost::testing::MockResponse;
/// use std::time::Duration;
///
/// let ok = MockResponse::ok();
/// let limited = MockResponse::status(429)
///     .header("X-Sentry-Rate-Limits", "60:error:key")
///     .body(r#"{"detail":"slow down"}"#);
/// let slow = MockResponse::ok().delay(Duration::from_millis(200));
/// let hang = MockResponse::never_answer();
/// # drop((ok, limited, slow, hang));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MockResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) delay: Duration,
    pub(crate) reaction: Reaction,
}

impl Default for MockResponse {
    fn default() -> Self {
        Self::ok()
    }
}

impl MockResponse {
    /// `200` with `{"id":"<event_id>"}`, what Sentry answers to an accepted envelope.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// An answer with this status, no headers and the default body.
    ///
    /// # Panics
    ///
    /// When `status` is not a valid HTTP status (100 to 999).
    pub fn status(status: u16) -> Self {
        assert!(
            (100..=999).contains(&status),
            "MockResponse: {status} is not an HTTP status"
        );
        MockResponse {
            status,
            headers: Vec::new(),
            body: None,
            delay: Duration::ZERO,
            reaction: Reaction::Answer,
        }
    }

    /// `429` with `X-Sentry-Rate-Limits: <seconds>:<categories>:key`; `categories` is
    /// `;`-separated (`"error;attachment"`), empty for every category.
    pub fn rate_limited(seconds: u64, categories: &str) -> Self {
        Self::status(429).header(
            "X-Sentry-Rate-Limits",
            format!("{seconds}:{categories}:key"),
        )
    }

    /// Keeps the connection open without answering until the server stops: for testing the
    /// client's timeouts.
    pub fn never_answer() -> Self {
        MockResponse {
            reaction: Reaction::NeverAnswer,
            ..Self::ok()
        }
    }

    /// Reads the request, then closes the connection without answering: the client sees a
    /// network error.
    pub fn close_connection() -> Self {
        MockResponse {
            reaction: Reaction::CloseConnection,
            ..Self::ok()
        }
    }

    /// Adds a response header.
    ///
    /// # Panics
    ///
    /// When the name or the value is not valid in HTTP.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        assert!(
            http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
            "MockResponse: invalid header name {name:?}"
        );
        assert!(
            http::HeaderValue::from_str(&value).is_ok(),
            "MockResponse: invalid value {value:?} for header {name}"
        );
        self.headers.push((name, value));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Answers only after `delay` (the request is recorded at once).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The body to send for an envelope with `event_id`.
    pub(crate) fn body_for(&self, event_id: Option<&str>) -> Vec<u8> {
        match (&self.body, event_id) {
            (Some(body), _) => body.clone(),
            (None, Some(id)) if (200..300).contains(&self.status) => {
                serde_json::json!({ "id": id }).to_string().into_bytes()
            }
            (None, None) if (200..300).contains(&self.status) => b"{}".to_vec(),
            (None, _) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_body_echoes_the_event_id_on_success_only() {
        assert_eq!(MockResponse::ok().body_for(Some("abc")), br#"{"id":"abc"}"#);
        assert_eq!(MockResponse::ok().body_for(None), b"{}");
        assert_eq!(MockResponse::status(500).body_for(Some("abc")), b"");
        assert_eq!(MockResponse::ok().body("x").body_for(Some("abc")), b"x");
    }

    #[test]
    fn rate_limited_sets_the_sentry_header() {
        let r = MockResponse::rate_limited(60, "error");
        assert_eq!(r.status, 429);
        assert_eq!(
            r.headers,
            [("X-Sentry-Rate-Limits".to_owned(), "60:error:key".to_owned())]
        );
    }
}
