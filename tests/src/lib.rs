//! Test support for the workspace: harnesses that judge the SDK's output with real Sentry
//! software. Run everything with `./scripts/test.sh`.

pub mod child;
pub mod net;
pub mod peers;
pub mod recording;

/// Every Rust snippet of the README, compiled (and run, unless marked `no_run`) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
