//! Expansion: the table as a `<runtime>::__private::SourceTable` expression, checked at compile
//! time against the runtime's table format, or one clear error.
//!
//! `<runtime>` is the path the runtime's `embed_sources!` passed in (`$crate`); nothing else of the
//! runtime is named, so a renamed dependency works.

use crate::parse::Args;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::path::Path;

/// The expression for a table that exists; a build-time error when the build script step is
/// missing.
///
/// Proc macros cannot ask Cargo to track `OUT_DIR` (that API is nightly-only), so the checks here
/// only produce better messages; `include_bytes!` is what makes rustc track the file itself.
pub(crate) fn expand(krate: &TokenStream, args: &Args) -> TokenStream {
    let name = &args.file_name;
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return fallback(
            krate,
            syn::Error::new(Span::call_site(), missing_build_script()),
        );
    };
    if !Path::new(&out_dir).join(name).is_file() {
        let span = args
            .literal
            .as_ref()
            .map_or_else(Span::call_site, |lit| lit.span());
        return fallback(krate, syn::Error::new(span, missing_table(name)));
    }
    let path = format!("/{name}");
    // The check is a constant: a table of another format fails the build, naming the versions
    // to align, instead of losing all source context at run time.
    quote! {
        {
            const __SENTRY_SOURCE_TABLE: &[u8] =
                ::core::include_bytes!(::core::concat!(::core::env!("OUT_DIR"), #path));
            const _: () = #krate::__private::check_table_format(__SENTRY_SOURCE_TABLE);
            #krate::__private::SourceTable::from_embedded(__SENTRY_SOURCE_TABLE)
        }
    }
}

/// The error, plus an empty table so the surrounding code still type-checks: the user sees this
/// one error, not a cascade.
pub(crate) fn fallback(krate: &TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote! {
        {
            #error;
            #krate::__private::SourceTable::empty()
        }
    }
}

fn missing_build_script() -> String {
    "embed_sources!() needs the build script step, and this package has no build script \
     (OUT_DIR is not set).\n\
     Add to Cargo.toml:\n    [build-dependencies]\n    watchpost-build = \"0.1\"\n\
     and create build.rs next to it:\n    fn main() {\n        watchpost_build::embed_sources();\n    }"
        .to_owned()
}

fn missing_table(name: &str) -> String {
    let call = if name == "sentry_sources.bin" {
        "watchpost_build::embed_sources();".to_owned()
    } else {
        format!("watchpost_build::SourceEmbed::new().file_name(\"{name}\").embed();")
    };
    format!(
        "embed_sources!() found no `{name}` in OUT_DIR: the build script does not write it.\n\
         Call this from build.rs (with `watchpost-build` in [build-dependencies]):\n    {call}"
    )
}
