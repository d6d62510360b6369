//! Matching a frame's path to a table key.
//!
//! Keys are workspace-relative with `/` separators (`crates/x/src/lib.rs`), or absolute for roots
//! outside the workspace. A frame's path comes in several shapes, tried in this order:
//! 1. exactly a key: what `std::panic::Location` gives for workspace crates;
//! 2. the recorded workspace root followed by a key: absolute paths from debug info;
//! 3. a key that is a suffix of the path, on whole components, or (for a relative path) the path
//!    being a suffix of a key: checkouts moved since the build, `--remap-path-prefix`, and the
//!    shortened `filename`s of the stack trace module. The longest match wins; a tie matches
//!    nothing, since guessing would show the wrong file.
//!
//! Windows separators are turned into `/` first. Suffix matching is never tried for toolchain
//! (`/rustc/…`) or dependency (`~/.cargo/registry/…`) paths, which end in `src/lib.rs` too.

use super::table::Table;
use std::borrow::Cow;

/// Paths of the toolchain and of registry or git dependencies: never guessed at.
const FOREIGN_MARKERS: &[&str] = &[
    "/.cargo/registry/",
    "/cargo/registry/",
    "/.cargo/git/",
    "/cargo/git/",
    "/.rustup/toolchains/",
    "/lib/rustlib/src/",
];

/// `/` separators, no `\\?\` verbatim prefix, no leading `./`.
pub(crate) fn normalize(path: &str) -> Cow<'_, str> {
    let path = path.strip_prefix(r"\\?\").unwrap_or(path);
    let path = path.strip_prefix("./").unwrap_or(path);
    if path.contains('\\') {
        let slashed = path.replace('\\', "/");
        match slashed.strip_prefix("./") {
            Some(rest) => Cow::Owned(rest.to_owned()),
            None => Cow::Owned(slashed),
        }
    } else {
        Cow::Borrowed(path)
    }
}

/// True for toolchain and dependency paths.
pub(crate) fn is_foreign(path: &str) -> bool {
    path.starts_with("/rustc/") || FOREIGN_MARKERS.iter().any(|m| path.contains(m))
}

/// The key index for a path that is a key, or the workspace root followed by a key.
pub(crate) fn exact(table: &Table, path: &str) -> Option<usize> {
    match table.root().and_then(|root| strip_root(path, root)) {
        Some(rest) => table.find(rest),
        None => table.find(path),
    }
}

/// `path` without the leading `root/`. Drive letters compare case-insensitively (`C:` vs `c:`).
fn strip_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let root = root.trim_end_matches('/');
    let head = path.get(..root.len())?;
    let same = if root.as_bytes().get(1) == Some(&b':') {
        head.eq_ignore_ascii_case(root)
    } else {
        head == root
    };
    let rest = path[root.len()..].strip_prefix('/')?;
    same.then_some(rest)
}

/// The key that shares the longest run of trailing components with `path` (see the module docs).
pub(crate) fn by_suffix(table: &Table, path: &str) -> Option<usize> {
    let path_len = path.split('/').count();
    let relative = !is_absolute(path);
    let mut best: Option<(usize, usize)> = None;
    let mut tied = false;
    for i in 0..table.len() {
        let Some(key) = table.path(i) else { continue };
        let common = key
            .rsplit('/')
            .zip(path.rsplit('/'))
            .take_while(|(a, b)| a == b)
            .count();
        let key_len = key.split('/').count();
        let whole = common == key_len || (relative && common == path_len);
        if !whole || common < key_len.min(2) {
            continue;
        }
        match best {
            Some((_, score)) if score > common => {}
            Some((_, score)) if score == common => tied = true,
            _ => {
                best = Some((i, common));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(i, _)| i)
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/') || (bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}
