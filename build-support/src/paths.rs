//! Path helpers: the workspace root, lexical normalization and table keys.
//!
//! Nothing here canonicalizes: on Windows that yields `\\?\` paths, which break
//! `concat!(env!("OUT_DIR"), ...)` and never match what rustc records.

use std::path::{Component, Path, PathBuf};

/// The workspace root Cargo runs rustc from, so `Location::file()` is relative to it.
///
/// Cargo gives build scripts no workspace root, so this does what Cargo does: walk up from the
/// manifest dir to the nearest `Cargo.toml` with a `[workspace]` table. A package outside any
/// workspace is its own root.
pub(crate) fn workspace_root(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .ancestors()
        .find(|dir| declares_workspace(&dir.join("Cargo.toml")))
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

fn declares_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|text| {
        text.lines()
            .map(str::trim_start)
            .any(|line| line.starts_with("[workspace]") || line.starts_with("[workspace."))
    })
}

/// Resolves `.` and `..` without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The path as a string with `/` separators (Windows `C:\a\b` becomes `C:/a/b`).
pub(crate) fn to_slash(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        let part = component.as_os_str().to_string_lossy();
        match component {
            Component::Prefix(_) => out.push_str(&part),
            Component::RootDir => out.push('/'),
            _ => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&part);
            }
        }
    }
    out
}

/// The table key of `file`: relative to the workspace root when inside it, absolute otherwise.
pub(crate) fn table_key(file: &Path, workspace_root: &Path) -> String {
    match file.strip_prefix(workspace_root) {
        Ok(relative) => to_slash(relative),
        Err(_) => to_slash(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(
            normalize(Path::new("/ws/crate/./../shared/src")),
            PathBuf::from("/ws/shared/src")
        );
    }

    #[test]
    fn keys_are_workspace_relative_inside_and_absolute_outside() {
        let ws = Path::new("/ws");
        assert_eq!(
            table_key(Path::new("/ws/crates/x/src/lib.rs"), ws),
            "crates/x/src/lib.rs"
        );
        assert_eq!(
            table_key(Path::new("/elsewhere/src/lib.rs"), ws),
            "/elsewhere/src/lib.rs"
        );
    }

    #[test]
    fn workspace_root_is_the_nearest_manifest_with_a_workspace_table() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("crates/x");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/x\"]\n",
        )
        .unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname = \"x\"\nversion.workspace = true\n",
        )
        .unwrap();
        assert_eq!(workspace_root(&member), dir.path());
    }

    #[test]
    fn package_outside_a_workspace_is_its_own_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        assert_eq!(workspace_root(dir.path()), dir.path());
    }
}
