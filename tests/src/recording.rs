//! An [`HttpClient`] that records every body it posts (decompressed) and forwards it to the
//! real ureq client, so a test can hand the exact bytes we sent to other readers.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchpost::{HttpClient, HttpError, HttpRequest, HttpResponse, UreqClient};

/// One POST as it left the SDK.
#[derive(Debug, Clone)]
pub struct RecordedPost {
    /// The headers we sent.
    pub headers: Vec<(String, String)>,
    /// The body, gunzipped when it was sent with `Content-Encoding: gzip`.
    pub body: Vec<u8>,
    /// True when the body was gzip-compressed on the wire.
    pub gzipped: bool,
    /// The HTTP status of the answer (0 when there was none).
    pub status: u16,
}

/// Records posts, then sends them with a real [`UreqClient`].
#[derive(Debug)]
pub struct RecordingClient {
    inner: UreqClient,
    posts: Mutex<Vec<RecordedPost>>,
}

impl RecordingClient {
    /// A recorder in front of a ureq client with 10 s timeouts.
    pub fn new() -> Arc<RecordingClient> {
        Arc::new(RecordingClient {
            inner: UreqClient::new(Duration::from_secs(10), Duration::from_secs(5), 4),
            posts: Mutex::new(Vec::new()),
        })
    }

    /// Everything posted so far.
    pub fn posts(&self) -> Vec<RecordedPost> {
        self.posts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl HttpClient for RecordingClient {
    fn post(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let gzipped = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip");
        let body = if gzipped {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(request.body)
                .read_to_end(&mut out)
                .expect("we sent valid gzip");
            out
        } else {
            request.body.to_vec()
        };
        let result = self.inner.post(request);
        self.posts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(RecordedPost {
                headers: request
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                body,
                gzipped,
                status: result.as_ref().map(|r| r.status).unwrap_or(0),
            });
        result
    }
}
