//! Deciding which frames belong to the application (`in_app`).
//!
//! Sentry groups and highlights by in-app frames, so third-party code must not count. The rules,
//! first match wins:
//! 1. the frame's crate or module is in the user's allow list (`my_app`, `my_app::db`) → in app;
//! 2. its file is in a registry or git checkout, or in the toolchain → not in app;
//! 3. its crate is the standard library or this SDK → not in app;
//! 4. it has a file (so it was built from the application's own sources) → in app;
//! 5. no file at all (no debug info) → not in app.
//!
//! These rules are the fallback. A frame of a package embedded in the source table is in app
//! whatever they say, with the package and module prefix the table records for it (see
//! `source_context::attribute`): that covers `debug = false` builds, whose frames have no file,
//! and members whose directory is named like a standard-library crate (`crates/core`).

use super::paths;
use crate::event::Frame;

/// Crates that are never the application, wherever their sources live.
const NOT_APP_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "panic_unwind",
    "panic_abort",
    "backtrace",
    "rustc_demangle",
    "addr2line",
    "gimli",
    "watchpost",
    "sentry",
];

/// Whether `frame` is application code, given the allow list of crate names or module prefixes.
pub(crate) fn is_in_app(frame: &Frame, allow: &[String]) -> bool {
    if allow.iter().any(|entry| is_allowed(frame, entry)) {
        return true;
    }
    let Some(path) = frame.abs_path.as_deref().or(frame.filename.as_deref()) else {
        return false;
    };
    if paths::is_dependency(path) || paths::is_toolchain(path) {
        return false;
    }
    !frame
        .package
        .as_deref()
        .is_some_and(|package| NOT_APP_CRATES.contains(&package))
}

/// True when the frame's crate is `entry` or its module/function path starts with `entry::`.
/// Entries may use the package spelling (`my-app`).
fn is_allowed(frame: &Frame, entry: &str) -> bool {
    let entry = entry.trim().trim_end_matches("::").replace('-', "_");
    if entry.is_empty() {
        return false;
    }
    let under = |path: &Option<String>| {
        path.as_deref().is_some_and(|p| {
            p == entry || (p.starts_with(entry.as_str()) && p[entry.len()..].starts_with("::"))
        })
    };
    frame.package.as_deref() == Some(entry.as_str())
        || under(&frame.module)
        || under(&frame.function)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(package: Option<&str>, module: Option<&str>, abs_path: Option<&str>) -> Frame {
        Frame {
            package: package.map(str::to_owned),
            module: module.map(str::to_owned),
            abs_path: abs_path.map(str::to_owned),
            ..Frame::default()
        }
    }

    #[test]
    fn workspace_files_are_in_app() {
        let f = frame(
            Some("my_app"),
            Some("my_app::db"),
            Some("/home/u/proj/src/db.rs"),
        );
        assert!(is_in_app(&f, &[]));
    }

    #[test]
    fn registry_and_git_frames_are_not_in_app() {
        let registry = "/home/u/.cargo/registry/src/index.crates.io-1/tokio-1.40.0/src/lib.rs";
        assert!(!is_in_app(
            &frame(Some("tokio"), Some("tokio"), Some(registry)),
            &[]
        ));
        let git = "/home/u/.cargo/git/checkouts/repo-1/abc/src/lib.rs";
        assert!(!is_in_app(&frame(Some("dep"), Some("dep"), Some(git)), &[]));
    }

    #[test]
    fn std_and_sdk_frames_are_not_in_app() {
        let std = "/rustc/90b35a6239c3d8bd/library/std/src/rt.rs";
        assert!(!is_in_app(
            &frame(Some("std"), Some("std::rt"), Some(std)),
            &[]
        ));
        // A path dependency on the SDK has a "local" path but is still not the application.
        let sdk = "/home/u/sentry/sentry-core/src/lib.rs";
        assert!(!is_in_app(
            &frame(Some("watchpost"), Some("watchpost"), Some(sdk)),
            &[]
        ));
    }

    #[test]
    fn frames_without_files_are_in_app_only_when_allowed() {
        let f = frame(Some("my_app"), Some("my_app::db"), None);
        assert!(!is_in_app(&f, &[]));
        assert!(is_in_app(&f, &["my-app".to_owned()]));
        assert!(is_in_app(&f, &["my_app::db".to_owned()]));
        assert!(!is_in_app(&f, &["my_app::dbx".to_owned(), "my".to_owned()]));
    }

    #[test]
    fn the_allow_list_overrides_the_path_rules() {
        let registry = "/home/u/.cargo/registry/src/index.crates.io-1/mylib-1.0.0/src/lib.rs";
        let f = frame(Some("mylib"), Some("mylib"), Some(registry));
        assert!(is_in_app(&f, &["mylib".to_owned()]));
    }

    #[test]
    fn relative_location_paths_are_in_app() {
        let f = Frame {
            filename: Some("crates/x/src/lib.rs".to_owned()),
            ..Frame::default()
        };
        assert!(is_in_app(&f, &[]));
    }
}
