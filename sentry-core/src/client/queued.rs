//! How an event waits in memory for the worker: as built while the queue is short, as JSON once
//! the queue is deep. User feedback waits as the envelope it already is.
//!
//! An [`Event`] is an 830-byte struct before its strings and maps, so a queued message event
//! costs about 1 KiB as built and about a third of that as JSON. Serializing takes the caller a
//! microsecond or two, so it is done only when the worker has fallen behind (more than
//! [`COMPACT_AFTER`] events waiting): a steady trickle of events never pays it, and a burst or an
//! outage that fills the queue costs about 350 bytes per waiting event instead of 1 KiB.

use super::PendingEvent;
use crate::envelope::Envelope;
use crate::event::Event;
use crate::stacktrace::RawStacktrace;
use crate::transport::Job;
use uuid::Uuid;

/// Events waiting before new ones are queued as JSON.
pub(crate) const COMPACT_AFTER: u64 = 64;

/// An event in the worker's (or the spill writer's) queue.
#[derive(Debug)]
pub(crate) enum QueuedEvent {
    /// The event as built: nothing to undo on the worker.
    Whole(Box<PendingEvent>),
    /// The event serialized, read back by whoever finishes it.
    Compact(Box<CompactEvent>),
    /// A finished envelope that is not an event (user feedback), sent as it is.
    Envelope(Box<(Uuid, Envelope)>),
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
}

/// An event as JSON, with its raw stack (instruction pointers, already compact) beside it.
#[derive(Debug)]
pub(crate) struct CompactEvent {
    event_id: Uuid,
    json: Box<[u8]>,
    stack: Option<RawStacktrace>,
}

impl QueuedEvent {
    /// Wraps `pending`, serializing it when `compact` (and keeping it whole in the unlikely case
    /// it does not serialize: then the send path reports the error).
    pub(crate) fn new(pending: PendingEvent, compact: bool) -> QueuedEvent {
        if compact {
            if let Ok(json) = serde_json::to_vec(&pending.event) {
                return QueuedEvent::Compact(Box::new(CompactEvent {
                    event_id: pending.event.event_id,
                    json: json.into_boxed_slice(),
                    stack: pending.stack,
                }));
            }
        }
        QueuedEvent::Whole(Box::new(pending))
    }

    /// The event's id (for an envelope, its `event_id`).
    pub(crate) fn event_id(&self) -> Uuid {
        match self {
            QueuedEvent::Whole(p) => p.event.event_id,
            QueuedEvent::Compact(c) => c.event_id,
            QueuedEvent::Envelope(e) => e.0,
        }
    }

    /// The event as built again, or the envelope.
    pub(crate) fn into_ready(self) -> Result<Ready, serde_json::Error> {
        match self {
            QueuedEvent::Whole(p) => Ok(Ready::Event(*p)),
            QueuedEvent::Compact(c) => {
                let CompactEvent { json, stack, .. } = *c;
                let event: Event = serde_json::from_slice(&json)?;
                Ok(Ready::Event(PendingEvent { event, stack }))
            }
            QueuedEvent::Envelope(e) => Ok(Ready::Envelope(e.1)),
        }
    }
}

impl Job for QueuedEvent {
    /// The rate-limit and client-report category it is counted under when dropped.
    fn category(&self) -> &'static str {
        match self {
            QueuedEvent::Envelope(e) => e.1.items().first().map_or("default", |i| i.category()),
            _ => "error",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use crate::event::{Breadcrumb, Exception, LogEntry, User};
    use crate::Level;

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
            let queued = QueuedEvent::new(PendingEvent { event, stack: None }, true);
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
        let queued = QueuedEvent::new(PendingEvent { event, stack: None }, true);
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
        let queued = QueuedEvent::new(PendingEvent { event, stack: None }, false);
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
        let QueuedEvent::Compact(c) = QueuedEvent::new(PendingEvent { event, stack: None }, true)
        else {
            panic!("not compacted");
        };
        assert!(c.json.len() < 300, "{} bytes", c.json.len());
        assert!(std::mem::size_of::<Event>() > 2 * c.json.len());
    }
}
