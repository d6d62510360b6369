//! Integrations that capture events without explicit calls, each behind a cargo feature.

#[cfg(feature = "panic")]
pub(crate) mod panic;
