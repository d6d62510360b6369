//! Parsing `embed_sources_impl!($crate; ...)`: the runtime's path, then nothing or one string
//! literal naming the table file.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// The file name `watchpost-build` writes unless told otherwise.
const DEFAULT_FILE_NAME: &str = "sentry_sources.bin";

/// The macro's arguments.
pub(crate) struct Args {
    /// The table's file name in `OUT_DIR`.
    pub(crate) file_name: String,
    /// The literal it came from, for error spans; `None` for the default.
    pub(crate) literal: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Args {
                file_name: DEFAULT_FILE_NAME.to_owned(),
                literal: None,
            });
        }
        let literal: LitStr = input.parse().map_err(|_| {
            let tokens: proc_macro2::TokenStream = input.fork().parse().unwrap_or_default();
            syn::Error::new_spanned(
                tokens,
                "expected nothing or a string literal naming the table file, \
                 as in `embed_sources!()` or `embed_sources!(\"other.bin\")`",
            )
        })?;
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            let rest: proc_macro2::TokenStream = input.parse()?;
            return Err(syn::Error::new_spanned(
                rest,
                "embed_sources! takes at most one argument, the table's file name",
            ));
        }
        let file_name = literal.value();
        validate(&file_name, &literal)?;
        Ok(Args {
            file_name,
            literal: Some(literal),
        })
    }
}

/// Splits the input at the first `;`: the runtime crate's path (whatever `$crate` became) and the
/// user's arguments. `None` when there is no `;` or no path before it.
pub(crate) fn split_runtime_path(input: TokenStream) -> Option<(TokenStream, TokenStream)> {
    let mut tokens = input.into_iter();
    let mut krate = TokenStream::new();
    for token in tokens.by_ref() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                return (!krate.is_empty()).then(|| (krate, tokens.collect()));
            }
            _ => krate.extend([token]),
        }
    }
    None
}

/// The name must be a plain file name: the table lives directly in `OUT_DIR`.
fn validate(name: &str, literal: &LitStr) -> syn::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(syn::Error::new_spanned(
            literal,
            "the table file name must be a plain file name in OUT_DIR, \
             as given to `SourceEmbed::file_name`, such as \"other.bin\"",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn the_runtime_path_is_split_from_the_arguments() {
        let (krate, args) = split_runtime_path(quote!(::renamed; "a.bin")).unwrap();
        assert_eq!(krate.to_string(), ":: renamed");
        assert_eq!(args.to_string(), "\"a.bin\"");
        let (_, args) = split_runtime_path(quote!(x;)).unwrap();
        assert!(args.is_empty());
    }

    #[test]
    fn input_without_a_runtime_path_is_refused() {
        assert!(split_runtime_path(quote!("a.bin")).is_none());
        assert!(split_runtime_path(quote!(; "a.bin")).is_none());
    }
}
