//! Build-script helper for Sentry's compile-time source context.
//!
//! Called from a crate's `build.rs`, it walks the configured source roots, writes one compact table
//! (an index plus each file compressed on its own) into `OUT_DIR`, and prints the
//! `cargo:rerun-if-changed` lines that make Cargo rebuild when a source file is edited, added or
//! deleted, and only then. `watchpost::embed_sources!()` pulls the table into the program, and
//! events then carry the source lines around each frame.
//!
//! # Quick start
//!
//! ```toml
//! [build-dependencies]
//! watchpost-build = "0.1"
//! ```
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     watchpost_build::embed_sources();
//! }
//! ```
//!
//! In a workspace of several crates, embed every member from the build script of the crate that
//! calls `embed_sources!()`, so frames of each member get their lines and their package:
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     watchpost_build::SourceEmbed::workspace().embed();
//! }
//! ```
//!
//! With options (see [`SourceEmbed`]); roots add to the crate's own `src`:
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     watchpost_build::SourceEmbed::new()
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
//! # Build time
//!
//! A file is compressed only when it changed: next to the table, `OUT_DIR` holds a cache of each
//! file's compressed bytes, and a rerun of the build script (any watched file edited) reuses them
//! for unchanged files. The table is the same, byte for byte, as a fresh build's. With 5 MB of
//! sources, such a rerun takes under 0.1 s, where compressing everything takes over half a second.
//!
//! Build scripts and their dependencies are compiled without optimization, so the first run (a
//! clean build, nothing cached yet) compresses slowly. Optimizing the compressor makes that run
//! about three times faster, for a few more seconds of compiling on a clean build:
//!
//! ```toml
//! [profile.release.package.miniz_oxide]
//! opt-level = 3
//! ```
//!
//! `[profile.release.build-override] opt-level = 3` speeds the compression up as much, but
//! compiles every build-time dependency (`regex` among them) with optimizations, which on a clean
//! build costs far more time than it saves, unless the project sets it anyway.
//!
//! # Cargo features
//!
//! | feature | what it adds |
//! |---|---|
//! | `embed` (default) | [`SourceEmbed`]: walking the roots and writing the table from `build.rs` |
//!
//! Without `embed`, only the [`mod@format`] module remains: the one definition of the table format, which the
//! runtime crate depends on to read what this crate writes.

#![deny(missing_docs, unreachable_pub)]
#![warn(missing_debug_implementations)]
// The examples are build scripts: their `fn main` is the point.
#![allow(clippy::needless_doctest_main)]
// Tests may unwrap: a failure there is the test failing.
#![cfg_attr(test, allow(clippy::unwrap_used))]

// Without `embed`, only the writer uses the cache (never loaded or stored).
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
mod cache;
#[cfg(feature = "embed")]
mod embed;
mod error;
pub mod format;
#[cfg(feature = "embed")]
mod lockfile;
#[cfg(feature = "embed")]
mod members;
#[cfg(feature = "embed")]
mod paths;
#[cfg(feature = "embed")]
mod walk;

#[cfg(feature = "embed")]
pub use embed::{SourceEmbed, Summary, DEFAULT_FILE_NAME, ENV_SWITCH};
pub use error::Error;
pub use format::TableWriter;

/// Embeds with the defaults: the crate's `src`, `**/*.rs`, default excludes, dependencies
/// reported. Same as `SourceEmbed::new().embed()`.
#[cfg(feature = "embed")]
pub fn embed_sources() -> Summary {
    SourceEmbed::new().embed()
}
