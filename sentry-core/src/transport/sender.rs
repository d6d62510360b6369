//! Sends envelopes over HTTP: rate-limit filtering, the write-ahead offline cache, client
//! reports riding along, compression, retries with backoff, and reading the server's answer.

use super::cache::{categories, Claim, OfflineCache};
use super::http::{body_detail, gzip, mask_auth, server_id};
use super::ratelimit::{parse_retry_after, Health, RateLimits};
use super::spotlight::Spotlight;
use super::stats::{DropReason, Stats};
use super::{
    backoff, debug_log, error_chain, FailureLog, HttpClient, HttpRequest, Sent, Transport,
};
use crate::envelope::{Envelope, EnvelopeItem};
use crate::error::SendError;
use crate::options::ClientOptions;
use crate::Dsn;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Bodies larger than this are gzip-compressed. Smaller ones (a message or a short error
/// event) are sent as they are: compressing them cost the worker more CPU than sending them,
/// which held back delivery while the application kept the CPUs busy.
const GZIP_THRESHOLD: usize = 16 * 1024;
/// How one delivery ended.
enum Delivery {
    /// 2xx.
    Accepted(Sent),
    /// The server answered with an error: the envelope is done, its items counted for `reason`.
    Rejected(SendError, DropReason),
    /// No HTTP answer after every attempt (or none attempted while the server is unreachable).
    NoAnswer(SendError),
}

/// The `X-Sentry-Auth` value, and the DSN's secret to keep out of every text the transport
/// writes (logs, errors, `Debug`).
struct Auth {
    header: String,
    secret: Option<String>,
}

impl Auth {
    /// `text` with the secret (if any) replaced by `***`.
    fn redact(&self, text: String) -> String {
        match &self.secret {
            Some(secret) if text.contains(secret.as_str()) => text.replace(secret.as_str(), "***"),
            _ => text,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_auth(&self.header))
    }
}

/// The HTTP transport: posts envelopes to the DSN's envelope endpoint.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: Arc<dyn HttpClient>,
    url: String,
    auth: Auth,
    max_attempts: u32,
    limits: Mutex<RateLimits>,
    health: Mutex<Health>,
    stats: Arc<Stats>,
    failures: FailureLog,
    send_client_reports: bool,
    last_report: Mutex<Instant>,
    cache: Option<OfflineCache>,
    resend_gap: Mutex<Duration>,
    spotlight: Option<Spotlight>,
    closing: AtomicBool,
    /// Wakes a retry backoff early when shutdown gives up.
    pause: (Mutex<()>, Condvar),
    debug: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every mutex here guards plain data that a panic cannot leave half-changed.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HttpTransport {
    /// The transport for `dsn` as the options configure it. An offline cache that cannot be
    /// opened is logged and left out.
    pub(crate) fn new(
        dsn: &Dsn,
        client: Arc<dyn HttpClient>,
        options: &ClientOptions,
        stats: Arc<Stats>,
    ) -> Self {
        let debug = options.debug;
        let cache = options.cache_dir.as_ref().and_then(|dir| {
            OfflineCache::open(dir, options.cache_max_envelopes, options.cache_max_bytes, stats.clone(), debug)
                .map_err(|e| {
                    log::log!(target: "watchpost", options.log_level,
                        "could not open the Sentry offline cache {}: {e}; continuing without it", dir.display());
                })
                .ok()
        });
        let spotlight = options.spotlight_url_if_on().and_then(|url| {
            Spotlight::start(url, options.log_level, debug, options.lower_thread_priority)
        });
        let url = dsn.envelope_url();
        debug_log!(
            debug,
            "sending to {url}, {} attempts per envelope, offline cache {}, client reports {}",
            options.send_max_attempts,
            options
                .cache_dir
                .as_ref()
                .map_or("off".to_owned(), |d| d.display().to_string()),
            if options.send_client_reports {
                "on"
            } else {
                "off"
            },
        );
        HttpTransport {
            client,
            url,
            auth: Auth {
                header: dsn.auth_header(crate::USER_AGENT),
                secret: dsn.secret_key().map(str::to_owned),
            },
            max_attempts: options.send_max_attempts.max(1),
            limits: Mutex::new(RateLimits::default()),
            health: Mutex::new(Health::default()),
            stats,
            failures: FailureLog::new(options.log_level),
            send_client_reports: options.send_client_reports,
            last_report: Mutex::new(Instant::now()),
            cache,
            resend_gap: Mutex::new(upkeep::RESEND_GAP),
            spotlight,
            closing: AtomicBool::new(false),
            pause: (Mutex::new(()), Condvar::new()),
            debug,
        }
    }

    /// Drops the items whose category is rate limited, counting them (a client report's counts
    /// are put back). Returns the longest wait, in seconds.
    fn drop_limited(&self, envelope: &mut Envelope) -> Option<u64> {
        let now = Instant::now();
        let limits = lock(&self.limits);
        let mut longest = None;
        envelope.retain_items(|item| match limits.limited_for(item.category(), now) {
            Some(left) => {
                self.count_item(item, DropReason::RatelimitBackoff);
                longest = longest.max(Some(left.as_secs().max(1)));
                false
            }
            None => true,
        });
        if longest.is_some() {
            debug_log!(self.debug, "rate limited: dropped items before sending");
        }
        longest
    }

    /// Counts one undelivered item (a `log` item: each of its logs); a client report's counts
    /// are put back to go out later.
    fn count_item(&self, item: &EnvelopeItem, reason: DropReason) {
        self.stats.record_item_drop(item, reason);
    }

    fn is_offline(&self) -> bool {
        lock(&self.health).is_down(Instant::now())
    }

    /// Delivers an envelope and settles it: counted as sent or dropped, or left in the cache
    /// (`claim`) for a later attempt when no answer came.
    fn settle(&self, envelope: Envelope, claim: Option<Claim>) -> Result<Sent, SendError> {
        let cats = categories(&envelope);
        let delivery = if self.is_offline() {
            Delivery::NoAnswer(SendError::Unreachable)
        } else {
            self.deliver(envelope)
        };
        match delivery {
            // Counted before the cache file goes: whoever sees the cache empty (a flush, say)
            // sees the envelope counted.
            Delivery::Accepted(sent) => {
                if !cats.is_empty() {
                    self.stats.record_sent();
                }
                if let (Some(cache), Some(claim)) = (&self.cache, claim) {
                    cache.remove(claim);
                }
                Ok(sent)
            }
            Delivery::Rejected(err, reason) => {
                for (cat, quantity) in cats {
                    self.stats.record_drop(reason, cat, quantity);
                }
                if let (Some(cache), Some(claim)) = (&self.cache, claim) {
                    cache.remove(claim);
                }
                Err(err)
            }
            Delivery::NoAnswer(err) => {
                match (&self.cache, claim) {
                    (Some(cache), Some(claim)) => cache.release(claim),
                    _ => {
                        debug_log!(
                            self.debug,
                            "no answer ({err}): {} items dropped",
                            cats.len()
                        );
                        for (cat, quantity) in cats {
                            self.stats
                                .record_drop(DropReason::NetworkError, cat, quantity);
                        }
                    }
                }
                Err(err)
            }
        }
    }

    /// Attaches the pending client report, posts with retries and reads the answer. Client
    /// report counts that do not get through are put back.
    fn deliver(&self, mut envelope: Envelope) -> Delivery {
        let standalone = envelope.items().is_empty();
        let report = self.take_report();
        if let Some(report) = &report {
            if let Ok(item) = EnvelopeItem::json("client_report", report) {
                envelope.add_item(item);
            }
        }
        if envelope.items().is_empty() {
            // A standalone client report whose counts another send took first, or whose
            // category is rate limited: nothing to send.
            return Delivery::Accepted(Sent { server_id: None });
        }
        envelope.set_header("sent_at", crate::time::rfc3339_now());
        let delivery = self.post(&envelope);
        match (&delivery, report) {
            (Delivery::Accepted(_), _) | (_, None) => {}
            (_, Some(report)) => {
                self.stats.restore_client_report(&report);
                // Counts that rode on another envelope go out on their own at the next upkeep
                // (once the server answers again), or with the next envelope if it comes first.
                // A report that failed on its own waits for the usual interval: a server that
                // keeps failing gets one every REPORT_INTERVAL, not one every upkeep.
                if !standalone {
                    self.report_due_now();
                }
            }
        }
        delivery
    }

    /// Makes the pending client report due at the next upkeep.
    fn report_due_now(&self) {
        let mut last = lock(&self.last_report);
        *last = Instant::now()
            .checked_sub(upkeep::REPORT_INTERVAL)
            .unwrap_or(*last);
    }

    fn take_report(&self) -> Option<serde_json::Value> {
        if !self.send_client_reports {
            return None;
        }
        if lock(&self.limits)
            .limited_for("internal", Instant::now())
            .is_some()
        {
            return None;
        }
        let report = self.stats.take_client_report()?;
        *lock(&self.last_report) = Instant::now();
        Some(report)
    }

    /// The attempts: quick network errors (refused, reset) and 5xx are retried with backoff
    /// (honouring `Retry-After`) up to `send_max_attempts`; other answers are final. A timeout
    /// is final too: the server accepted the connection and did not answer, so the transport
    /// pauses (see [`Health`]) instead of making every queued envelope wait out more timeouts.
    fn post(&self, envelope: &Envelope) -> Delivery {
        let raw = envelope.to_bytes();
        let mut headers: Vec<(&'static str, String)> = vec![
            ("X-Sentry-Auth", self.auth.header.clone()),
            ("Content-Type", "application/x-sentry-envelope".to_owned()),
        ];
        let body = match (raw.len() > GZIP_THRESHOLD).then(|| gzip(&raw)).flatten() {
            Some(z) => {
                headers.push(("Content-Encoding", "gzip".to_owned()));
                z
            }
            None => raw,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = HttpRequest {
                url: &self.url,
                headers: &headers,
                body: &body,
            };
            let (err, retry_after) = match self.client.post(&request) {
                Ok(resp) => {
                    let retry_after = resp.header("retry-after").and_then(parse_retry_after);
                    lock(&self.limits).update(
                        resp.status,
                        resp.header("x-sentry-rate-limits"),
                        resp.header("retry-after"),
                        Instant::now(),
                    );
                    lock(&self.health).answered();
                    debug_log!(
                        self.debug,
                        "attempt {attempt}: the server answered {} ({} bytes sent)",
                        resp.status,
                        body.len()
                    );
                    if (200..300).contains(&resp.status) {
                        self.failures.recovered();
                        return Delivery::Accepted(Sent {
                            server_id: server_id(&resp.body),
                        });
                    }
                    let detail = resp
                        .header("x-sentry-error")
                        .map(str::to_owned)
                        .or_else(|| body_detail(&resp.body))
                        .map(|d| self.auth.redact(d));
                    if !(400..600).contains(&resp.status) {
                        // 1xx and 3xx: never followed (the auth header stays with the DSN's
                        // host), so the envelope did not arrive.
                        let err = SendError::Status {
                            status: resp.status,
                            detail: Some(not_delivered(resp.status).to_owned()),
                            retry_after: None,
                        };
                        self.failures.log(&format!("status {}", resp.status), &err);
                        return Delivery::Rejected(err, DropReason::SendError);
                    }
                    let err = SendError::Status {
                        status: resp.status,
                        detail,
                        retry_after,
                    };
                    if resp.status < 500 {
                        let reason = if resp.status == 429 {
                            DropReason::RatelimitBackoff
                        } else {
                            DropReason::SendError
                        };
                        self.failures.log(&format!("status {}", resp.status), &err);
                        return Delivery::Rejected(err, reason);
                    }
                    (err, retry_after)
                }
                Err(e) => {
                    let e = e.redacted(self.auth.secret.as_deref());
                    debug_log!(
                        self.debug,
                        "attempt {attempt}: no answer: {}",
                        error_chain(&e)
                    );
                    let timed_out = e.is_timeout();
                    let err = SendError::Network(e);
                    if timed_out {
                        return self.give_up(err);
                    }
                    (err, None)
                }
            };
            if attempt >= self.max_attempts
                || !self.pause_before_retry(backoff(attempt, retry_after))
            {
                return self.give_up(err);
            }
            self.stats.record_retry();
            debug_log!(
                self.debug,
                "retrying (attempt {} of {})",
                attempt + 1,
                self.max_attempts
            );
        }
    }

    fn give_up(&self, err: SendError) -> Delivery {
        match err {
            SendError::Network(_) => {
                let off = lock(&self.health).no_answer(Instant::now());
                self.failures.log("network", &err);
                debug_log!(self.debug, "giving up; not trying again for {off:?}");
                Delivery::NoAnswer(err)
            }
            SendError::Status { status, .. } => {
                self.failures.log(&format!("status {status}"), &err);
                Delivery::Rejected(err, DropReason::SendError)
            }
            other => Delivery::Rejected(other, DropReason::SendError),
        }
    }

    /// Sleeps before a retry; false (at once) when shutdown gave up waiting.
    fn pause_before_retry(&self, wait: Duration) -> bool {
        let (m, cv) = &self.pause;
        let guard = lock(m);
        let _unused = cv
            .wait_timeout_while(guard, wait, |()| !self.closing.load(Ordering::Relaxed))
            .unwrap_or_else(PoisonError::into_inner);
        !self.closing.load(Ordering::Relaxed)
    }
}

/// Why a `1xx` or `3xx` answer is not a delivery.
fn not_delivered(status: u16) -> &'static str {
    if (300..400).contains(&status) {
        "a redirect; not followed, so the envelope was not delivered"
    } else {
        "an unexpected status; the envelope was not delivered"
    }
}

