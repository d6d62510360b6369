//! Source paths: where a file comes from (dependency, toolchain, the application) and the short
//! `filename` shown for it.
//!
//! Debug info gives absolute paths (`/home/u/proj/crates/x/src/lib.rs`), while
//! [`std::panic::Location`] gives paths as Cargo passed them to rustc: relative to the workspace root
//! for workspace crates (`crates/x/src/lib.rs`). `filename` is made, in order of preference:
//! 1. relative to the workspace root, once it is known (learned by matching a `Location` against a
//!    resolved frame, see [`super::anchor`]);
//! 2. for registry and git dependencies, from the crate's directory (`tokio-1.40.0/src/lib.rs`);
//! 3. for the toolchain, from `library/` (`library/core/src/result.rs`);
//! 4. otherwise from the directory above the last `src/` (`x/src/lib.rs`);
//! 5. otherwise the path as it is.
//!
//! The embedded source table rewrites `filename` again when it knows the file.

use std::borrow::Cow;

/// Registry and git checkouts: code of dependencies.
const DEPENDENCY_MARKERS: &[&str] = &[
    "/.cargo/registry/",
    "/cargo/registry/",
    "/.cargo/git/",
    "/cargo/git/",
];

/// The standard library, from the official toolchains (`/rustc/<hash>/`) or a rustup install.
const TOOLCHAIN_MARKERS: &[&str] = &[
    "/.rustup/toolchains/",
    "/lib/rustlib/src/rust/",
    "/library/std/src/",
    "/library/core/src/",
    "/library/alloc/src/",
    "/library/panic_unwind/src/",
    "/library/proc_macro/src/",
    "/library/test/src/",
];

/// `path` with `\` turned into `/`, so Windows paths match the same rules.
pub(crate) fn normalize(path: &str) -> Cow<'_, str> {
    if path.contains('\\') {
        Cow::Owned(path.replace('\\', "/"))
    } else {
        Cow::Borrowed(path)
    }
}

/// True for files of registry or git dependencies.
pub(crate) fn is_dependency(path: &str) -> bool {
    let path = normalize(path);
    DEPENDENCY_MARKERS.iter().any(|m| path.contains(m))
}

/// True for files of the Rust toolchain (std, core, alloc, …).
pub(crate) fn is_toolchain(path: &str) -> bool {
    let path = normalize(path);
    path.starts_with("/rustc/") || TOOLCHAIN_MARKERS.iter().any(|m| path.contains(m))
}

/// True for `/…`, `\\…` and `C:\…` paths.
pub(crate) fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('\\')
        || (bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// True when `full` ends with the path `suffix` at a component boundary.
pub(crate) fn ends_with_path(full: &str, suffix: &str) -> bool {
    let (full, suffix) = (normalize(full), normalize(suffix));
    match full.strip_suffix(suffix.as_ref()) {
        Some(prefix) => !suffix.is_empty() && (prefix.is_empty() || prefix.ends_with('/')),
        None => false,
    }
}

/// The short, relative name of an absolute source path (see the module docs for the rules).
pub(crate) fn display_filename(abs_path: &str, workspace_root: Option<&str>) -> String {
    let path = normalize(abs_path);
    if let Some(rest) = workspace_root.and_then(|root| strip_dir(&path, &normalize(root))) {
        return rest.to_owned();
    }
    if let Some(rest) = after_marker(&path, "/registry/src/", 1) {
        return rest.to_owned();
    }
    if let Some(rest) = after_marker(&path, "/git/checkouts/", 2) {
        return rest.to_owned();
    }
    if is_toolchain(&path) {
        if let Some(i) = path.find("/library/") {
            return path[i + 1..].to_owned();
        }
    }
    if let Some(i) = path.rfind("/src/") {
        // Keep the crate directory: `…/crates/x/src/lib.rs` → `x/src/lib.rs`.
        let start = path[..i].rfind('/').map_or(0, |j| j + 1);
        return path[start..].to_owned();
    }
    path.into_owned()
}

/// Where this crate's sources were when it was built (its frames' `abs_path`s start with it).
const OWN_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
/// This crate's name in paths and modules.
const OWN_PACKAGE: &str = "watchpost";

/// The crate and module a source file belongs to, guessed from its path: for code built with
/// `debug = "line-tables-only"` debug info names functions without their path (`get`, not
/// `my_app::db::Pool::get`), and the frame still needs a crate to be trimmed and classified.
///
/// The crate is the directory above `src/` (`tokio-1.40.0` → `tokio`, `my-app` → `my_app`), or the
/// library's name in the toolchain (`library/core/src/` → `core`); the module follows the file's
/// path below `src/` (`src/db/mod.rs` → `my_app::db`). `None` when there is no `src/` directory.
///
/// A guess: a frame whose file is in the embedded source table gets the package Cargo knows it
/// by instead (`crates/core` holding package `mylib` is `mylib`, not `core`).
pub(crate) fn crate_and_module(abs_path: &str) -> Option<(String, String)> {
    let path = normalize(abs_path);
    if let Some(file) = path
        .strip_prefix(OWN_SRC)
        .and_then(|f| f.strip_suffix(".rs"))
    {
        // This SDK's own files, whatever its directory is called (a git checkout of its
        // repository has it in `sentry-core/`): always trimmed as the SDK's.
        let mut module = OWN_PACKAGE.to_owned();
        push_module_path(&mut module, file);
        return Some((OWN_PACKAGE.to_owned(), module));
    }
    let src = path.rfind("/src/")?;
    let dir = &path[path[..src].rfind('/').map_or(0, |i| i + 1)..src];
    let package = strip_version(dir).replace('-', "_");
    if package.is_empty()
        || !package
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let file = path[src + 5..].strip_suffix(".rs")?;
    let mut module = package.clone();
    push_module_path(&mut module, file);
    Some((package, module))
}

/// Appends the module path of `file` (a path under `src/`, without `.rs`) to `module`:
/// `db/pool` → `::db::pool`; `lib`, `main` and `mod` files name their directory's module.
pub(crate) fn push_module_path(module: &mut String, file: &str) {
    let segments: Vec<&str> = file.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let crate_root = i == 0 && matches!(*segment, "lib" | "main");
        if last && (*segment == "mod" || crate_root) {
            break;
        }
        module.push_str("::");
        module.push_str(segment);
    }
}

