//! The HTTP client behind the transport: a small trait, and its default ureq implementation.

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use super::http_error::{HttpError, HttpErrorKind};

/// One POST of an envelope.
///
/// Its `Debug` output masks the `sentry_secret` of the `X-Sentry-Auth` header, so a client that
/// logs the requests it sends does not print the DSN's secret.
#[non_exhaustive]
pub struct HttpRequest<'a> {
    /// The envelope endpoint.
    pub url: &'a str,
    /// Headers to send (`X-Sentry-Auth`, `Content-Type`, `Content-Encoding`, `User-Agent`).
    pub headers: &'a [(&'static str, String)],
    /// The (possibly compressed) body.
    pub body: &'a [u8],
}

impl fmt::Debug for HttpRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (*k, mask_auth(v)))
            .collect();
        f.debug_struct("HttpRequest")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A header value with the value of any `sentry_secret=` replaced by `***`: the form an
/// `X-Sentry-Auth` header may take in logs and `Debug` output.
pub(crate) fn mask_auth(value: &str) -> String {
    const KEY: &str = "sentry_secret=";
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find(KEY) {
        let (before, after) = rest.split_at(i + KEY.len());
        out.push_str(before);
        out.push_str("***");
        rest = after.find(',').map_or("", |end| &after[end..]);
    }
    out.push_str(rest);
    out
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

/// Sends envelopes over HTTP (Elixir's `client` option, a `Sentry.HTTPClient` behaviour).
///
/// Implement it to bring your own configured client (proxies, custom TLS roots, ...), the
/// counterpart of Elixir's `hackney_opts`. It is called from the background worker, or from the
/// capturing thread in [`SendResult::Sync`](crate::SendResult::Sync) mode.
///
/// # Implementations must not follow redirects
///
/// Return a `3xx` answer as it is. The request carries the `X-Sentry-Auth` header (with the
/// DSN's secret key when it has one), which is meant for the DSN's host only: following a
/// redirect would hand it to whatever host the `Location` names, and that host's `200` would
/// count as a delivery that never reached Sentry. The transport counts a `3xx` as a
/// `send_error`. Report a timeout as [`HttpErrorKind::TimedOut`], so that a server that never
/// answers is not waited on again and again.
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// POSTs the request and returns the answer, whatever its status (`3xx` included: no
    /// redirect is followed).
    fn post(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError>;
}

/// The default client: ureq with rustls (certificates verified against the Mozilla roots),
/// a connection pool and timeouts. It never follows redirects (see [`HttpClient`]).
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
            // A 3xx comes back as the answer: the auth header never leaves for another host.
            .max_redirects(0)
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
        let mut resp = req.send(request.body).map_err(describe)?;
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

/// A ureq error as an [`HttpError`]: its kind, one plain sentence, and the ureq error as its
/// source. ureq's texts name at most the URL (which holds no secret), never a header.
fn describe(e: ureq::Error) -> HttpError {
    let (kind, message) = match &e {
        ureq::Error::Timeout(t) => (HttpErrorKind::TimedOut, format!("timed out ({t})")),
        ureq::Error::HostNotFound => (
            HttpErrorKind::HostNotFound,
            "host not found (DNS lookup failed)".to_owned(),
        ),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => (
                HttpErrorKind::ConnectionRefused,
                "connection refused".to_owned(),
            ),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => (
                HttpErrorKind::ConnectionReset,
                "connection reset by the server".to_owned(),
            ),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                (HttpErrorKind::TimedOut, format!("timed out ({io})"))
            }
            _ => (HttpErrorKind::Other, "I/O error".to_owned()),
        },
        _ => (HttpErrorKind::Other, "the request failed".to_owned()),
    };
    HttpError::new(kind, message).with_source(e)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn mask_auth_hides_only_the_secret() {
        assert_eq!(
            mask_auth("Sentry sentry_version=7, sentry_key=pub, sentry_secret=sec"),
            "Sentry sentry_version=7, sentry_key=pub, sentry_secret=***"
        );
        assert_eq!(
            mask_auth("Sentry sentry_secret=sec, sentry_key=pub"),
            "Sentry sentry_secret=***, sentry_key=pub"
        );
        assert_eq!(mask_auth("gzip"), "gzip");
    }

    #[test]
    fn request_debug_masks_the_secret() {
        let headers = [(
            "X-Sentry-Auth",
            "Sentry sentry_key=pub, sentry_secret=TOPSECRET".to_owned(),
        )];
        let request = HttpRequest {
            url: "http://h/api/1/envelope/",
            headers: &headers,
            body: b"{}",
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("TOPSECRET"), "{debug}");
        assert!(debug.contains("sentry_key=pub"), "{debug}");
    }

    /// A one-connection-at-a-time HTTP server that answers every request with `answer` and
    /// counts the requests.
    fn serve(answer: String) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        seen.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(answer.as_bytes());
                        length = 0;
                    }
                }
            }
        });
        (url, count)
    }

    #[test]
    fn the_default_client_hands_back_a_redirect_without_following_it() {
        let (elsewhere, reached) =
            serve("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"id\":1}".to_owned());
        let (sentry, asked) = serve(format!(
            "HTTP/1.1 302 Found\r\nlocation: {elsewhere}/stolen\r\ncontent-length: 0\r\n\r\n"
        ));
        let client = UreqClient::new(Duration::from_secs(5), Duration::from_secs(5), 1);
        let headers = [("X-Sentry-Auth", "Sentry sentry_secret=s".to_owned())];
        let url = format!("{sentry}/api/1/envelope/");
        let request = HttpRequest {
            url: &url,
            headers: &headers,
            body: b"{}",
        };
        let response = client.post(&request).unwrap();
        assert_eq!(response.status, 302);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // The answer came back without a second request: nothing can still be on its way.
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "the redirect was followed"
        );
    }
}
