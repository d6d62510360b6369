//! When not to send: rate limits (`X-Sentry-Rate-Limits` on every response, `Retry-After`
//! and bare 429s), and a pause after the server gave no answer at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Seconds a bare 429 (no headers) blocks every category.
const DEFAULT_RETRY_AFTER: u64 = 60;

/// Deadlines per category; the empty category means "all".
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    until: HashMap<String, Instant>,
}

impl RateLimits {
    /// Reads the limits of a response. Every response may carry `X-Sentry-Rate-Limits`;
    /// on a 429 without it, `Retry-After` (or 60 s) applies to every category.
    pub(crate) fn update(
        &mut self,
        status: u16,
        rate_limits: Option<&str>,
        retry_after: Option<&str>,
        now: Instant,
    ) {
        if let Some(header) = rate_limits {
            for entry in header.split(',') {
                let mut parts = entry.trim().split(':');
                let Some(secs) = parts.next().and_then(|s| s.trim().parse::<f64>().ok()) else {
                    continue;
                };
                let deadline = now + Duration::from_secs_f64(secs.clamp(0.0, 86_400.0));
                let categories = parts.next().unwrap_or("");
                if categories.trim().is_empty() {
                    self.extend("", deadline);
                } else {
                    for cat in categories.split(';') {
                        self.extend(cat.trim(), deadline);
                    }
                }
            }
        } else if status == 429 {
            let secs = retry_after
                .and_then(parse_retry_after)
                .unwrap_or(DEFAULT_RETRY_AFTER);
            self.extend("", now + Duration::from_secs(secs));
        }
    }

    fn extend(&mut self, category: &str, deadline: Instant) {
        let slot = self.until.entry(category.to_owned()).or_insert(deadline);
        if deadline > *slot {
            *slot = deadline;
        }
    }

    /// Time left on the limit that covers `category`, if any.
    pub(crate) fn limited_for(&self, category: &str, now: Instant) -> Option<Duration> {
        [category, ""]
            .iter()
            .filter_map(|c| self.until.get(*c))
            .filter(|d| **d > now)
            .map(|d| *d - now)
            .max()
    }

    /// True when any category is limited (the offline cache waits then).
    pub(crate) fn any_limited(&self, now: Instant) -> bool {
        self.until.values().any(|d| *d > now)
    }
}

/// The first pause after a send got no answer; it doubles while the outage lasts, up to
/// [`MAX_OFFLINE`].
pub(crate) const MIN_OFFLINE: Duration = Duration::from_secs(1);
const MAX_OFFLINE: Duration = Duration::from_secs(60);

/// Whether the server has been reachable lately: after a send got no answer at all, sends
/// are not attempted for a while, so queued envelopes go to the offline cache or are counted
/// as `network_error` at once instead of each waiting out every timeout.
#[derive(Debug, Default)]
pub(crate) struct Health {
    down_until: Option<Instant>,
    penalty: Duration,
}

impl Health {
    pub(crate) fn is_down(&self, now: Instant) -> bool {
        self.down_until.is_some_and(|t| t > now)
    }

    /// How long the pause after a send without an answer still lasts (zero when up).
    pub(crate) fn down_for(&self, now: Instant) -> Duration {
        self.down_until
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    pub(crate) fn no_answer(&mut self, now: Instant) -> Duration {
        self.penalty = (self.penalty * 2).clamp(MIN_OFFLINE, MAX_OFFLINE);
        self.down_until = Some(now + self.penalty);
        self.penalty
    }

    pub(crate) fn answered(&mut self) {
        *self = Health::default();
    }
}

/// Parses `Retry-After`: seconds (what Sentry sends), or an HTTP date (what a proxy in front of
/// it may send), as the seconds from now until then (0 for a date in the past).
pub(crate) fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Some(secs) = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0) {
        return Some(secs.ceil() as u64);
    }
    let until = httpdate::parse_http_date(v).ok()?;
    let left = until
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn per_category_limits() {
        let now = Instant::now();
        let mut rl = RateLimits::default();
        rl.update(
            200,
            Some("60:error;transaction:organization:quota, 10::project"),
            None,
            now,
        );
        assert!(rl.limited_for("error", now).unwrap() > Duration::from_secs(59));
        assert!(rl.limited_for("session", now).unwrap() <= Duration::from_secs(10));
        assert!(rl
            .limited_for("session", now + Duration::from_secs(11))
            .is_none());
        assert!(rl
            .limited_for("error", now + Duration::from_secs(11))
            .is_some());
    }

    #[test]
    fn keeps_the_later_deadline_and_ignores_junk() {
        let now = Instant::now();
        let mut rl = RateLimits::default();
        rl.update(
            200,
            Some("100:error, 5:error, junk, :error, 7:unknown_cat:x:y:z"),
            None,
            now,
        );
        assert!(rl
            .limited_for("error", now + Duration::from_secs(50))
            .is_some());
        assert!(rl.limited_for("unknown_cat", now).is_some());
        assert!(rl.limited_for("attachment", now).is_none());
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("3"), Some(3));
        assert_eq!(parse_retry_after(" 2.5 "), Some(3));
        let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(61);
        let date = httpdate::fmt_http_date(in_a_minute);
        let secs = parse_retry_after(&date).unwrap();
        assert!((59..=61).contains(&secs), "{date} -> {secs}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn retry_after_and_bare_429() {
        let now = Instant::now();
        let mut rl = RateLimits::default();
        rl.update(429, None, Some("3"), now);
        assert!(rl
            .limited_for("error", now + Duration::from_secs(2))
            .is_some());
        assert!(rl
            .limited_for("error", now + Duration::from_secs(4))
            .is_none());
        let mut rl = RateLimits::default();
        rl.update(429, None, None, now);
        assert!(rl
            .limited_for("feedback", now + Duration::from_secs(59))
            .is_some());
        let mut rl = RateLimits::default();
        rl.update(500, None, Some("3"), now);
        assert!(!rl.any_limited(now));
    }
}
