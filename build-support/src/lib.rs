//! Build-script helper for Sentry's compile-time source context.
//!
//! Called from a crate's `build.rs`, it walks the configured source roots, writes one compact table
//! (an index plus each file compressed on its own) into `OUT_DIR`, and prints the
//! `cargo:rerun-if-changed` lines that make Cargo rebuild when a source file is edited, added or
//! deleted, and only then. `sentry_core::embed_sources!()` pulls the table into the program, and
//! events then carry the source lines around each frame.
//!
//! # Quick start
//!
//! ```toml
//! [build-dependencies]
//! sentry-build-support = "0.1"
//! ```
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     sentry_build_support::embed_sources();
//! }
//! ```
//!
//! With options (see [`SourceEmbed`]):
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     sentry_build_support::SourceEmbed::new()
//!         .root("src")
//!         .root("../shared/src")
//!         .exclude(r"(^|/)secrets?\.rs$")
//!         .max_file_bytes(512 * 1024)
//!         .report_deps(true)
//!         .embed();
//! }
//! ```
//!
//! Setting `SENTRY_EMBED_SOURCES=0` in the build environment embeds no files (the table stays
//! valid, so the program still compiles).
//!
//! This crate has no cargo features.

#![deny(missing_docs, unreachable_pub)]
#![warn(missing_debug_implementations)]
// The examples are build scripts: their `fn main` is the point.
#![allow(clippy::needless_doctest_main)]
// Tests may unwrap: a failure there is the test failing.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod embed;
mod error;
pub mod format;
mod lockfile;
mod paths;
mod walk;

pub use embed::{SourceEmbed, Summary, DEFAULT_FILE_NAME, ENV_SWITCH};
pub use error::Error;
pub use format::TableWriter;

/// Embeds with the defaults: the crate's `src`, `**/*.rs`, default excludes, dependencies
/// reported. Same as `SourceEmbed::new().embed()`.
pub fn embed_sources() -> Summary {
    SourceEmbed::new().embed()
}
