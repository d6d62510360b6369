//! Sending a finished transaction: queued as plain records (the capturing thread builds no
//! JSON), then, on the worker, the client's defaults and the context's scope around it, in an
//! envelope with the trace's dynamic sampling context.

use super::queued::QueuedEvent;
use super::{Client, Core};
use crate::envelope::{Envelope, EnvelopeItem};
use crate::event::Event;
use crate::normalize::limits::MAX_EVENT_BYTES;
use crate::trace::FinishedTransaction;
use crate::transport::DropReason;
use serde_json::Value;

/// Event fields that have no meaning on a transaction.
const NOT_FOR_TRANSACTIONS: [&str; 4] = ["level", "breadcrumbs", "fingerprint", "modules"];

impl Client {
    /// Counts a transaction that was not sampled (client report `sample_rate`).
    pub(crate) fn record_unsampled_transaction(&self) {
        self.core
            .stats
            .record_drop(DropReason::SampleRate, "transaction", 1);
    }

    /// Sends a finished, sampled transaction: queued for the worker in background mode (a full
    /// queue drops and counts it), sent on this thread in sync mode.
    pub(crate) fn send_transaction(&self, tx: FinishedTransaction) {
        match self.background_worker() {
            Some(worker) => {
                let _ = self.enqueue(worker, QueuedEvent::Transaction(Box::new(tx)));
            }
            None => {
                if let Some(envelope) = self.core.transaction_envelope(tx) {
                    // Failures are counted and logged by the transport.
                    let _ = self.core.transport.send(envelope);
                }
            }
        }
    }
}

impl Core {
    /// The envelope of a finished transaction; `None` (counted) when it cannot be sent.
    pub(crate) fn transaction_envelope(&self, tx: FinishedTransaction) -> Option<Envelope> {
        let mut base = Event::new();
        tx.scope.apply_to(&mut base, 0);
        self.apply_defaults(&mut base);
        self.apply_bulky_defaults(&mut base);
        let Ok(Value::Object(mut event)) = serde_json::to_value(&base) else {
            self.stats
                .record_drop(DropReason::InternalSdkError, "transaction", 1);
            return None;
        };
        for key in NOT_FOR_TRANSACTIONS {
            event.remove(key);
        }
        for (key, value) in tx.to_json() {
            match (event.get_mut(&key), value) {
                // Maps merge, the transaction's entries winning (its `contexts.trace`, tags).
                (Some(Value::Object(base)), Value::Object(own)) => base.extend(own),
                (_, value) => {
                    event.insert(key, value);
                }
            }
        }
        let mut envelope = Envelope::from_sdk(Some(tx.event_id));
        if let Ok(dsc) = serde_json::to_value(&tx.dsc) {
            envelope.set_header("trace", dsc);
        }
        match EnvelopeItem::json("transaction", &event) {
            Ok(item) if item.payload().len() <= MAX_EVENT_BYTES => {
                envelope.add_item(item);
                Some(envelope)
            }
            // Too large for Sentry (or not serializable): counted, not sent.
            _ => {
                self.stats
                    .record_drop(DropReason::SendError, "transaction", 1);
                None
            }
        }
    }
}
