//! The expansion behind `embed_sources!` of the Sentry runtime crate: pulls the source table
//! that `watchpost-build` wrote into `OUT_DIR` into the program.
//!
//! Use it through the runtime crate's `embed_sources!`, a `macro_rules!` macro that passes its own
//! path (`$crate`) in, so the generated code names the runtime however the user's `Cargo.toml`
//! calls it (`foo = { package = "watchpost", .. }`) and reaches only its `__private` module.
//! The build script step comes first:
//!
//! ```toml
//! # Cargo.toml
//! [build-dependencies]
//! watchpost-build = "0.1"
//! ```
//!
//! ```ignore
//! // build.rs
//! fn main() {
//!     watchpost_build::embed_sources();
//! }
//! ```
//!
//! ```ignore
//! // src/main.rs
//! static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();
//! ```

#![deny(missing_docs, unreachable_pub)]
#![warn(missing_debug_implementations)]

mod expand;
mod parse;

use proc_macro::TokenStream;

/// `embed_sources_impl!($crate; args)`: the expansion of the runtime's `embed_sources!(args)`.
///
/// Expands to a `$crate::__private::SourceTable` (usable in a `static` or `const`) holding the
/// table that `watchpost-build` wrote into `OUT_DIR`, with a compile-time check that its
/// format is the one the runtime reads. `args` is nothing (the default `sentry_sources.bin`) or
/// one file name. When the build script step is missing, compilation fails with one error that
/// says what to add. Not for direct use: call the runtime's `embed_sources!`.
#[doc(hidden)]
#[proc_macro]
pub fn embed_sources_impl(input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let Some((krate, args)) = parse::split_runtime_path(input) else {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            "embed_sources_impl! is called by the runtime's embed_sources!, as \
             `embed_sources_impl!($crate; ...)`",
        );
        return error.to_compile_error().into();
    };
    match syn::parse2::<parse::Args>(args) {
        Ok(args) => expand::expand(&krate, &args),
        Err(error) => expand::fallback(&krate, error),
    }
    .into()
}
