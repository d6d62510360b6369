//! Counters of what the transport did, and the discarded-event tallies behind client reports.

use crate::envelope::{dropped_quantities, Envelope, EnvelopeItem};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an event (or other item) was not delivered, as client reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The background queue was full.
    QueueOverflow,
    /// The offline cache was full.
    CacheOverflow,
    /// The category was rate limited.
    RatelimitBackoff,
    /// No HTTP answer after every attempt.
    NetworkError,
    /// Not picked by `sample_rate`.
    SampleRate,
    /// `before_send` returned `None` (or panicked).
    BeforeSend,
    /// Excluded by `filter` or an event processor.
    EventProcessor,
    /// The server rejected it (4xx, 413, 5xx after every attempt).
    SendError,
    /// A bug or impossible state inside the SDK (e.g. serialization failed).
    InternalSdkError,
}

impl DropReason {
    /// The name used in client reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueOverflow => "queue_overflow",
            DropReason::CacheOverflow => "cache_overflow",
            DropReason::RatelimitBackoff => "ratelimit_backoff",
            DropReason::NetworkError => "network_error",
            DropReason::SampleRate => "sample_rate",
            DropReason::BeforeSend => "before_send",
            DropReason::EventProcessor => "event_processor",
            DropReason::SendError => "send_error",
            DropReason::InternalSdkError => "internal_sdk_error",
        }
    }
}

/// A snapshot of the SDK's own counters, from [`stats`](crate::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportStats {
    /// Envelopes the server accepted (client reports sent on their own not included).
    pub sent: u64,
    /// Extra attempts made after network errors and 5xx answers.
    pub retried: u64,
    /// Items dropped, by (reason, category), since the client started. Logs count under
    /// `log_item`, and their size in bytes under `log_byte`.
    pub dropped: BTreeMap<(DropReason, String), u64>,
    /// Events waiting in the background queue now.
    pub queue_depth: u64,
    /// Envelopes in the offline cache now, waiting to be (re)sent.
    pub cached: u64,
}

