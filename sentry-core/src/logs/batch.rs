//! The bounded buffer logs wait in, and the `log` items made of them.
//!
//! Capturing a log takes no lock: the buffer is a lock-free queue with atomic counts for its
//! bounds, like the worker's queue, so a capturing thread never waits on the (lower-priority)
//! worker that empties it.

use super::record::Log;
use crate::envelope::{Envelope, EnvelopeItem};
use crate::transport::{DropReason, Stats};
use crossbeam_queue::SegQueue;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Logs the buffer holds at most; a log captured beyond it is dropped and counted
/// (`queue_overflow`, category `log_item`).
pub const MAX_BUFFERED_LOGS: usize = 10_000;
/// Bytes the buffered logs may take at most (estimated from their text); beyond it, as when
/// the buffer is full.
pub const MAX_BUFFERED_BYTES: usize = 8 * 1024 * 1024;
/// Logs in one `log` item (and one envelope) at most; a batch this long goes at once.
pub const BATCH_SIZE: usize = 100;
/// A log waits at most this long before its batch is due.
pub const BATCH_DELAY: Duration = Duration::from_secs(5);
/// The `content_type` of a `log` item.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.sentry.items.log+json";

/// A buffered log, with what it is charged against the byte bound and when it came.
#[derive(Debug)]
struct Buffered {
    log: Log,
    bytes: usize,
    at: Instant,
}

/// What [`LogBuffer::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Buffered; `due` when a batch should go now (a full one, or the oldest log is
    /// [`BATCH_DELAY`] old).
    Buffered { due: bool },
    /// The buffer is full: dropped, charged `bytes`.
    Full { bytes: usize },
}

/// Logs waiting to be sent, bounded by count and bytes.
#[derive(Debug)]
pub(crate) struct LogBuffer {
    queue: SegQueue<Buffered>,
    count: AtomicUsize,
    bytes: AtomicUsize,
    /// When the oldest buffered log came, as nanoseconds after `epoch` plus one; 0: not known
    /// (nothing buffered, or a take raced with a push: then the batch counts as due).
    first_at: AtomicU64,
    /// A send of the buffered logs is queued for the worker and has not started yet.
    nudged: AtomicBool,
    epoch: Instant,
    max_logs: usize,
    max_bytes: usize,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::with_limits(MAX_BUFFERED_LOGS, MAX_BUFFERED_BYTES)
    }
}

impl LogBuffer {
    pub(crate) fn with_limits(max_logs: usize, max_bytes: usize) -> Self {
        LogBuffer {
            queue: SegQueue::new(),
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            first_at: AtomicU64::new(0),
            nudged: AtomicBool::new(false),
            epoch: Instant::now(),
            max_logs,
            max_bytes,
        }
    }

    fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
            + 1
    }

    /// Buffers a log unless the buffer is full. Takes no lock.
    pub(crate) fn push(&self, log: Log) -> Pushed {
        let bytes = log.estimated_bytes();
        let before = self.count.fetch_add(1, Ordering::SeqCst);
        let bytes_before = self.bytes.fetch_add(bytes, Ordering::SeqCst);
        if before >= self.max_logs || bytes_before.saturating_add(bytes) > self.max_bytes {
            self.count.fetch_sub(1, Ordering::SeqCst);
            self.bytes.fetch_sub(bytes, Ordering::SeqCst);
            return Pushed::Full { bytes };
        }
        let at = Instant::now();
        if before == 0 {
            self.first_at.store(self.stamp(at), Ordering::SeqCst);
        }
        self.queue.push(Buffered { log, bytes, at });
        let first = self.first_at.load(Ordering::SeqCst);
        let old =
            first == 0 || self.stamp(at).saturating_sub(first) >= BATCH_DELAY.as_nanos() as u64;
        Pushed::Buffered {
            due: before + 1 >= BATCH_SIZE || old,
        }
    }

    /// Logs buffered now.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Claims the right to queue a send for the worker; false when one is queued already.
    pub(crate) fn claim_nudge(&self) -> bool {
        !self.nudged.swap(true, Ordering::SeqCst)
    }

    /// The queued send starts (or could not be queued): the next due batch may queue another.
    pub(crate) fn release_nudge(&self) {
        self.nudged.store(false, Ordering::SeqCst);
    }

    /// Takes every log buffered now, oldest first.
    pub(crate) fn take(&self) -> Vec<Log> {
        let first = self.first_at.load(Ordering::SeqCst);
        let want = self.count.load(Ordering::SeqCst);
        let mut logs = Vec::with_capacity(want.min(self.max_logs));
        let mut last_at = None;
        while logs.len() < want {
            let Some(b) = self.queue.pop() else { break };
            self.count.fetch_sub(1, Ordering::SeqCst);
            self.bytes.fetch_sub(b.bytes, Ordering::SeqCst);
            last_at = Some(b.at);
            logs.push(b.log);
        }
        if self.count.load(Ordering::SeqCst) == 0 {
            // A push that came meanwhile stamped its own time: keep it.
            let _ = self
                .first_at
                .compare_exchange(first, 0, Ordering::SeqCst, Ordering::SeqCst);
        } else if let Some(at) = last_at {
            // The logs left came after the last one taken: its time is an early enough bound.
            self.first_at.store(self.stamp(at), Ordering::SeqCst);
        }
        logs
    }
}

