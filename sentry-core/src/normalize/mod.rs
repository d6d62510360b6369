//! Bounds every event before it is queued or sent: depth and breadth of free-form data,
//! string lengths, per-field limits that match Relay's, and a total size under Relay's event
//! size limit. What is trimmed is marked in the event's `_meta`, as the Python SDK does, so
//! Sentry shows it; an event that cannot be made to fit is dropped and counted.
//!
//! It runs twice: on the capturing thread right after the scope is applied, every field and
//! databag limit ([`bound_event`], so the queue, the JSON queue form, the filter and the worker
//! only ever see bounded data); and on the worker after `before_send` (user code may have
//! added data), everything again plus the size budget of the finished event
//! ([`normalize_or_drop`]). Values also enter through the scope and per-event options:
//! [`bound_value`] bounds them there, so that storing or cloning them never recurses deeply.
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
    let mut root = take_meta(event);
    fields::apply(event, &mut root);
    bags::apply(event, &mut root);
    let fitted = size::fit(event, &mut root);
    event.meta = root;
    fitted
}

/// The capture-time pass: every field and databag limit of [`normalize`], without the
/// whole-event size budget. The event is then bounded (no deep nesting, no unbounded string
/// or list), so queueing, cloning and serializing it are safe and cheap; the size budget is
/// checked once the event is complete (contexts, stack trace, `before_send`), by
/// [`normalize_or_drop`] on the worker.
pub(crate) fn bound_event(event: &mut Event) {
    let mut root = take_meta(event);
    fields::apply(event, &mut root);
    bags::apply(event, &mut root);
    event.meta = root;
}

/// The event's `_meta`, taken out and bounded in depth (a `before_send` hook may have put
/// anything there).
fn take_meta(event: &mut Event) -> Map<String, Value> {
    let root = std::mem::take(&mut event.meta);
    if root.is_empty() {
        return root;
    }
    let mut wrapped = Value::Object(root);
    databag::cap_depth(&mut wrapped, 1, limits::META_MAX_DEPTH);
    match wrapped {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// [`normalize`], and when the event cannot be made to fit: counted as `send_error` (Relay
/// would answer `413`) and the outcome to return instead of sending.
pub(crate) fn normalize_or_drop(event: &mut Event, stats: &Stats) -> Result<(), CaptureOutcome> {
    normalize(event).map_err(|too_large| {
        stats.record_drop(DropReason::SendError, "error", 1);
        log::debug!(target: "watchpost", "an event of {} bytes after trimming was dropped: over the {} byte limit", too_large.bytes, limits::MAX_EVENT_BYTES);
        CaptureOutcome::Failed {
            event_id: event.event_id,
            error: SendError::TooLarge {
                bytes: too_large.bytes,
                limit: limits::MAX_EVENT_BYTES,
            },
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
