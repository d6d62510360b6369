//! Catching panics of the inner service on each poll, in step with the panic hook.
//!
//! While the layer polls the inner service, a thread-local flag is set. The panic hook (feature
//! `panic`) sees it and, instead of reporting the panic, records the message and a raw stack
//! taken at the panic (which only the hook can see) for the layer. The layer then reports the
//! panic once, with the request, as mechanism `tower`, and answers `500`.

use crate::stacktrace::RawStacktrace;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Panics recorded for one catch; more only when the handler itself catches panics.
#[cfg(feature = "panic")]
const MAX_RECORDS: usize = 8;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static RECORDS: RefCell<Vec<PanicRecord>> = const { RefCell::new(Vec::new()) };
}

/// What the panic hook saw of a panic under the layer.
#[derive(Debug)]
pub(crate) struct PanicRecord {
    /// The panic message.
    pub(crate) message: String,
    /// The stack at the panic, anchored at its location.
    pub(crate) stack: RawStacktrace,
    /// The panicking thread's name.
    pub(crate) thread: String,
}

/// Called by the panic hook first. True when the panic happened while the layer polls on this
/// thread: the hook then leaves the report to the layer and only records what it saw.
#[cfg(feature = "panic")]
pub(crate) fn defer_panic(info: &std::panic::PanicHookInfo<'_>) -> bool {
    if !ACTIVE.try_with(Cell::get).unwrap_or(false) {
        return false;
    }
    let record = PanicRecord {
        message: payload_message(info.payload()),
        stack: RawStacktrace::capture_at(info.location()),
        thread: std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_owned(),
    };
    let _ = RECORDS.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            if r.len() < MAX_RECORDS {
                r.push(record);
            }
        }
    });
    true
}

/// The outcome of [`catch`]: the result or the panic payload, and what the hook recorded.
pub(crate) struct Caught<R> {
    pub(crate) result: Result<R, Box<dyn Any + Send>>,
    /// Panics seen by the hook, in order. When `result` is a panic, it is the last one.
    pub(crate) records: Vec<PanicRecord>,
}

/// Runs `f`, catching a panic, with the hook deferring to the caller. Nests: an inner catch
/// keeps its records apart from an outer one's.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Caught<R> {
    let was_active = ACTIVE.try_with(|a| a.replace(true)).unwrap_or(false);
    let outer = RECORDS.try_with(|r| {
        r.try_borrow_mut()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    });
    let result = catch_unwind(AssertUnwindSafe(f));
    let records = RECORDS
        .try_with(|r| match r.try_borrow_mut() {
            Ok(mut r) => std::mem::replace(&mut *r, outer.unwrap_or_default()),
            Err(_) => Vec::new(),
        })
        .unwrap_or_default();
    let _ = ACTIVE.try_with(|a| a.set(was_active));
    Caught { result, records }
}

pub(crate) use crate::integrations::payload_text as payload_message;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_the_payload_and_restores_the_flag() {
        let caught = catch(|| -> u32 { std::panic::panic_any("boom") });
        let payload = caught.result.expect_err("a panic");
        assert_eq!(payload_message(&*payload), "boom");
        assert!(!ACTIVE.with(Cell::get));
    }

    #[test]
    fn nested_catches_keep_their_own_records() {
        RECORDS.with(|r| r.borrow_mut().clear());
        let outer = catch(|| {
            RECORDS.with(|r| r.borrow_mut().push(record("outer-before")));
            let inner = catch(|| RECORDS.with(|r| r.borrow_mut().push(record("inner"))));
            assert_eq!(inner.records.len(), 1);
            assert_eq!(inner.records[0].message, "inner");
        });
        let messages: Vec<_> = outer.records.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(messages, ["outer-before"]);
    }

    fn record(message: &str) -> PanicRecord {
        PanicRecord {
            message: message.to_owned(),
            stack: RawStacktrace::capture(None),
            thread: "t".into(),
        }
    }
}
