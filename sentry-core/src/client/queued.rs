//! How an event waits in memory for the worker: as built while the queue is short, as JSON once
//! the queue is deep. User feedback waits as the envelope it already is.
//!
//! An [`Event`] is an 830-byte struct before its strings and maps, so a queued message event
//! costs about 1 KiB as built and about a third of that as JSON. Serializing takes the caller a
//! microsecond or two, so it is done only when the worker has fallen behind (more than
//! [`COMPACT_AFTER`] events waiting): a steady trickle of events never pays it.
//!
//! The JSON leaves out the event's id and timestamp (they are kept beside it), and a thread
//! remembers the JSON of the last event it queued: an event that differs from that one in
//! nothing else (the same error or message again, in a burst or a storm) shares its JSON. So a
//! queue full of repeats costs about [`QUEUED_EVENT_BYTES`] per event, and one of distinct
//! message events about 350 bytes more.

use super::PendingEvent;
use crate::envelope::Envelope;
use crate::event::{Attachment, Event};
use crate::stacktrace::RawStacktrace;
use crate::trace::{Dsc, FinishedTransaction};
use crate::transport::{DropReason, Job, Stats};
use std::cell::RefCell;
use std::sync::Arc;
use uuid::Uuid;

/// Events waiting before new ones are queued as JSON.
pub(crate) const COMPACT_AFTER: u64 = 64;

/// What a queued event is charged against the queue's memory budget besides its JSON: its slot
/// in the queue.
pub(crate) const QUEUED_EVENT_BYTES: usize = std::mem::size_of::<QueuedEvent>() + 16;

/// What an event queued as built is charged: the struct, and a nominal kilobyte for its strings
/// and maps (at most about [`COMPACT_AFTER`] of them wait at once).
const WHOLE_EVENT_BYTES: usize = std::mem::size_of::<PendingEvent>() + 1024;

/// The longest JSON a thread remembers to share with the next event it queues.
const MAX_SHARED_JSON: usize = 8 * 1024;

thread_local! {
    /// The JSON of the last event this thread queued as JSON, to share with the next one when
    /// they are the same.
    static LAST_JSON: RefCell<Option<Arc<[u8]>>> = const { RefCell::new(None) };
}

/// An event in the worker's (or the spill writer's) queue.
#[derive(Debug)]
pub(crate) enum QueuedEvent {
    /// The event as built: nothing to undo on the worker.
    Whole(Box<PendingEvent>),
    /// The event serialized, read back by whoever finishes it.
    Compact(CompactEvent),
    /// A finished envelope that is not an event (user feedback), sent as it is.
    Envelope(Box<(Uuid, Envelope)>),
    /// A finished, sampled transaction, made an envelope by whoever sends it.
    Transaction(Box<FinishedTransaction>),
    /// Send what the client buffers (structured logs): those due, or (`true`) everything.
    /// Queued so that the batches are built, and `before_send_log` runs, on the worker.
    SendBuffered(bool),
}

/// A queued job made ready to finish: an event to resolve and send, or an envelope to send.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived: made on the worker and consumed at once, never stored"
)]
pub(crate) enum Ready {
    /// An event, as built.
    Event(PendingEvent),
    /// A finished envelope.
    Envelope(Envelope),
    /// A finished transaction.
    Transaction(Box<FinishedTransaction>),
    /// Send what the client buffers (see [`QueuedEvent::SendBuffered`]).
    SendBuffered(bool),
}

/// An event as JSON without its id and timestamp, which are kept beside it with its raw stack
/// (instruction pointers, already compact).
#[derive(Debug)]
pub(crate) struct CompactEvent {
    event_id: Uuid,
    timestamp: f64,
    /// Shared with the events next to it in the queue that differ only in id and timestamp.
    json: Arc<[u8]>,
    stack: Option<Box<RawStacktrace>>,
    /// The caller's dynamic sampling context, shared by the events of its request.
    dsc: Option<Arc<Dsc>>,
    /// The event's attachments (not part of its JSON).
    attachments: Vec<Attachment>,
    /// What it is charged against the queue's memory budget.
    bytes: usize,
}

impl QueuedEvent {
    /// Wraps `pending`, serializing it when `compact` (and keeping it whole in the unlikely case
    /// it does not serialize: then the send path reports the error).
    pub(crate) fn new(pending: PendingEvent, compact: bool) -> QueuedEvent {
        if !compact {
            return QueuedEvent::Whole(Box::new(pending));
        }
        let PendingEvent {
            mut event,
            stack,
            dsc,
        } = pending;
        let attachments = std::mem::take(&mut event.attachments);
        let event_id = std::mem::replace(&mut event.event_id, Uuid::nil());
        let timestamp = std::mem::replace(&mut event.timestamp, 0.0);
        let Ok(json) = serde_json::to_vec(&event) else {
            event.event_id = event_id;
            event.timestamp = timestamp;
            event.attachments = attachments;
            return QueuedEvent::Whole(Box::new(PendingEvent { event, stack, dsc }));
        };
        let (json, shared) = share_json(json);
        let stack_bytes = stack.as_ref().map_or(0, |s| s.heap_bytes())
            + attachments
                .iter()
                .map(Attachment::held_bytes)
                .sum::<usize>();
        QueuedEvent::Compact(CompactEvent {
            event_id,
            timestamp,
            bytes: QUEUED_EVENT_BYTES + stack_bytes + if shared { 0 } else { json_bytes(&json) },
            json,
            stack: stack.map(Box::new),
            dsc,
            attachments,
        })
    }

