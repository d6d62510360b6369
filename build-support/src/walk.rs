//! Walking a source root: which files to embed and which paths Cargo must watch.
//!
//! A watched directory is scanned recursively by Cargo, which notices edits, additions and
//! deletions. A directory that holds a build output (`target/`) or churning files (`.git/`) would
//! make every build dirty, so such directories are never watched: their parent is replaced by its
//! clean children and its matching files.

use crate::Error;
use regex::Regex;
use std::path::{Path, PathBuf};

/// The exclude patterns used unless [`SourceEmbed::default_excludes`](crate::SourceEmbed) turns
/// them off: build output, VCS metadata and vendored or registry code.
pub(crate) const DEFAULT_EXCLUDES: &[&str] = &[
    r"(^|/)target/",
    r"(^|/)\.git/",
    r"(^|/)\.cargo/",
    r"(^|/)vendor/",
];

/// The compiled `source_code_path_pattern` and `source_code_exclude_patterns`.
#[derive(Debug)]
pub(crate) struct Filters {
    pattern: glob::Pattern,
    excludes: Vec<Regex>,
}

impl Filters {
    pub(crate) fn new<'a>(
        pattern: &str,
        excludes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        let pattern = glob::Pattern::new(pattern).map_err(|source| Error::InvalidPattern {
            pattern: pattern.to_owned(),
            source,
        })?;
        let excludes = excludes
            .into_iter()
            .map(|p| {
                Regex::new(p).map_err(|source| Error::InvalidExclude {
                    pattern: p.to_owned(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Filters { pattern, excludes })
    }

    /// Whether `rel` (relative to its root, `/` separators, directories ending in `/`) is excluded.
    pub(crate) fn excluded(&self, rel: &str) -> bool {
        self.excludes.iter().any(|re| re.is_match(rel))
    }

    /// Whether the file `rel` is wanted: matches the glob and no exclude pattern.
    pub(crate) fn wants(&self, rel: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.pattern.matches_with(rel, options) && !self.excluded(rel)
    }
}

/// What one root holds.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Files to embed with their sizes, in a stable (sorted) order.
    pub(crate) files: Vec<(PathBuf, u64)>,
    /// Paths for `cargo:rerun-if-changed`, all existing.
    pub(crate) watch: Vec<PathBuf>,
    /// Problems worth a build warning (unreadable directories).
    pub(crate) warnings: Vec<String>,
}

/// Walks `root` (an existing directory). `out_dir` marks the build output to stay out of.
pub(crate) fn scan_root(root: &Path, filters: &Filters, out_dir: &Path) -> Scan {
    let mut scan = Scan::default();
    let walker = Walker { filters, out_dir };
    match walker.dir(root, "", &mut scan) {
        Clean::Yes => scan.watch = vec![root.to_path_buf()],
        Clean::No(watch) => scan.watch = watch,
    }
    scan
}

/// Whether a directory can be watched whole, or else the paths that cover it.
enum Clean {
    Yes,
    No(Vec<PathBuf>),
}

struct Walker<'a> {
    filters: &'a Filters,
    out_dir: &'a Path,
}

impl Walker<'_> {
    fn dir(&self, dir: &Path, rel: &str, scan: &mut Scan) -> Clean {
        let mut entries =
            match std::fs::read_dir(dir).and_then(|it| it.collect::<Result<Vec<_>, _>>()) {
                Ok(entries) => entries,
                Err(e) => {
                    scan.warnings
                        .push(format!("cannot read directory {}: {e}", dir.display()));
                    return Clean::No(Vec::new());
                }
            };
        entries.sort_by_key(|e| e.file_name());

        let mut clean = true;
        let mut clean_dirs = Vec::new();
        let mut partial = Vec::new();
        let mut own_files = Vec::new();
        for entry in entries {
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // Not UTF-8: cannot be a Rust module path anyway.
            };
            let child_rel = format!("{rel}{name}");
            // Follows symlinks to files; directory symlinks are not descended into (no loops).
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let Ok(meta) = std::fs::metadata(&path) else {
                continue; // Dangling symlink or vanished meanwhile.
            };
            if meta.is_dir() {
                if is_link {
                    continue;
                }
                if self.is_build_output(&path) || self.filters.excluded(&format!("{child_rel}/")) {
                    clean = false;
                    continue;
                }
                match self.dir(&path, &format!("{child_rel}/"), scan) {
                    Clean::Yes => clean_dirs.push(path),
                    Clean::No(watch) => {
                        clean = false;
                        partial.extend(watch);
                    }
                }
            } else if meta.is_file() && self.filters.wants(&child_rel) {
                scan.files.push((path.clone(), meta.len()));
                own_files.push(path);
            }
        }
        if clean {
            Clean::Yes
        } else {
            clean_dirs.extend(partial);
            clean_dirs.extend(own_files);
            Clean::No(clean_dirs)
        }
    }

    fn is_build_output(&self, dir: &Path) -> bool {
        self.out_dir.starts_with(dir) || dir.join("CACHEDIR.TAG").is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "fn x() {}\n").unwrap();
        }
        dir
    }

    fn rel(root: &Path, paths: impl IntoIterator<Item = PathBuf>) -> Vec<String> {
        paths
            .into_iter()
            .map(|p| crate::paths::to_slash(p.strip_prefix(root).unwrap()))
            .collect()
    }

    fn defaults() -> Filters {
        Filters::new("**/*.rs", DEFAULT_EXCLUDES.iter().copied()).unwrap()
    }

    #[test]
    fn glob_matches_files_at_any_depth() {
        let dir = tree(&["lib.rs", "a/b/c.rs", "notes.md"]);
        let scan = scan_root(dir.path(), &defaults(), Path::new("/nowhere"));
        let files = rel(dir.path(), scan.files.into_iter().map(|f| f.0));
        assert_eq!(files, ["a/b/c.rs", "lib.rs"]);
    }

    #[test]
    fn clean_root_is_watched_whole() {
        let dir = tree(&["lib.rs", "a/b.rs"]);
        let scan = scan_root(dir.path(), &defaults(), Path::new("/nowhere"));
        assert_eq!(scan.watch, [dir.path().to_path_buf()]);
    }

    #[test]
    fn excluded_secret_file_is_not_embedded() {
        let dir = tree(&["lib.rs", "secret_keys.rs", "config/secret.rs"]);
        let excludes = DEFAULT_EXCLUDES.iter().copied().chain(["secret"]);
        let filters = Filters::new("**/*.rs", excludes).unwrap();
        let scan = scan_root(dir.path(), &filters, Path::new("/nowhere"));
        let files = rel(dir.path(), scan.files.into_iter().map(|f| f.0));
        assert_eq!(files, ["lib.rs"]);
    }

    #[test]
    fn target_and_git_are_skipped_and_their_parent_not_watched() {
        let dir = tree(&[
            "src/lib.rs",
            "target/debug/gen.rs",
            ".git/hooks/x.rs",
            "top.rs",
        ]);
        let scan = scan_root(dir.path(), &defaults(), Path::new("/nowhere"));
        let files = rel(dir.path(), scan.files.into_iter().map(|f| f.0));
        assert_eq!(files, ["src/lib.rs", "top.rs"]);
        assert_eq!(rel(dir.path(), scan.watch), ["src", "top.rs"]);
    }

    #[test]
    fn the_build_output_dir_is_never_entered() {
        let dir = tree(&["src/lib.rs", "out/build/x/out/gen.rs"]);
        let out_dir = dir.path().join("out/build/x/out");
        let scan = scan_root(dir.path(), &defaults(), &out_dir);
        let files = rel(dir.path(), scan.files.into_iter().map(|f| f.0));
        assert_eq!(files, ["src/lib.rs"]);
        assert_eq!(rel(dir.path(), scan.watch), ["src"]);
    }

    #[test]
    fn narrower_glob_limits_the_files() {
        let dir = tree(&["lib.rs", "bin/main.rs"]);
        let filters = Filters::new("*.rs", DEFAULT_EXCLUDES.iter().copied()).unwrap();
        let scan = scan_root(dir.path(), &filters, Path::new("/nowhere"));
        let files = rel(dir.path(), scan.files.into_iter().map(|f| f.0));
        assert_eq!(files, ["lib.rs"]);
    }

    #[test]
    fn invalid_glob_and_regex_name_their_option() {
        let err = Filters::new("a/**b", []).unwrap_err().to_string();
        assert!(err.contains("source_code_path_pattern"), "{err}");
        let err = Filters::new("**/*.rs", ["("]).unwrap_err().to_string();
        assert!(err.contains("source_code_exclude_patterns"), "{err}");
    }
}
