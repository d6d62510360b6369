//! Sending a finished transaction: the client's defaults and the context's scope around it, in
//! an envelope with the trace's dynamic sampling context, queued like user feedback.

use super::Client;
use crate::context::Context;
use crate::envelope::{Envelope, EnvelopeItem};
use crate::event::Event;
use crate::normalize::limits::MAX_EVENT_BYTES;
use crate::trace::Dsc;
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

    /// Sends a finished, sampled transaction event (`tx`, see `trace::transaction`), with the
    /// scope of `context` and this client's defaults under it.
    pub(crate) fn send_transaction(&self, tx: Value, dsc: Dsc, context: &Context) {
        let Value::Object(tx) = tx else { return };
        let mut base = Event::new();
        context.scope().apply_to(&mut base, 0);
        self.core.apply_defaults(&mut base);
        self.core.apply_bulky_defaults(&mut base);
        let Ok(Value::Object(mut event)) = serde_json::to_value(&base) else {
            self.core
                .stats
                .record_drop(DropReason::InternalSdkError, "transaction", 1);
            return;
        };
        for key in NOT_FOR_TRANSACTIONS {
            event.remove(key);
        }
        for (key, value) in tx {
            match (event.get_mut(&key), value) {
                // Maps merge, the transaction's entries winning (its `contexts.trace`, tags).
                (Some(Value::Object(base)), Value::Object(own)) => base.extend(own),
                (_, value) => {
                    event.insert(key, value);
                }
            }
        }
        let event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(uuid::Uuid::new_v4);
        let mut envelope = Envelope::from_sdk(Some(event_id));
        if let Ok(dsc) = serde_json::to_value(dsc) {
            envelope.set_header("trace", dsc);
        }
        let item = match EnvelopeItem::json("transaction", &event) {
            Ok(item) if item.payload().len() <= MAX_EVENT_BYTES => item,
            // Too large for Sentry (or not serializable): counted, not sent.
            _ => {
                self.core
                    .stats
                    .record_drop(DropReason::SendError, "transaction", 1);
                return;
            }
        };
        envelope.add_item(item);
        // A full queue counts the drop itself.
        let _ = self.send_envelope(event_id, envelope);
    }
}
