//! The whole-event size budget: when the serialized event is over [`MAX_EVENT_BYTES`], the
//! least useful parts go first, until it fits.
//!
//! Order: breadcrumbs, oldest first; then whole bags: `extra`, `request`, the frames' source
//! context, contexts, `modules`, `logentry.params`, the user's other fields. Each removal is
//! recorded in `_meta` as a cut container (`{"len": n}`).

use super::databag::dismantle;
use super::limits::MAX_EVENT_BYTES;
use super::meta::{self, MetaNode};
use crate::event::Event;
use serde::Serialize;
use serde_json::Value;
use std::io;

/// Bytes shed beyond the excess when dropping breadcrumbs, for the `_meta` entry that records
/// it: without them, that entry alone could push the event over and cost it its `extra`.
const META_SLACK: usize = 64;

/// The event cannot be brought under [`MAX_EVENT_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge {
    /// Its serialized size after every trim, in bytes.
    pub(crate) bytes: usize,
}

/// Counts the bytes written to it.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size of `value` serialized as compact JSON, without building the JSON.
pub(crate) fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        // Only a failing `Serialize` impl gets here; the event then cannot be sent at all.
        Err(_) => usize::MAX,
    }
}

/// The size of `event` with `meta` as its `_meta` (which `event.meta` does not hold yet).
fn total(event: &Event, meta: &MetaNode) -> usize {
    let meta_len = if meta.is_empty() {
        0
    } else {
        json_len(meta) + r#","_meta":"#.len()
    };
    json_len(event).saturating_add(meta_len)
}

/// Sheds parts of `event` until it fits [`MAX_EVENT_BYTES`], annotating `root`.
pub(crate) fn fit(event: &mut Event, root: &mut MetaNode) -> Result<(), TooLarge> {
    let mut size = total(event, root);
    if size <= MAX_EVENT_BYTES {
        return Ok(());
    }
    // Breadcrumbs, oldest first, only as many as needed.
    let crumbs = &mut event.breadcrumbs.values;
    let original = crumbs.len();
    let mut drop_n = 0;
    let mut excess = size - MAX_EVENT_BYTES + META_SLACK;
    for crumb in crumbs.iter() {
        if excess == 0 {
            break;
        }
        excess = excess.saturating_sub(json_len(crumb) + 1);
        drop_n += 1;
    }
    if drop_n > 0 {
        for crumb in crumbs.drain(..drop_n) {
            crumb.data.into_values().for_each(dismantle);
        }
        meta::shift_indices(root, &["breadcrumbs", "values"], drop_n);
        meta::attach(
            root,
            &["breadcrumbs", "values"],
            meta::cut_container(original),
        );
        size = total(event, root);
    }
    for shed in SHEDDERS {
        if size <= MAX_EVENT_BYTES {
            return Ok(());
        }
        if shed(event, root) {
            size = total(event, root);
        }
    }
    if size <= MAX_EVENT_BYTES {
        Ok(())
    } else {
        Err(TooLarge { bytes: size })
    }
}

type Shedder = fn(&mut Event, &mut MetaNode) -> bool;

/// Whole parts to remove, in order; each returns whether it removed anything.
const SHEDDERS: [Shedder; 7] = [
    |e, root| {
        let n = e.extra.len();
        e.extra.split_off("").into_values().for_each(dismantle);
        removed(root, &["extra"], n)
    },
    |e, root| match e.request.take() {
        Some(request) => {
            if let Some(data) = request.data {
                dismantle(data);
            }
            meta::attach(root, &["request"], meta::removed());
            true
        }
        None => false,
    },
    |e, _| {
        let mut any = false;
        for exc in &mut e.exception.values {
            for frame in exc.stacktrace.iter_mut().flat_map(|t| t.frames.iter_mut()) {
                any |= frame.context_line.take().is_some();
                any |= !std::mem::take(&mut frame.pre_context).is_empty();
                any |= !std::mem::take(&mut frame.post_context).is_empty();
            }
        }
        any
    },
    |e, root| {
        let n = e.contexts.0.len();
        let contexts = std::mem::take(&mut e.contexts.0);
        contexts
            .into_values()
            .for_each(|c| dismantle(Value::Object(c)));
        removed(root, &["contexts"], n)
    },
    |e, root| {
        let n = e.modules.len();
        e.modules.clear();
        removed(root, &["modules"], n)
    },
    |e, root| match &mut e.logentry {
        Some(entry) => {
            let n = entry.params.len();
            dismantle(Value::Array(std::mem::take(&mut entry.params)));
            removed(root, &["logentry", "params"], n)
        }
        None => false,
    },
    |e, _| match &mut e.user {
        Some(user) => {
            let any = !user.other.is_empty();
            user.other.split_off("").into_values().for_each(dismantle);
            any
        }
        None => false,
    },
];

fn removed(root: &mut MetaNode, path: &[&str], n: usize) -> bool {
    if n > 0 {
        meta::attach(root, path, meta::cut_container(n));
    }
    n > 0
}
