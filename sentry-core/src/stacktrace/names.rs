//! Symbol names: the demangled function without its hash, and the module and crate it belongs to.
//!
//! Rust symbols come in two manglings (legacy `_ZN…17h<hash>E` and v0 `_R…`); both demangle with
//! `rustc_demangle`, whose alternate format (`{:#}`) leaves out the hash. The module is the path
//! without the function's own segment: `my_app::db::Pool::get` → `my_app::db::Pool`. Closure and shim
//! segments (`{{closure}}`, `{closure#0}`, `{shim:vtable#0}`) and generic arguments are skipped, and
//! for trait impls (`<my_app::Pool as core::ops::Drop>::drop`) the module is the implementing type's
//! path, so the frame lands in the crate that wrote the code.

/// A symbol name split into the parts Sentry shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionName {
    /// Demangled, without the hash suffix.
    pub(crate) function: String,
    /// The name as found in the binary, when it differs from `function`.
    pub(crate) raw_function: Option<String>,
    /// The path without the function's own segment.
    pub(crate) module: Option<String>,
    /// The crate: the first segment of `module`.
    pub(crate) package: Option<String>,
}

impl FunctionName {
    /// Demangles `raw` (a symbol from the binary or a name from debug info) and splits it.
    pub(crate) fn parse(raw: &str) -> Self {
        let function = match rustc_demangle::try_demangle(raw) {
            Ok(demangled) => format!("{demangled:#}"),
            // C symbols (`main`, `__libc_start_main`) and names already demangled in debug info.
            Err(_) => strip_hash_suffix(raw).to_owned(),
        };
        let raw_function = (function != raw).then(|| raw.to_owned());
        let module = module_path(&function);
        let package = module.as_deref().and_then(package_of);
        FunctionName {
            function,
            raw_function,
            module,
            package,
        }
    }
}

/// Removes a trailing `::h` + 16 hex digits, the legacy mangling's hash, if present.
fn strip_hash_suffix(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            path
        }
        _ => name,
    }
}

/// The module path of a demangled function, or `None` for a bare name such as `main`.
fn module_path(function: &str) -> Option<String> {
    let mut segments = split_path(function).into_iter();
    let first = segments.next()?;
    let mut parts: Vec<&str> = Vec::new();
    match first.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        Some(qualified) => parts.push(self_type_path(qualified)?),
        None => parts.push(strip_generics(first)),
    }
    // Closures, shims and `::<T>` turbofish segments are not part of the module path.
    parts.extend(
        segments
            .filter(|s| !s.starts_with('{') && !s.starts_with('<'))
            .map(strip_generics),
    );
    if parts.len() < 2 {
        return None;
    }
    parts.pop();
    Some(parts.join("::"))
}

/// The crate name: the first segment of a module path, when it is an identifier.
fn package_of(module: &str) -> Option<String> {
    let first = module.split("::").next()?;
    let is_ident = !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_ident.then(|| first.to_owned())
}

/// The path that names where a qualified segment's code lives: the type of
/// `T as Trait` / `impl Trait for T`, or the trait when `T` is not a path (`u32`, `[T]`, a tuple).
fn self_type_path(qualified: &str) -> Option<&str> {
    let qualified = qualified.trim();
    let (ty, tr) = if let Some(rest) = qualified.strip_prefix("impl ") {
        match find_top_level(rest, " for ") {
            Some(i) => (&rest[i + 5..], Some(&rest[..i])),
            None => (rest, None),
        }
    } else {
        match find_top_level(qualified, " as ") {
            Some(i) => (&qualified[..i], Some(&qualified[i + 4..])),
            None => (qualified, None),
        }
    };
    let ty = strip_generics(strip_type_decorations(ty));
    if is_path(ty) {
        return Some(ty);
    }
    tr.map(|t| strip_generics(strip_type_decorations(t)))
        .filter(|t| is_path(t))
}

/// `a::b`, not `u32`, `[T]`, `(A, B)` or `fn() -> a::B`.
fn is_path(s: &str) -> bool {
    s.contains("::")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `&mut my_app::X` → `my_app::X`; also `&`, raw pointers and `dyn`.
fn strip_type_decorations(mut ty: &str) -> &str {
    loop {
        let before = ty;
        for prefix in ["&", "mut ", "*const ", "*mut ", "dyn ", "'static "] {
            ty = ty.trim_start().strip_prefix(prefix).unwrap_or(ty);
        }
        if ty == before {
            return ty.trim();
        }
    }
}

/// `drop_in_place<my_app::X>` → `drop_in_place` (a leading `<` is left alone).
fn strip_generics(segment: &str) -> &str {
    match segment.find('<') {
        Some(i) if i > 0 => &segment[..i],
        _ => segment,
    }
}

/// Splits a path at the `::` separators that are not nested in `<>`, `()`, `[]` or `{}`.
fn split_path(path: &str) -> Vec<&str> {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            // `->` in a function pointer type is not a closing bracket.
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' | b'}' => depth -= 1,
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                out.push(&path[start..i]);
                i += 2;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&path[start..]);
    out
}