/// `tokio-1.40.0` → `tokio`: cuts at the last `-` that a digit follows.
fn strip_version(dir: &str) -> &str {
    let bytes = dir.as_bytes();
    (1..bytes.len())
        .rev()
        .find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())
        .map_or(dir, |i| &dir[..i - 1])
}

/// `path` below `dir`, when `dir` is one of its ancestors.
fn strip_dir<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir)?
        .strip_prefix('/')
        .filter(|rest| !rest.is_empty())
}

/// The part of `path` after `marker` and `skip` more directories (index or checkout names).
fn after_marker<'p>(path: &'p str, marker: &str, skip: usize) -> Option<&'p str> {
    let mut rest = &path[path.find(marker)? + marker.len()..];
    for _ in 0..skip {
        rest = &rest[rest.find('/')? + 1..];
    }
    Some(rest).filter(|r| !r.is_empty())
}

/// `path` made absolute against `cwd` when it is relative (the standard library's backtrace
/// prints paths under the working directory as `./src/main.rs`); `None` when it is absolute.
pub(crate) fn absolute_from_cwd(path: &str, cwd: &std::path::Path) -> Option<String> {
    let p = std::path::Path::new(path);
    if p.is_absolute() || path.starts_with('<') || path.is_empty() {
        return None;
    }
    let relative = path.strip_prefix("./").unwrap_or(path);
    Some(cwd.join(relative).to_string_lossy().replace('\\', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str =
        "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.40.0/src/runtime/mod.rs";

    #[test]
    fn registry_and_git_paths_are_dependencies() {
        assert!(is_dependency(REGISTRY));
        assert!(is_dependency(
            "/usr/local/cargo/registry/src/x/serde-1.0.0/src/lib.rs"
        ));
        assert!(is_dependency(
            "/home/u/.cargo/git/checkouts/repo-abc/1a2b3c4/src/lib.rs"
        ));
        assert!(is_dependency(
            r"C:\Users\u\.cargo\registry\src\x\log-0.4.0\src\lib.rs"
        ));
        assert!(!is_dependency("/home/u/proj/src/main.rs"));
    }

    #[test]
    fn toolchain_paths_are_recognized() {
        assert!(is_toolchain(
            "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/result.rs"
        ));
        assert!(is_toolchain(
            "/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/std/src/rt.rs"
        ));
        assert!(!is_toolchain("/home/u/proj/src/library/mod.rs"));
        assert!(!is_toolchain("src/main.rs"));
    }

    #[test]
    fn path_suffixes_match_whole_components() {
        assert!(ends_with_path(
            "/home/u/proj/crates/x/src/lib.rs",
            "crates/x/src/lib.rs"
        ));
        assert!(ends_with_path(
            "/home/u/proj/src/lib.rs",
            "/home/u/proj/src/lib.rs"
        ));
        assert!(ends_with_path(r"C:\proj\src\lib.rs", r"src\lib.rs"));
        assert!(!ends_with_path("/home/u/proj/mysrc/lib.rs", "src/lib.rs"));
        assert!(!ends_with_path("/home/u/proj/src/lib.rs", ""));
    }

    #[test]
    fn filenames_are_relative_to_a_known_workspace_root() {
        let abs = "/home/u/proj/crates/x/src/lib.rs";
        assert_eq!(
            display_filename(abs, Some("/home/u/proj")),
            "crates/x/src/lib.rs"
        );
        assert_eq!(
            display_filename(abs, Some("/home/u/proj/")),
            "crates/x/src/lib.rs"
        );
        assert_eq!(display_filename(abs, Some("/elsewhere")), "x/src/lib.rs");
        assert_eq!(display_filename(abs, None), "x/src/lib.rs");
    }

    #[test]
    fn dependency_and_toolchain_filenames_start_at_the_crate() {
        assert_eq!(
            display_filename(REGISTRY, None),
            "tokio-1.40.0/src/runtime/mod.rs"
        );
        assert_eq!(
            display_filename(
                "/home/u/.cargo/git/checkouts/repo-abc/1a2b3c4/sub/src/lib.rs",
                None
            ),
            "sub/src/lib.rs"
        );
        assert_eq!(
            display_filename("/rustc/90b35a6239c3d8bd/library/core/src/result.rs", None),
            "library/core/src/result.rs"
        );
    }

    fn crate_of(path: &str) -> Option<(String, String)> {
        crate_and_module(path)
    }

    fn pair(package: &str, module: &str) -> Option<(String, String)> {
        Some((package.to_owned(), module.to_owned()))
    }

    #[test]
    fn crates_and_modules_are_guessed_from_paths() {
        assert_eq!(crate_of(REGISTRY), pair("tokio", "tokio::runtime"));
        assert_eq!(
            crate_of("/p/crates/my-app/src/main.rs"),
            pair("my_app", "my_app")
        );
        assert_eq!(
            crate_of("/p/my_app/src/db/pool.rs"),
            pair("my_app", "my_app::db::pool")
        );
        assert_eq!(crate_of("/p/x/src/bin/tool.rs"), pair("x", "x::bin::tool"));
        assert_eq!(
            crate_of("/rustc/abc/library/core/src/ops/function.rs"),
            pair("core", "core::ops::function")
        );
        assert_eq!(
            crate_of("/r/registry/src/i-1/x-y-1.0.0-beta.1/src/lib.rs"),
            pair("x_y", "x_y")
        );
        assert_eq!(crate_of("/p/target/debug/build/x-1/out/gen.rs"), None);
        assert_eq!(crate_of("/p/x/src/weird.txt"), None);
    }

    #[test]
    fn this_sdks_own_files_are_its_own_whatever_their_directory() {
        let own = format!("{OWN_SRC}stacktrace/raw.rs");
        assert!(own.contains("/src/stacktrace/raw.rs"));
        assert_eq!(
            crate_of(&own),
            pair("watchpost", "watchpost::stacktrace::raw")
        );
        assert_eq!(
            crate_of(&format!("{OWN_SRC}lib.rs")),
            pair("watchpost", "watchpost")
        );
    }

    #[test]
    fn other_paths_are_kept() {
        assert_eq!(
            display_filename("/opt/build/gen.rs", None),
            "/opt/build/gen.rs"
        );
        assert!(is_absolute("/a") && is_absolute(r"C:\a") && !is_absolute("src/a.rs"));
    }

    #[test]
    fn relative_paths_are_made_absolute_against_the_working_directory() {
        let cwd = std::path::Path::new("/srv/app");
        assert_eq!(
            absolute_from_cwd("./svc/src/main.rs", cwd).as_deref(),
            Some("/srv/app/svc/src/main.rs")
        );
        assert_eq!(
            absolute_from_cwd("src/lib.rs", cwd).as_deref(),
            Some("/srv/app/src/lib.rs")
        );
        assert_eq!(
            absolute_from_cwd("/rustc/abc/library/std/src/rt.rs", cwd),
            None
        );
        assert_eq!(absolute_from_cwd("<unknown>", cwd), None);
    }
}
