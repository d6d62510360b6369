//! The panic integration (the Elixir logger backend's "crashed process" capture): a panic hook,
//! chained with the one installed before, that reports panics as unhandled events.
//!
//! The panicking thread only builds the event and captures raw frames; symbol resolution and
//! sending happen on the worker. Only when the process is certain to end right after the hook
//! (`panic = "abort"`) does the hook wait, at most `shutdown_timeout`, for the queue to drain.
//! An uncaught panic on the main thread with unwinding drops the [`ClientGuard`](crate::ClientGuard),
//! which flushes.

use super::payload_text;
use crate::context::{Context, EventSource};
use crate::event::{Event, Exception, Level, Mechanism};
use crate::stacktrace::RawStacktrace;
use std::cell::Cell;
use std::panic::PanicHookInfo;
use std::sync::Once;

thread_local! {
    /// Set while this thread runs the hook: a panic inside it must not re-enter.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook once per process, keeping the previous hook (it runs after ours).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            previous(info);
        }));
    });
}

fn report(info: &PanicHookInfo<'_>) {
    // A panic in a user callback is counted as a failed callback; a panic on an SDK thread is
    // caught and counted by that thread (`internal_sdk_error`). Reporting either would feed the
    // SDK its own failures, and with `panic = "abort"` the flush below would wait on the very
    // worker that panicked.
    if crate::hooks::inside_sdk() {
        return;
    }
    // A panic inside the tower layer's poll is reported by the layer, with the request.
    #[cfg(feature = "tower")]
    if crate::integrations::tower::defer_panic(info) {
        return;
    }
    let entered = IN_HOOK.try_with(|f| !f.replace(true)).unwrap_or(false);
    if !entered {
        return;
    }
    // Nothing in here may unwind into the panicking code.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ctx = Context::current();
        let Some(client) = ctx.client() else { return };
        let stack = RawStacktrace::capture_at(info.location());
        let _ = client.capture(panic_event(info), Some(stack), &ctx, EventSource::Panic);
        if cfg!(panic = "abort") {
            client.flush(client.options().shutdown_timeout);
        }
    }));
    let _ = IN_HOOK.try_with(|f| f.set(false));
}

/// The event for a panic: one exception of type `panic`, unhandled, with the thread's name.
fn panic_event(info: &PanicHookInfo<'_>) -> Event {
    let message = payload_text(info.payload());
    let mut exc = Exception::new("panic", message);
    let mut mechanism = Mechanism::new("panic", false);
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>").to_owned();
    mechanism
        .data
        .insert("thread_name".into(), name.clone().into());
    exc.mechanism = Some(mechanism);
    let mut event = Event::new();
    event.level = Level::Fatal;
    event.exception.values.push(exc);
    event.tags.insert("thread.name".into(), name);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_become_text() {
        assert_eq!(payload_text(&"static"), "static");
        assert_eq!(payload_text(&String::from("owned")), "owned");
        assert_eq!(payload_text(&42u32), "Box<dyn Any>");
    }
}
