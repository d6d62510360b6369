//! The HTTP client behind the transport: a small trait, and its default ureq implementation.

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

/// One POST of an envelope.
#[derive(Debug)]
#[non_exhaustive]
pub struct HttpRequest<'a> {
    /// The envelope endpoint.
    pub url: &'a str,
    /// Headers to send (`X-Sentry-Auth`, `Content-Type`, `Content-Encoding`, `User-Agent`).
    pub headers: &'a [(&'static str, String)],
    /// The (possibly compressed) body.
    pub body: &'a [u8],
}

/// The server's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body, cut at 64 KiB.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status, headers and body.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The value of the first header called `name` (case-insensitive) in a list of pairs.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request got no HTTP answer: DNS failure, refused, reset, timeout, TLS error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(pub String);

/// Sends envelopes over HTTP (Elixir's `client` option, a `Sentry.HTTPClient` behaviour).
///
/// Implement it to bring your own configured client (proxies, custom TLS roots, ...), the
/// counterpart of Elixir's `hackney_opts`. It is called from the background worker, or from the
/// capturing thread in [`SendResult::Sync`](crate::SendResult::Sync) mode.
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// POSTs the request and returns the answer, whatever its status.
    fn post(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError>;
}

/// The default client: ureq with rustls (certificates verified against the Mozilla roots),
/// a connection pool and timeouts.
#[derive(Debug, Clone)]
pub struct UreqClient {
    agent: ureq::Agent,
}

/// Bytes of a response body read at most; Sentry's answers are tiny.
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

impl UreqClient {
    /// A client with a timeout for each phase of a request (send, wait for the answer, read it), a
    /// connect timeout and a pool of idle connections.
    pub fn new(timeout: Duration, connect_timeout: Duration, max_idle_connections: usize) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Per-phase timeouts, not `timeout_global`: with a resolve timeout ureq resolves on a
            // new thread for every request (even for IP literals), which cut our delivery rate
            // to a quarter. Name resolution keeps the system resolver's own timeout.
            .timeout_connect(Some(connect_timeout))
            .timeout_send_request(Some(timeout))
            .timeout_send_body(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .max_idle_connections(max_idle_connections)
            .max_idle_connections_per_host(max_idle_connections)
            .user_agent(crate::USER_AGENT)
            .build();
        UreqClient {
            agent: config.into(),
        }
    }
}

impl HttpClient for UreqClient {
    fn post(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let mut req = self.agent.post(request.url);
        for (k, v) in request.headers {
            req = req.header(*k, v.as_str());
        }
        let mut resp = req
            .send(request.body)
            .map_err(|e| HttpError(describe(&e)))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        // A body cut short or unreadable still leaves a usable status and headers.
        let _ = resp
            .body_mut()
            .as_reader()
            .take(MAX_RESPONSE_BODY)
            .read_to_end(&mut body);
        Ok(HttpResponse::new(status, headers, body))
    }
}

/// One plain sentence for a ureq error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found (DNS lookup failed)".to_owned(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
            _ => format!("I/O error: {io}"),
        },
        other => other.to_string(),
    }
}

/// The body gzip-compressed (fast level), `None` if compression failed.
pub(crate) fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::fast(),
    );
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// The `id` of a `{"id": "..."}` answer.
pub(crate) fn server_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("id")?.as_str().map(str::to_owned)
}

/// The `detail` of a `{"detail": "..."}` error answer, or a short plain-text body.
pub(crate) fn body_detail(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(d) = v.get("detail").and_then(|d| d.as_str()) {
            return Some(d.to_owned());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && text.len() <= 200).then(|| text.to_owned())
}