/// The byte offset of `pattern` in `s` outside any brackets.
fn find_top_level(s: &str, pattern: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0i32;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' | b'}' => depth -= 1,
            _ if depth == 0 && bytes[i..].starts_with(pattern.as_bytes()) => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(function: &str) -> (Option<String>, Option<String>) {
        let name = FunctionName::parse(function);
        (name.module, name.package)
    }

    fn pair(module: &str, package: &str) -> (Option<String>, Option<String>) {
        (Some(module.to_owned()), Some(package.to_owned()))
    }

    #[test]
    fn legacy_mangling_demangles_without_hash() {
        let name = FunctionName::parse("_ZN6my_app2db4Pool3get17h0123456789abcdefE");
        assert_eq!(name.function, "my_app::db::Pool::get");
        assert_eq!(
            name.raw_function.as_deref(),
            Some("_ZN6my_app2db4Pool3get17h0123456789abcdefE")
        );
        assert_eq!(name.module.as_deref(), Some("my_app::db::Pool"));
        assert_eq!(name.package.as_deref(), Some("my_app"));
    }

    #[test]
    fn v0_mangling_demangles_without_disambiguators() {
        let name = FunctionName::parse("_RNvCs1234_7mycrate3foo");
        assert_eq!(name.function, "mycrate::foo");
        assert_eq!(name.module.as_deref(), Some("mycrate"));
    }

    #[test]
    fn c_symbols_keep_their_name_and_have_no_module() {
        let name = FunctionName::parse("__libc_start_main");
        assert_eq!(name.function, "__libc_start_main");
        assert_eq!(
            (name.raw_function, name.module, name.package),
            (None, None, None)
        );
    }

    #[test]
    fn demangled_names_lose_a_hash_suffix() {
        let name = FunctionName::parse("my_app::run::h0123456789abcdef");
        assert_eq!(name.function, "my_app::run");
        assert_eq!(
            name.raw_function.as_deref(),
            Some("my_app::run::h0123456789abcdef")
        );
    }

    #[test]
    fn closures_are_skipped_in_the_module() {
        assert_eq!(split("my_app::main::{{closure}}"), pair("my_app", "my_app"));
        assert_eq!(
            split("my_app::server::run::{closure#0}::{closure#1}"),
            pair("my_app::server", "my_app")
        );
        assert_eq!(
            split("my_app::handler::{{closure}}::{{closure}}"),
            pair("my_app", "my_app")
        );
    }

    #[test]
    fn trait_impls_use_the_implementing_type() {
        assert_eq!(
            split("<my_app::db::Pool as core::ops::drop::Drop>::drop"),
            pair("my_app::db::Pool", "my_app")
        );
        assert_eq!(
            split("<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once"),
            pair("alloc::boxed::Box", "alloc")
        );
        assert_eq!(
            split("<&mut my_app::Writer<u8> as std::io::Write>::write::{{closure}}"),
            pair("my_app::Writer", "my_app")
        );
        assert_eq!(
            split("<my_app::db::Pool>::get"),
            pair("my_app::db::Pool", "my_app")
        );
        assert_eq!(
            split("<impl my_app::Render for my_app::Page>::render"),
            pair("my_app::Page", "my_app")
        );
    }

    #[test]
    fn trait_impls_for_primitives_use_the_trait() {
        assert_eq!(
            split("<u32 as my_app::Score>::score"),
            pair("my_app::Score", "my_app")
        );
        assert_eq!(
            split("<[T] as my_app::Sum>::sum"),
            pair("my_app::Sum", "my_app")
        );
    }

    #[test]
    fn generic_arguments_are_skipped_in_the_module() {
        assert_eq!(
            split("core::ptr::drop_in_place<my_app::Foo>"),
            pair("core::ptr", "core")
        );
        assert_eq!(
            split("core::ptr::drop_in_place::<my_app::Foo>"),
            pair("core::ptr", "core")
        );
        assert_eq!(
            split("core::num::<impl u32>::checked_add"),
            pair("core::num", "core")
        );
        assert_eq!(
            split("my_app::apply<fn() -> u8>::inner"),
            pair("my_app::apply", "my_app")
        );
    }

    #[test]
    fn bare_names_have_no_module() {
        assert_eq!(split("main"), (None, None));
        assert_eq!(split("<u32>::checked_add"), (None, None));
    }
}
