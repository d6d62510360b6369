//! Counters of what the transport did, and the discarded-event tallies behind client reports.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

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
    /// Envelopes the server accepted.
    pub sent: u64,
    /// Extra attempts made after network errors and 5xx answers.
    pub retried: u64,
    /// Items dropped, by (reason, category), since the client started.
    pub dropped: BTreeMap<(DropReason, String), u64>,
    /// Events waiting in the background queue now.
    pub queue_depth: u64,
}

impl TransportStats {
    /// Items dropped for `reason`, all categories together.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped.iter().filter(|((r, _), _)| *r == reason).map(|(_, n)| n).sum()
    }

    /// Every dropped item, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// Live counters shared by the client, the worker and the sender.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    sent: AtomicU64,
    retried: AtomicU64,
    pub(crate) queue_depth: AtomicU64,
    totals: Mutex<BTreeMap<(DropReason, &'static str), u64>>,
    /// Drops not yet reported to the server in a client report.
    unreported: Mutex<BTreeMap<(DropReason, &'static str), u64>>,
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
        for map in [&self.totals, &self.unreported] {
            *map.lock().unwrap_or_else(PoisonError::into_inner).entry((reason, category)).or_default() += quantity;
        }
    }

    pub(crate) fn snapshot(&self) -> TransportStats {
        let totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        TransportStats {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dropped: totals.iter().map(|((r, c), n)| ((*r, (*c).to_owned()), *n)).collect(),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
        }
    }

    /// Takes the drops not yet reported, as a client report payload; `None` when there are none.
    pub(crate) fn take_client_report(&self) -> Option<serde_json::Value> {
        let taken = std::mem::take(&mut *self.unreported.lock().unwrap_or_else(PoisonError::into_inner));
        if taken.is_empty() {
            return None;
        }
        let discarded: Vec<_> = taken
            .iter()
            .map(|((r, c), n)| serde_json::json!({"reason": r.as_str(), "category": c, "quantity": n}))
            .collect();
        Some(serde_json::json!({"timestamp": crate::event::now_epoch(), "discarded_events": discarded}))
    }

    /// Puts back counts of a client report that could not be sent.
    pub(crate) fn restore_client_report(&self, report: &serde_json::Value) {
        let Some(items) = report.get("discarded_events").and_then(|v| v.as_array()) else {
            return;
        };
        let mut map = self.unreported.lock().unwrap_or_else(PoisonError::into_inner);
        for item in items {
            let reason = item.get("reason").and_then(|v| v.as_str()).and_then(reason_from_str);
            let category = item.get("category").and_then(|v| v.as_str()).map(static_category);
            let quantity = item.get("quantity").and_then(|v| v.as_u64());
            if let (Some(r), Some(c), Some(q)) = (reason, category, quantity) {
                *map.entry((r, c)).or_default() += q;
            }
        }
    }
}

fn reason_from_str(s: &str) -> Option<DropReason> {
    use DropReason::*;
    [QueueOverflow, CacheOverflow, RatelimitBackoff, NetworkError, SampleRate, BeforeSend, EventProcessor, SendError, InternalSdkError]
        .into_iter()
        .find(|r| r.as_str() == s)
}

/// Maps a category name back to the static string the counters use.
pub(crate) fn static_category(s: &str) -> &'static str {
    match s {
        "error" => "error",
        "transaction" => "transaction",
        "attachment" => "attachment",
        "session" => "session",
        "monitor" => "monitor",
        "feedback" => "feedback",
        "internal" => "internal",
        _ => "default",
    }
}

#[cfg(test)]
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
        assert!(items.iter().any(|i| i["reason"] == "queue_overflow" && i["quantity"] == 5));
        assert!(s.take_client_report().is_none());
        s.restore_client_report(&report);
        assert!(s.take_client_report().is_some());
        assert_eq!(s.snapshot().dropped_for(DropReason::QueueOverflow), 5);
    }
}
