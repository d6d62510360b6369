//! Integrations that capture events without explicit calls, each behind a cargo feature.

#[cfg(feature = "anyhow")]
pub(crate) mod anyhow;
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "panic")]
pub(crate) mod panic;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "tracing")]
pub mod tracing;

/// The SDK's own records and events (targets `watchpost...`): the `log` and `tracing`
/// integrations never report them, or a failing send could report itself forever.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn is_sdk_target(target: &str) -> bool {
    target == "watchpost" || target.starts_with("watchpost::")
}

/// True on the SDK's own threads (the transport worker, named `sentry-...`), whose records (e.g.
/// of the HTTP client) the `log` and `tracing` integrations never report.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn on_sdk_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("sentry-"))
}

/// The panic message: `&str` and `String` payloads as text, anything else named as such. Shared
/// by the panic hook and the tower layer, so both report a panic the same way.
#[cfg(any(feature = "panic", feature = "tower"))]
pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
