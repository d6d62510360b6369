//! Bounds every event before it is queued or sent: depth and breadth of free-form data,
//! string lengths, per-field limits that match Relay's, and a total size under Relay's event
//! size limit. What is trimmed is marked in the event's `_meta`, as the Python SDK does, so
//! Sentry shows it; an event that cannot be made to fit is dropped and counted.
//!
//! It runs twice: on the capturing thread right after the scope is applied (so the queue, the
//! JSON queue form, the filter and the worker only ever see bounded data), and on the worker
//! after `before_send` (user code may have added data). Values also enter through the scope
//! and per-event options: [`bound_value`] bounds them there, so that storing or cloning them
//! never recurses deeply.
//!
//! No code here recurses on user data beyond [`limits::MAX_DEPTH`] levels: what is cut off is
//! taken apart with a worklist ([`databag::dismantle`]).

mod bags;
mod databag;
mod fields;
pub(crate) mod limits;
mod meta;
mod size;
mod text;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;


use crate::capture::CaptureOutcome;
use crate::error::SendError;
use crate::event::Event;
use crate::transport::{DropReason, Stats};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub(crate) use size::TooLarge;

/// Applies every limit to `event`, recording what was trimmed in its `_meta`. `Err` when it is
/// still over [`limits::MAX_EVENT_BYTES`] after shedding everything that may go.
pub(crate) fn normalize(event: &mut Event) -> Result<(), TooLarge> {
    let mut root = std::mem::take(&mut event.meta);
    if !root.is_empty() {
        // A `before_send` hook may have put anything there.
        let mut wrapped = Value::Object(root);
        databag::cap_depth(&mut wrapped, 1, limits::META_MAX_DEPTH);
        root = match wrapped {
            Value::Object(map) => map,
            _ => Map::new(),
        };
    }
    fields::apply(event, &mut root);
    bags::apply(event, &mut root);
    let fitted = size::fit(event, &mut root);
    event.meta = root;
    fitted
}

/// [`normalize`], and when the event cannot be made to fit: counted as `send_error` (Relay
/// would answer `413`) and the outcome to return instead of sending.
pub(crate) fn normalize_or_drop(event: &mut Event, stats: &Stats) -> Result<(), CaptureOutcome> {
    normalize(event).map_err(|too_large| {
        stats.record_drop(DropReason::SendError, "error", 1);
        log::debug!(target: "sentry_core", "an event of {} bytes after trimming was dropped: over the {} byte limit", too_large.bytes, limits::MAX_EVENT_BYTES);
        CaptureOutcome::Failed {
            event_id: event.event_id,
            error: SendError::Serialize(format!(
                "the event is {} bytes after trimming, over the {} byte limit",
                too_large.bytes,
                limits::MAX_EVENT_BYTES
            )),
        }
    })
}

/// `value` with nesting deeper than the normalizer keeps taken apart without recursion, so
/// storing, cloning and dropping it stay cheap. Breadth and strings are left to the event's
/// normalization, which records them in `_meta`.
pub(crate) fn bound_value(value: Value) -> Value {
    let mut value = value;
    // One level more than kept: the event's normalization then still sees how many entries
    // the deepest kept container had, for its `_meta`.
    databag::cap_depth(&mut value, 1, limits::MAX_DEPTH + 1);
    value
}

/// [`bound_value`] for an object whose entries are values of their own (a context).
pub(crate) fn bound_map(map: Map<String, Value>) -> Map<String, Value> {
    match bound_value(Value::Object(map)) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// [`bound_value`] for each value of a map (breadcrumb data, a user's other fields).
pub(crate) fn bound_values(map: &mut BTreeMap<String, Value>) {
    for value in map.values_mut() {
        *value = bound_value(std::mem::take(value));
    }
}