impl Transport for HttpTransport {
    fn send(&self, mut envelope: Envelope) -> Result<Sent, SendError> {
        if let Some(s) = &self.spotlight {
            s.copy(&envelope);
        }
        if let Some(retry_after) = self.drop_limited(&mut envelope) {
            if envelope.items().is_empty() {
                return Err(SendError::RateLimited { retry_after });
            }
        }
        if envelope.items().is_empty() {
            return Err(SendError::RateLimited { retry_after: 0 });
        }
        // Write-ahead: on disk before the first byte goes out, deleted once the server answered.
        let claim = self.cache.as_ref().and_then(|c| c.write(&envelope, true));
        self.settle(envelope, claim)
    }

    fn can_store(&self) -> bool {
        self.cache.is_some()
    }

    fn store(&self, mut envelope: Envelope) -> Result<(), Envelope> {
        let Some(cache) = &self.cache else {
            return Err(envelope);
        };
        if let Some(s) = &self.spotlight {
            s.copy(&envelope);
        }
        self.drop_limited(&mut envelope);
        if envelope.items().is_empty() {
            return Ok(());
        }
        match cache.write(&envelope, false) {
            Some(_) => Ok(()),
            None => Err(envelope),
        }
    }

    fn needs_upkeep(&self) -> bool {
        // Client reports put back after a failed send go out on their own from the upkeep, and
        // the last one at shutdown; in `SendResult::Sync` mode that needs the worker too.
        self.cache.is_some() || self.send_client_reports
    }

    fn upkeep(&self) -> Duration {
        if self.closing.load(Ordering::Relaxed) {
            return upkeep::MAX_UPKEEP_WAIT;
        }
        self.run_upkeep()
    }

    fn flush(&self) {
        self.send_report(true);
    }

    fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        let (m, cv) = &self.pause;
        let _guard = lock(m);
        cv.notify_all();
    }
}

mod upkeep;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests;
