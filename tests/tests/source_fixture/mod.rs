//! Fixture workspaces built with real `cargo build`s, for the source-context tests
//! (`source_rebuild`, `source_attribution`). All fixtures share one target dir under
//! `CARGO_TARGET_TMPDIR`, so watchpost and its dependencies are compiled once per profile and
//! reused between tests and runs; each fixture's own packages have distinct names, so their
//! binaries never overwrite each other's.

// Each test binary that declares this module uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."))
}

/// The target dir every fixture builds into.
pub(crate) fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("source-rebuild-target")
}

/// A dependency line's path to a crate of this repository, with `/` separators.
pub(crate) fn crate_path(name: &str) -> String {
    repo().join(name).display().to_string().replace('\\', "/")
}

/// Writes `contents` to `ws/rel`, creating directories.
pub(crate) fn write(ws: &Path, rel: &str, contents: &str) {
    let path = ws.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, contents).unwrap();
}

/// Copies the repository's lock file, which pins the same dependency versions, so builds reuse
/// them.
pub(crate) fn copy_lock(ws: &Path) {
    std::fs::copy(repo().join("Cargo.lock"), ws.join("Cargo.lock")).unwrap();
}

/// `cargo build -v <args>` in `ws` into the shared target dir; the output, successful or not.
pub(crate) fn cargo_build(ws: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(cargo)
        .arg("build")
        .arg("-v")
        .args(args)
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", shared_target())
        .env_remove("SENTRY_EMBED_SOURCES")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

/// Cargo's (or a program's) stderr as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The path of binary `name` built with `profile` (`debug`, `release`).
pub(crate) fn binary(profile: &str, name: &str) -> PathBuf {
    shared_target()
        .join(profile)
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
