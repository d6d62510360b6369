//! The transport's background upkeep, run by the worker between events: resending the offline
//! cache, oldest first and spaced out, and the periodic client report.

use super::{lock, HttpTransport};
use crate::envelope::Envelope;
use crate::transport::cache::OfflineCache;
use crate::transport::{debug_log, Sent};
use std::time::{Duration, Instant};

/// A client report goes out on its own at most this long after a drop when no envelope
/// carries it sooner (and at every flush).
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(30);
/// Spacing of cached envelopes being resent: it starts here, halves with each one accepted (so
/// after a dozen successes they go back to back, as fast as the server answers), and starts
/// over after a failure. New events still go first: the worker runs the upkeep between them.
pub(super) const RESEND_GAP: Duration = Duration::from_millis(100);
/// Upkeep runs at least this often.
pub(super) const MAX_UPKEEP_WAIT: Duration = Duration::from_secs(5);

impl HttpTransport {
    /// One round of upkeep; returns how long until the next.
    pub(super) fn run_upkeep(&self) -> Duration {
        self.send_report(false);
        // A report that is due but held back by an outage waits for the outage to end.
        let report_wait = REPORT_INTERVAL
            .saturating_sub(lock(&self.last_report).elapsed())
            .max(lock(&self.health).down_for(Instant::now()));
        let cache_wait = self
            .cache
            .as_ref()
            .map_or(MAX_UPKEEP_WAIT, |c| self.resend_one(c));
        cache_wait.min(report_wait).min(MAX_UPKEEP_WAIT)
    }

    /// Resends the oldest cached envelope, unless rate limited or offline. Returns how long to
    /// wait before the next one.
    fn resend_one(&self, cache: &OfflineCache) -> Duration {
        if cache.pending() == 0 {
            return MAX_UPKEEP_WAIT;
        }
        let now = Instant::now();
        if lock(&self.limits).any_limited(now) || self.is_offline() {
            return Duration::from_secs(1);
        }
        let Some((claim, bytes)) = cache.claim_oldest() else {
            return MAX_UPKEEP_WAIT;
        };
        let mut envelope = match Envelope::parse(&bytes) {
            Ok(env) => env,
            Err(_) => {
                cache.discard_corrupt(claim);
                return Duration::ZERO;
            }
        };
        envelope.remove_header("sent_at");
        debug_log!(
            self.debug,
            "resending a cached envelope ({} left)",
            cache.pending()
        );
        self.drop_limited(&mut envelope);
        let result = if envelope.items().is_empty() {
            cache.remove(claim);
            Ok(Sent { server_id: None })
        } else {
            self.settle(envelope, Some(claim))
        };
        let mut gap = lock(&self.resend_gap);
        *gap = match result {
            Ok(_) => *gap / 2,
            Err(_) => RESEND_GAP,
        };
        *gap
    }

    /// Sends the pending client report on its own when due (or `now`), unless offline.
    pub(super) fn send_report(&self, force: bool) {
        if !self.send_client_reports || !self.stats.has_unreported() || self.is_offline() {
            return;
        }
        if !force && lock(&self.last_report).elapsed() < REPORT_INTERVAL {
            return;
        }
        let envelope = Envelope::from_sdk(None);
        debug_log!(self.debug, "sending a client report");
        // `deliver` attaches the report and puts its counts back if it does not get through.
        let _ = self.deliver(envelope);
    }
}
