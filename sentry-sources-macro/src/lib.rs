//! The `embed_sources!` macro of `sentry-core`: pulls the source table that `sentry-build-support`
//! wrote into `OUT_DIR` into the program, as a `sentry_core::SourceTable`.
//!
//! Use it through `sentry_core::embed_sources!`; this crate only does the expansion. The build
//! script step comes first:
//!
//! ```toml
//! # Cargo.toml
//! [build-dependencies]
//! sentry-build-support = "0.1"
//! ```
//!
//! ```ignore
//! // build.rs
//! fn main() {
//!     sentry_build_support::embed_sources();
//! }
//! ```
//!
//! ```ignore
//! // src/main.rs
//! static SOURCES: sentry_core::SourceTable = sentry_core::embed_sources!();
//! ```

#![deny(missing_docs, unreachable_pub)]
#![warn(missing_debug_implementations)]

mod expand;
mod parse;

use proc_macro::TokenStream;

/// Expands to a `sentry_core::SourceTable` (usable in a `static` or `const`) holding the table
/// that `sentry-build-support` wrote into `OUT_DIR`.
///
/// `embed_sources!()` reads the default table (`sentry_sources.bin`); `embed_sources!("name.bin")`
/// reads one written with `SourceEmbed::new().file_name("name.bin")`. When the build script step
/// is missing, compilation fails with one error that says what to add.
#[proc_macro]
pub fn embed_sources(input: TokenStream) -> TokenStream {
    match syn::parse::<parse::Args>(input) {
        Ok(args) => expand::expand(&args),
        Err(error) => expand::fallback(error),
    }
    .into()
}