impl TransportStats {
    /// Items dropped for `reason`, all categories together (`log_byte`, a size, left out).
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .filter(|((r, c), _)| *r == reason && c != "log_byte")
            .map(|(_, n)| n)
            .sum()
    }

    /// Every dropped item, whatever the reason (`log_byte`, a size, left out).
    pub fn dropped_total(&self) -> u64 {
        self.dropped
            .iter()
            .filter(|((_, c), _)| c != "log_byte")
            .map(|(_, n)| n)
            .sum()
    }

    /// Items of `category` dropped, whatever the reason (for `log_byte`: bytes).
    pub fn dropped_in(&self, category: &str) -> u64 {
        self.dropped
            .iter()
            .filter(|((_, c), _)| c == category)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The categories counted; any other counts as `default`.
const CATEGORIES: [&str; 10] = [
    "error",
    "transaction",
    "attachment",
    "session",
    "monitor",
    "feedback",
    "log_item",
    "log_byte",
    "internal",
    "default",
];
/// Every reason, in the order of their counters.
const REASONS: [DropReason; 9] = [
    DropReason::QueueOverflow,
    DropReason::CacheOverflow,
    DropReason::RatelimitBackoff,
    DropReason::NetworkError,
    DropReason::SampleRate,
    DropReason::BeforeSend,
    DropReason::EventProcessor,
    DropReason::SendError,
    DropReason::InternalSdkError,
];
const SLOTS: usize = REASONS.len() * CATEGORIES.len();

/// One counter per (reason, category): counting a drop takes no lock, so the 16 threads of a
/// capture storm overflowing the queue do not queue up on a mutex.
#[derive(Debug)]
struct Tally([AtomicU64; SLOTS]);

impl Default for Tally {
    fn default() -> Self {
        Tally(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl Tally {
    fn slot(reason: DropReason, category: &str) -> usize {
        let r = REASONS.iter().position(|x| *x == reason).unwrap_or(0);
        let c = CATEGORIES
            .iter()
            .position(|x| *x == category)
            .unwrap_or(CATEGORIES.len() - 1);
        r * CATEGORIES.len() + c
    }

    fn add(&self, reason: DropReason, category: &str, n: u64) {
        self.0[Self::slot(reason, category)].fetch_add(n, Ordering::Relaxed);
    }

    /// The non-zero counters, read (`take`: and reset) one by one.
    fn read(&self, take: bool) -> Vec<(DropReason, &'static str, u64)> {
        let mut out = Vec::new();
        for (i, counter) in self.0.iter().enumerate() {
            let n = if take {
                counter.swap(0, Ordering::Relaxed)
            } else {
                counter.load(Ordering::Relaxed)
            };
            if n > 0 {
                out.push((
                    REASONS[i / CATEGORIES.len()],
                    CATEGORIES[i % CATEGORIES.len()],
                    n,
                ));
            }
        }
        out
    }
}

/// Live counters shared by the client, the worker and the sender.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    sent: AtomicU64,
    retried: AtomicU64,
    pub(crate) queue_depth: AtomicU64,
    pub(crate) cached: AtomicU64,
    totals: Tally,
    /// Drops not yet reported to the server in a client report.
    unreported: Tally,
}

impl Stats {
    pub(crate) fn record_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `quantity` dropped items of `category` for `reason`.
    pub(crate) fn record_drop(&self, reason: DropReason, category: &'static str, quantity: u64) {
        self.totals.add(reason, category, quantity);
        self.unreported.add(reason, category, quantity);
    }

    /// Counts an item that was not delivered, by [`dropped_quantities`] (a `log` item: each of
    /// its logs); a client report's counts are put back to go out later.
    pub(crate) fn record_item_drop(&self, item: &EnvelopeItem, reason: DropReason) {
        if item.ty() == "client_report" {
            if let Ok(report) = item.payload_json() {
                self.restore_client_report(&report);
            }
            return;
        }
        for (category, quantity) in dropped_quantities(item) {
            self.record_drop(reason, category, quantity);
        }
    }

    /// Counts every item of an envelope that was not delivered.
    pub(crate) fn record_envelope_drop(&self, envelope: &Envelope, reason: DropReason) {
        for item in envelope.items() {
            self.record_item_drop(item, reason);
        }
    }

    pub(crate) fn snapshot(&self) -> TransportStats {
        TransportStats {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dropped: self
                .totals
                .read(false)
                .into_iter()
                .map(|(r, c, n)| ((r, c.to_owned()), n))
                .collect(),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
        }
    }

    /// True when there are drops not yet reported.
    pub(crate) fn has_unreported(&self) -> bool {
        self.unreported
            .0
            .iter()
            .any(|c| c.load(Ordering::Relaxed) > 0)
    }

    /// Takes the drops not yet reported, as a client report payload; `None` when there are none.
    pub(crate) fn take_client_report(&self) -> Option<serde_json::Value> {
        let taken = self.unreported.read(true);
        if taken.is_empty() {
            return None;
        }
        let discarded: Vec<_> = taken
            .iter()
            .map(
                |(r, c, n)| serde_json::json!({"reason": r.as_str(), "category": c, "quantity": n}),
            )
            .collect();
        Some(
            serde_json::json!({"timestamp": crate::event::now_epoch(), "discarded_events": discarded}),
        )
    }

    /// Puts back counts of a client report that could not be sent.
    pub(crate) fn restore_client_report(&self, report: &serde_json::Value) {
        let Some(items) = report.get("discarded_events").and_then(|v| v.as_array()) else {
            return;
        };
        for item in items {
            let reason = item
                .get("reason")
                .and_then(|v| v.as_str())
                .and_then(reason_from_str);
            let category = item
                .get("category")
                .and_then(|v| v.as_str())
                .map(static_category);
            let quantity = item.get("quantity").and_then(|v| v.as_u64());
            if let (Some(r), Some(c), Some(q)) = (reason, category, quantity) {
                self.unreported.add(r, c, q);
            }
        }
    }
}

fn reason_from_str(s: &str) -> Option<DropReason> {
    REASONS.into_iter().find(|r| r.as_str() == s)
}

/// Maps a category name back to the static string the counters use.
pub(crate) fn static_category(s: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|c| **c == s)
        .copied()
        .unwrap_or("default")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn client_report_aggregates_and_empties() {
        let s = Stats::default();
        s.record_drop(DropReason::QueueOverflow, "error", 2);
        s.record_drop(DropReason::QueueOverflow, "error", 3);
        s.record_drop(DropReason::SampleRate, "error", 1);
        let report = s.take_client_report().unwrap();
        let items = report["discarded_events"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items
            .iter()
            .any(|i| i["reason"] == "queue_overflow" && i["quantity"] == 5));
        assert!(s.take_client_report().is_none());
        s.restore_client_report(&report);
        assert!(s.take_client_report().is_some());
        assert_eq!(s.snapshot().dropped_for(DropReason::QueueOverflow), 5);
    }
}