/// Records a log that was never sent: `log_item` and its estimated `log_byte`s.
pub(crate) fn record_log_drop(stats: &Stats, reason: DropReason, bytes: usize) {
    stats.record_drop(reason, "log_item", 1);
    stats.record_drop(reason, "log_byte", bytes as u64);
}

/// The envelope of one batch of finished logs' JSON (at most [`BATCH_SIZE`]): one `log` item.
/// `None` (counted) in the unlikely case it does not serialize.
pub(crate) fn envelope(batch: Vec<serde_json::Value>, stats: &Stats) -> Option<Envelope> {
    let n = batch.len();
    let payload = serde_json::json!({"version": 2, "items": batch});
    match EnvelopeItem::json("log", &payload) {
        Ok(item) => {
            let mut envelope = Envelope::from_sdk(None);
            envelope.add_item(
                item.with_header("item_count", n)
                    .with_header("content_type", CONTENT_TYPE),
            );
            Some(envelope)
        }
        Err(_) => {
            stats.record_drop(DropReason::InternalSdkError, "log_item", n as u64);
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use crate::logs::LogLevel;

    fn log(n: usize) -> Log {
        Log::new(LogLevel::Info, format!("line {n}"))
    }

    #[test]
    fn a_full_buffer_refuses_new_logs_by_count_and_by_bytes() {
        let buffer = LogBuffer::with_limits(3, usize::MAX);
        for n in 0..3 {
            assert!(matches!(buffer.push(log(n)), Pushed::Buffered { .. }));
        }
        assert!(matches!(buffer.push(log(3)), Pushed::Full { .. }));
        assert_eq!(buffer.take().len(), 3);
        assert!(matches!(buffer.push(log(4)), Pushed::Buffered { .. }));

        let one = log(0).estimated_bytes();
        let buffer = LogBuffer::with_limits(100, one * 2);
        assert!(matches!(buffer.push(log(0)), Pushed::Buffered { .. }));
        assert!(matches!(buffer.push(log(1)), Pushed::Buffered { .. }));
        assert_eq!(buffer.push(log(2)), Pushed::Full { bytes: one });
    }

    #[test]
    fn a_batch_is_due_at_the_batch_size() {
        let buffer = LogBuffer::default();
        for n in 0..BATCH_SIZE - 1 {
            assert_eq!(buffer.push(log(n)), Pushed::Buffered { due: false });
        }
        assert_eq!(buffer.push(log(99)), Pushed::Buffered { due: true });
        let taken = buffer.take();
        assert_eq!(taken.len(), BATCH_SIZE);
        assert_eq!(taken[0].body, "line 0");
        assert_eq!(buffer.len(), 0);
        assert_eq!(buffer.push(log(0)), Pushed::Buffered { due: false });
    }

    #[test]
    fn the_nudge_is_claimed_once_until_released() {
        let buffer = LogBuffer::default();
        assert!(buffer.claim_nudge());
        assert!(!buffer.claim_nudge());
        buffer.release_nudge();
        assert!(buffer.claim_nudge());
    }

    #[test]
    fn a_batch_is_one_log_item_in_an_envelope_of_its_own() {
        let stats = Stats::default();
        let items: Vec<_> = (0..50).map(|n| log(n).to_json()).collect();
        let envelope = envelope(items, &stats).unwrap();
        assert_eq!(envelope.items().len(), 1);
        let item = &envelope.items()[0];
        assert_eq!(item.ty(), "log");
        assert_eq!(item.headers()["item_count"], 50);
        assert_eq!(item.headers()["content_type"], CONTENT_TYPE);
        let payload = item.payload_json().unwrap();
        assert_eq!(payload["version"], 2);
        assert_eq!(payload["items"].as_array().unwrap().len(), 50);
        assert!(envelope.headers().get("event_id").is_none());
    }
}
