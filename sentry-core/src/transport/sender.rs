//! Sends one envelope over HTTP: rate-limit filtering, compression, retries with backoff,
//! and reading the server's answer.

use super::ratelimit::{parse_retry_after, RateLimits};
use super::stats::{static_category, DropReason, Stats};
use super::{backoff, FailureLog, HttpClient, HttpRequest, Sent, Transport};
use crate::envelope::{Envelope, EnvelopeItem};
use crate::error::SendError;
use crate::Dsn;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Bodies larger than this are gzip-compressed.
const GZIP_THRESHOLD: usize = 1024;

/// The HTTP transport: posts envelopes to the DSN's envelope endpoint.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: Arc<dyn HttpClient>,
    url: String,
    auth: String,
    max_attempts: u32,
    limits: Mutex<RateLimits>,
    stats: Arc<Stats>,
    failures: FailureLog,
    send_client_reports: bool,
}

impl HttpTransport {
    pub(crate) fn new(
        dsn: &Dsn,
        client: Arc<dyn HttpClient>,
        max_attempts: u32,
        stats: Arc<Stats>,
        log_level: log::Level,
    ) -> Self {
        HttpTransport {
            client,
            url: dsn.envelope_url(),
            auth: dsn.auth_header(crate::USER_AGENT),
            max_attempts: max_attempts.max(1),
            limits: Mutex::new(RateLimits::default()),
            stats,
            failures: FailureLog::new(log_level),
            send_client_reports: true,
        }
    }

    /// Drops the items whose category is rate limited, counting them. Returns the longest wait.
    fn drop_limited(&self, envelope: &mut Envelope) -> Option<u64> {
        let now = Instant::now();
        let limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        let mut longest = None;
        envelope.retain_items(|item| match limits.limited_for(item.category(), now) {
            Some(left) => {
                if item.ty() != "client_report" {
                    self.stats.record_drop(DropReason::RatelimitBackoff, static_category(item.category()), 1);
                }
                longest = longest.max(Some(left.as_secs().max(1)));
                false
            }
            None => true,
        });
        longest
    }

    /// Counts every item of a failed envelope as dropped for `reason`.
    fn count_failed(&self, envelope: &Envelope, reason: DropReason) {
        for item in envelope.items() {
            if item.ty() == "client_report" {
                if let Ok(report) = item.payload_json() {
                    self.stats.restore_client_report(&report);
                }
            } else {
                self.stats.record_drop(reason, static_category(item.category()), 1);
            }
        }
    }
}

impl Transport for HttpTransport {
    fn send(&self, mut envelope: Envelope) -> Result<Sent, SendError> {
        if let Some(retry_after) = self.drop_limited(&mut envelope) {
            if envelope.items().iter().all(|i| i.ty() == "client_report") {
                return Err(SendError::RateLimited { retry_after });
            }
        }
        if envelope.items().is_empty() {
            return Err(SendError::RateLimited { retry_after: 0 });
        }
        if self.send_client_reports {
            if let Some(report) = self.stats.take_client_report() {
                if let Ok(item) = EnvelopeItem::json("client_report", &report) {
                    envelope.add_item(item);
                }
            }
        }
        envelope.set_header("sent_at", crate::time::rfc3339_now());
        let raw = envelope.to_bytes();
        let mut headers: Vec<(&'static str, String)> = vec![
            ("X-Sentry-Auth", self.auth.clone()),
            ("Content-Type", "application/x-sentry-envelope".to_owned()),
        ];
        let body = if raw.len() > GZIP_THRESHOLD {
            match gzip(&raw) {
                Some(z) => {
                    headers.push(("Content-Encoding", "gzip".to_owned()));
                    z
                }
                None => raw,
            }
        } else {
            raw
        };

        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = HttpRequest { url: &self.url, headers: &headers, body: &body };
            let failure = match self.client.post(&request) {
                Ok(resp) => {
                    let retry_after = resp.header("retry-after").and_then(parse_retry_after);
                    self.limits.lock().unwrap_or_else(PoisonError::into_inner).update(
                        resp.status,
                        resp.header("x-sentry-rate-limits"),
                        resp.header("retry-after"),
                        Instant::now(),
                    );
                    if (200..300).contains(&resp.status) {
                        self.stats.record_sent();
                        self.failures.recovered();
                        return Ok(Sent { server_id: server_id(&resp.body) });
                    }
                    let detail = resp
                        .header("x-sentry-error")
                        .map(str::to_owned)
                        .or_else(|| body_detail(&resp.body));
                    let err = SendError::Status { status: resp.status, detail, retry_after };
                    if resp.status < 500 {
                        let reason = if resp.status == 429 {
                            DropReason::RatelimitBackoff
                        } else {
                            DropReason::SendError
                        };
                        self.failures.log(&format!("status {}", resp.status), &err);
                        self.count_failed(&envelope, reason);
                        return Err(err);
                    }
                    (err, retry_after)
                }
                Err(e) => (SendError::Network(e.0), None),
            };
            let (err, retry_after) = failure;
            if attempt >= self.max_attempts {
                let (kind, reason) = match &err {
                    SendError::Network(_) => ("network".to_owned(), DropReason::NetworkError),
                    SendError::Status { status, .. } => (format!("status {status}"), DropReason::SendError),
                    _ => ("other".to_owned(), DropReason::SendError),
                };
                self.failures.log(&kind, &err);
                self.count_failed(&envelope, reason);
                return Err(err);
            }
            self.stats.record_retry();
            std::thread::sleep(backoff(attempt, retry_after));
        }
    }
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3), flate2::Compression::fast());
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// The `id` of a `{"id": "..."}` answer.
fn server_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("id")?.as_str().map(str::to_owned)
}

/// The `detail` of a `{"detail": "..."}` error answer, or a short plain-text body.
fn body_detail(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(d) = v.get("detail").and_then(|d| d.as_str()) {
            return Some(d.to_owned());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && text.len() <= 200).then(|| text.to_owned())
}