    /// The event's id (for an envelope, its `event_id`).
    pub(crate) fn event_id(&self) -> Uuid {
        match self {
            QueuedEvent::Whole(p) => p.event.event_id,
            QueuedEvent::Compact(c) => c.event_id,
            QueuedEvent::Envelope(e) => e.0,
            QueuedEvent::Transaction(t) => t.event_id,
            QueuedEvent::SendBuffered(_) => Uuid::nil(),
        }
    }

    /// The event as built again, or the envelope.
    pub(crate) fn into_ready(self) -> Result<Ready, serde_json::Error> {
        match self {
            QueuedEvent::Whole(p) => Ok(Ready::Event(*p)),
            QueuedEvent::Compact(c) => {
                let mut event: Event = serde_json::from_slice(&c.json)?;
                event.event_id = c.event_id;
                event.timestamp = c.timestamp;
                event.attachments = c.attachments;
                let stack = c.stack.map(|s| *s);
                Ok(Ready::Event(PendingEvent {
                    event,
                    stack,
                    dsc: c.dsc,
                }))
            }
            QueuedEvent::Envelope(e) => Ok(Ready::Envelope(e.1)),
            QueuedEvent::Transaction(t) => Ok(Ready::Transaction(t)),
            QueuedEvent::SendBuffered(all) => Ok(Ready::SendBuffered(all)),
        }
    }
}

impl Job for QueuedEvent {
    /// The rate-limit and client-report category it is counted under when dropped.
    fn category(&self) -> &'static str {
        match self {
            QueuedEvent::Envelope(e) => e.1.items().first().map_or("default", |i| i.category()),
            QueuedEvent::Transaction(_) => "transaction",
            _ => "error",
        }
    }

    fn bytes(&self) -> usize {
        match self {
            QueuedEvent::Whole(p) => {
                WHOLE_EVENT_BYTES
                    + p.event
                        .attachments
                        .iter()
                        .map(Attachment::held_bytes)
                        .sum::<usize>()
            }
            QueuedEvent::Compact(c) => c.bytes,
            QueuedEvent::Envelope(e) => {
                QUEUED_EVENT_BYTES + e.1.items().iter().map(|i| i.payload().len()).sum::<usize>()
            }
            QueuedEvent::Transaction(t) => QUEUED_EVENT_BYTES + t.bytes(),
            QueuedEvent::SendBuffered(_) => 0,
        }
    }

    /// Counts it as not delivered: an envelope item by item (each log of a `log` item), a
    /// buffered send not at all (the logs stay buffered).
    fn record_drop(&self, stats: &Stats, reason: DropReason) {
        match self {
            QueuedEvent::Envelope(e) => stats.record_envelope_drop(&e.1, reason),
            QueuedEvent::SendBuffered(_) => {}
            _ => stats.record_drop(reason, self.category(), 1),
        }
    }
}

/// What JSON of its own costs: its bytes, the shared pointer's counts and the allocator's
/// bookkeeping.
fn json_bytes(json: &[u8]) -> usize {
    json.len() + 32
}

/// `json` as shared bytes: the calling thread's last JSON when it is the same (then `true`),
/// else a new allocation that the thread remembers for next time.
fn share_json(json: Vec<u8>) -> (Arc<[u8]>, bool) {
    LAST_JSON
        .try_with(|last| {
            let mut last = last.borrow_mut();
            if let Some(prev) = last.as_ref().filter(|p| p[..] == json[..]) {
                return (prev.clone(), true);
            }
            let fresh: Arc<[u8]> = json.as_slice().into();
            *last = (fresh.len() <= MAX_SHARED_JSON).then(|| fresh.clone());
            (fresh, false)
        })
        // The thread is exiting and its locals are gone: no sharing.
        .unwrap_or_else(|_| (json.into(), false))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use crate::event::{Breadcrumb, Exception, LogEntry, User};
    use crate::Level;

    /// `event` as the capture path hands it on, without a stack or a caller's sampling context.
    fn pending(event: Event) -> PendingEvent {
        PendingEvent {
            event,
            stack: None,
            dsc: None,
        }
    }

    fn rich_event() -> Event {
        let mut event = Event {
            level: Level::Warning,
            logger: Some("app::orders".into()),
            transaction: Some("/orders/{id}".into()),
            release: Some("shop@1.2.3".into()),
            environment: Some("production".into()),
            logentry: Some(LogEntry {
                message: Some("order {} failed".into()),
                formatted: Some("order 7 failed".into()),
                params: vec![serde_json::json!(7)],
            }),
            user: Some(User {
                id: Some("42".into()),
                email: Some("a@example.com".into()),
                ..User::default()
            }),
            fingerprint: vec!["{{ default }}".into(), "orders".into()],
            ..Event::default()
        };
        event.tags.insert("region".into(), "eu".into());
        event.extra.insert(
            "cart".into(),
            serde_json::json!({"items": [1, 2.5, "x", null, true], "big": u64::MAX, "neg": -3}),
        );
        event
            .exception
            .values
            .push(Exception::new("io::Error", "connection reset"));
        event.breadcrumbs.values.push(
            Breadcrumb::new("ui", "clicked ✓ \"buy\"").with_data("price", serde_json::json!(9.99)),
        );
        event
    }

    #[test]
    fn a_compact_event_reads_back_equal() {
        // Timestamps (microseconds in an f64) over a range, and floats with 17 significant
        // digits: JSON has to read every one of them back to the same bits.
        let events = (0..500).map(|i| {
            let mut event = if i % 2 == 0 {
                Event::default()
            } else {
                rich_event()
            };
            event.timestamp = 1_764_087_420.0 + f64::from(i) * 0.000_123_457;
            event
                .extra
                .insert("ratio".into(), serde_json::json!(f64::from(i) / 3.0));
            event
        });
        for event in events {
            let original = event.clone();
            let queued = QueuedEvent::new(pending(event), true);
            assert!(matches!(queued, QueuedEvent::Compact(_)));
            assert_eq!(queued.event_id(), original.event_id);
            let Ready::Event(back) = queued.into_ready().unwrap() else {
                panic!("not an event");
            };
            assert_eq!(back.event, original);
        }
    }

    #[test]
    fn a_deep_extra_bounded_at_capture_reads_back_from_json() {
        // serde_json reads at most 128 levels back: the capture-time bounds keep events far
        // shallower, however deep the user's data was.
        let mut deep = serde_json::Value::Null;
        for _ in 0..10_000 {
            deep = serde_json::Value::Array(vec![deep]);
        }
        let mut event = Event::default();
        event
            .extra
            .insert("deep".into(), crate::normalize::bound_value(deep));
        crate::normalize::bound_event(&mut event);
        let original = event.clone();
        let queued = QueuedEvent::new(pending(event), true);
        assert!(matches!(queued, QueuedEvent::Compact(_)));
        let Ready::Event(back) = queued.into_ready().unwrap() else {
            panic!("not an event");
        };
        assert_eq!(back.event, original);
    }

    #[test]
    fn a_short_queue_keeps_the_event_whole() {
        let event = rich_event();
        let id = event.event_id;
        let queued = QueuedEvent::new(pending(event), false);
        assert!(matches!(queued, QueuedEvent::Whole(_)));
        assert_eq!(queued.event_id(), id);
    }

    #[test]
    fn a_compact_message_event_is_a_fraction_of_the_struct() {
        let event = Event {
            level: Level::Info,
            environment: Some("production".into()),
            server_name: Some("web-1".into()),
            logentry: Some(LogEntry {
                formatted: Some("burst event".into()),
                ..LogEntry::default()
            }),
            ..Event::default()
        };
        let QueuedEvent::Compact(c) = QueuedEvent::new(pending(event), true) else {
            panic!("not compacted");
        };
        assert!(c.json.len() < 300, "{} bytes", c.json.len());
        assert!(std::mem::size_of::<Event>() > 2 * c.json.len());
    }

    fn compact(event: Event) -> CompactEvent {
        match QueuedEvent::new(pending(event), true) {
            QueuedEvent::Compact(c) => c,
            other => panic!("not compacted: {other:?}"),
        }
    }

    #[test]
    fn repeats_on_a_thread_share_their_json_and_read_back_with_their_own_id() {
        let first = rich_event();
        let mut again = first.clone();
        again.event_id = Uuid::new_v4();
        again.timestamp += 1.5;
        let mut expected = again.clone();
        let (first_id, again_id, again_ts) = (first.event_id, again.event_id, again.timestamp);
        let (a, b) = (compact(first), compact(again));
        assert!(Arc::ptr_eq(&a.json, &b.json), "the repeat shares the JSON");
        assert!(b.bytes < a.bytes, "and is charged less");
        assert_eq!(b.bytes, QUEUED_EVENT_BYTES);
        let Ready::Event(back) = QueuedEvent::Compact(b).into_ready().unwrap() else {
            panic!("not an event");
        };
        assert_eq!(
            (back.event.event_id, back.event.timestamp),
            (again_id, again_ts)
        );
        assert_ne!(back.event.event_id, first_id);
        expected.event_id = again_id;
        assert_eq!(back.event, expected);
    }

    #[test]
    fn an_event_that_differs_gets_json_of_its_own() {
        let event = rich_event();
        let mut other = event.clone();
        let same = event.clone();
        let a = compact(event);
        other.tags.insert("region".into(), "us".into());
        let b = compact(other);
        assert!(!Arc::ptr_eq(&a.json, &b.json));
        assert_eq!(b.bytes, QUEUED_EVENT_BYTES + json_bytes(&b.json));
        // Another thread does not share this thread's JSON.
        let c = std::thread::spawn(move || compact(same)).join().unwrap();
        assert!(!Arc::ptr_eq(&a.json, &c.json));
    }
}
