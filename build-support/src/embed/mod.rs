//! [`SourceEmbed`]: the options, and the run that walks, embeds and prints Cargo's lines.

use crate::cache::{self, ChunkCache};
use crate::format::{TableWriter, DEFAULT_LEVEL};
use crate::paths::{table_key, to_slash, workspace_root};
use crate::walk::{scan_root, Filters, DEFAULT_EXCLUDES};
use crate::{lockfile, Error};
use std::io::Write;
use std::path::{Path, PathBuf};

mod env;
mod report;
mod roots;

pub(crate) use env::BuildEnv;
use report::{CargoLines, Skipped};
use roots::Plan;

/// The environment variable that turns embedding off: `0`, `false`, `no` or `off`.
pub const ENV_SWITCH: &str = "SENTRY_EMBED_SOURCES";
/// The table's file name in `OUT_DIR` unless [`SourceEmbed::file_name`] says otherwise; the one
/// `embed_sources!()` reads.
pub const DEFAULT_FILE_NAME: &str = "sentry_sources.bin";

/// What to embed, configured in `build.rs`, then [`embed`](SourceEmbed::embed)ded.
///
/// # Which files
///
/// The roots are the crate's own `src` plus every [`root`](Self::root) added; with
/// [`workspace`](Self::workspace), the `src` of every workspace member too. Only
/// [`no_default_root`](Self::no_default_root) leaves the crate's `src` out, and the build then
/// warns unless an added root covers it. Each embedded file is recorded with the package it
/// belongs to, so frames of its code are attributed to that package exactly.
///
/// ```no_run
/// // build.rs of a crate that uses a library of the same workspace
/// fn main() {
///     watchpost_build::SourceEmbed::new()
///         .root("../lib/src")
///         .exclude(r"(^|/)secrets?/")
///         .max_total_bytes(8 << 20)
///         .embed();
/// }
/// ```
///
/// # Warnings and errors
///
/// The build warns (`cargo:warning`) when a root holds no file that the pattern and excludes let
/// through, when the crate's own `src` ends up not embedded, and when files are skipped (size
/// caps, not UTF-8). A configuration error (a missing root, an invalid pattern) fails the build
/// script with one message that names the option.
#[derive(Debug, Clone)]
#[must_use]
pub struct SourceEmbed {
    roots: Vec<PathBuf>,
    default_root: bool,
    workspace: bool,
    pattern: String,
    excludes: Vec<String>,
    default_excludes: bool,
    max_file_bytes: u64,
    max_total_bytes: u64,
    report_deps: bool,
    enabled: bool,
    file_name: String,
    level: u8,
}

impl Default for SourceEmbed {
    fn default() -> Self {
        SourceEmbed {
            roots: Vec::new(),
            default_root: true,
            workspace: false,
            pattern: "**/*.rs".to_owned(),
            excludes: Vec::new(),
            default_excludes: true,
            max_file_bytes: 1 << 20,
            max_total_bytes: 16 << 20,
            report_deps: true,
            enabled: true,
            file_name: DEFAULT_FILE_NAME.to_owned(),
            level: DEFAULT_LEVEL,
        }
    }
}

/// What [`SourceEmbed::try_embed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// The table file written into `OUT_DIR`.
    pub path: PathBuf,
    /// Files embedded.
    pub files: usize,
    /// Their total size before compression.
    pub raw_bytes: u64,
    /// The table's size (index and compressed files).
    pub table_bytes: u64,
    /// Files whose compressed bytes came unchanged from the previous run's cache instead of being
    /// compressed again.
    pub reused: usize,
    /// Files that matched but were left out (size caps, unreadable, not UTF-8).
    pub skipped: usize,
    /// Dependencies recorded for `modules`.
    pub modules: usize,
}

impl SourceEmbed {
    /// The defaults: `src` of the crate, `**/*.rs`, default excludes, 1 MiB per file, 16 MiB total,
    /// dependencies reported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every member of the workspace: the `src` of each package that `cargo metadata --no-deps`
    /// lists (or, when that fails, the workspace `Cargo.toml`'s `members`), plus the crate's own.
    /// The way to embed a multi-crate workspace: call it from the build script of the crate that
    /// calls `embed_sources!()`, and frames of every member get their source lines and package.
    ///
    /// ```no_run
    /// // build.rs of the application crate
    /// fn main() {
    ///     watchpost_build::SourceEmbed::workspace().embed();
    /// }
    /// ```
    pub fn workspace() -> Self {
        SourceEmbed {
            workspace: true,
            ..Self::default()
        }
    }

    /// Adds a source root (`root_source_code_paths`), relative to the crate's manifest dir or
    /// absolute, to the crate's own `src` (which [`no_default_root`](Self::no_default_root)
    /// leaves out). A root that does not exist fails the build.
    pub fn root(mut self, path: impl Into<PathBuf>) -> Self {
        self.roots.push(path.into());
        self
    }

    /// Leaves out the default roots: the crate's own `src` (and with
    /// [`workspace`](Self::workspace), the members' `src`), so only [`root`](Self::root)s are
    /// embedded. The build warns when the crate's `src` is then not under any root.
    pub fn no_default_root(mut self) -> Self {
        self.default_root = false;
        self
    }

    /// The glob files must match (`source_code_path_pattern`), relative to their root with `/`
    /// separators. Default `**/*.rs`.
    pub fn pattern(mut self, glob: impl Into<String>) -> Self {
        self.pattern = glob.into();
        self
    }

    /// Adds a regex (`source_code_exclude_patterns`) matched against each path relative to its
    /// root, with `/` separators; directories are tested with a trailing `/`, so `(^|/)secrets/`
    /// skips a whole directory. Adds to the defaults, which keep out `target/`, `.git/`, `.cargo/`
    /// and `vendor/`.
    pub fn exclude(mut self, regex: impl Into<String>) -> Self {
        self.excludes.push(regex.into());
        self
    }

    /// Whether the default excludes apply (default true).
    pub fn default_excludes(mut self, on: bool) -> Self {
        self.default_excludes = on;
        self
    }

    /// Files larger than this are skipped with a build warning. Default 1 MiB.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Once the embedded files reach this size (before compression), the rest are skipped with a
    /// build warning. Default 16 MiB.
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// Whether to record the package's dependencies from `Cargo.lock` for the events' `modules`
    /// (default true).
    pub fn report_deps(mut self, on: bool) -> Self {
        self.report_deps = on;
        self
    }

    /// Whether to embed sources at all (default true). When off, or when the environment variable
    /// [`SENTRY_EMBED_SOURCES`](ENV_SWITCH) is `0`, a valid table without files is still written,
    /// so `embed_sources!()` compiles.
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// The table's file name in `OUT_DIR`, for crates that embed several tables; read it with
    /// `embed_sources!("name")`. Default [`DEFAULT_FILE_NAME`].
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// The compression level, 0 (store) to 10 (smallest, slowest). Default 6.
    pub fn compression_level(mut self, level: u8) -> Self {
        self.level = level;
        self
    }

    /// Embeds, printing Cargo's lines and warnings; on a configuration error prints it once, on
    /// stderr (which Cargo shows under the failed build script), then exits the build script with
    /// status 1 (no panic).
    pub fn embed(&self) -> Summary {
        match self.try_embed() {
            Ok(summary) => summary,
            Err(e) => {
                eprintln!("error: watchpost-build: {e}");
                std::process::exit(1);
            }
        }
    }

    /// Embeds, printing Cargo's lines and warnings, and returns the error instead of exiting.
    pub fn try_embed(&self) -> Result<Summary, Error> {
        let env = BuildEnv::from_env()?;
        self.run(&env, &mut std::io::stdout().lock())
    }

    pub(crate) fn run(&self, env: &BuildEnv, out: &mut dyn Write) -> Result<Summary, Error> {
        let out_path = self.output_path(&env.out_dir)?;
        let mut cargo = CargoLines { out };
        cargo.line(&format!("rerun-if-env-changed={ENV_SWITCH}"));

        let embedding = self.enabled && !env.switched_off();
        let plan = if embedding {
            Some(Plan::new(self, env, &mut cargo)?)
        } else {
            None
        };
        let ws_root = plan
            .as_ref()
            .map_or_else(|| workspace_root(&env.manifest_dir), |p| p.ws_root.clone());
        let mut table = TableWriter::new();
        table
            .workspace_root(&to_slash(&ws_root))
            .compression_level(self.level);
        let mut summary = Summary {
            path: out_path.clone(),
            files: 0,
            raw_bytes: 0,
            table_bytes: 0,
            reused: 0,
            skipped: 0,
            modules: 0,
        };

        if let Some(plan) = &plan {
            self.add_sources(env, plan, &mut table, &mut cargo, &mut summary)?;
        }
        if self.report_deps {
            summary.modules = add_modules(env, &mut table, &mut cargo);
        }

        let cache_path = cache::path_for(&out_path);
        let (bytes, chunks) = table.finish_reusing(ChunkCache::load(&cache_path))?;
        summary.table_bytes = bytes.len() as u64;
        summary.reused = chunks.reused();
        write_if_changed(&out_path, &bytes)?;
        chunks.store(&cache_path);
        Ok(summary)
    }

    fn output_path(&self, out_dir: &Path) -> Result<PathBuf, Error> {
        let name = &self.file_name;
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
        if plain {
            Ok(out_dir.join(name))
        } else {
            Err(Error::InvalidFileName { name: name.clone() })
        }
    }

    fn add_sources(
        &self,
        env: &BuildEnv,
        plan: &Plan,
        table: &mut TableWriter,
        cargo: &mut CargoLines<'_>,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let excludes = self.excludes.iter().map(String::as_str);
        let filters = if self.default_excludes {
            Filters::new(
                &self.pattern,
                DEFAULT_EXCLUDES.iter().copied().chain(excludes),
            )?
        } else {
            Filters::new(&self.pattern, excludes)?
        };
        let ws_root = &plan.ws_root;
        for package in &plan.packages {
            table.add_package(package.clone());
        }

        let mut skipped = Skipped::default();
        let mut seen = std::collections::HashSet::new();
        for root in &plan.roots {
            let scan = scan_root(root, &filters, &env.out_dir);
            for path in &scan.watch {
                cargo.line(&format!("rerun-if-changed={}", path.display()));
            }
            for warning in &scan.warnings {
                cargo.warning(warning);
            }
            if scan.files.is_empty() {
                cargo.warning(&format!(
                    "root `{}` holds no file that source_code_path_pattern `{}` and the \
                     excludes let through; nothing is embedded from it",
                    table_key(root, ws_root),
                    self.pattern
                ));
            }
            for (file, len) in scan.files {
                let key = table_key(&file, ws_root);
                if !seen.insert(key.clone()) {
                    continue; // Under two overlapping roots.
                }
                if len > self.max_file_bytes {
                    skipped.too_large.push(format!("{key} ({len} bytes)"));
                } else if summary.raw_bytes + len > self.max_total_bytes {
                    skipped.over_total.push(key);
                } else {
                    match read_source(&file) {
                        Ok(text) => {
                            summary.raw_bytes += text.len() as u64;
                            summary.files += 1;
                            table.add_file(&key, &text);
                        }
                        Err(why) => skipped.unreadable.push(format!("{key}: {why}")),
                    }
                }
            }
        }
        summary.skipped = skipped.report(self, cargo);
        Ok(())
    }
}

/// Reads a file as UTF-8 text, or says why not.
fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("unreadable: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())
}

/// Records `report_deps` modules; returns how many.
fn add_modules(env: &BuildEnv, table: &mut TableWriter, cargo: &mut CargoLines<'_>) -> usize {
    let Some(lock) = lockfile::find(&env.manifest_dir) else {
        cargo.warning("report_deps: no Cargo.lock found above the crate; modules are not reported");
        return 0;
    };
    cargo.line(&format!("rerun-if-changed={}", lock.display()));
    let text = match std::fs::read_to_string(&lock) {
        Ok(text) => text,
        Err(e) => {
            cargo.warning(&format!("report_deps: cannot read {}: {e}", lock.display()));
            return 0;
        }
    };
    let deps = lockfile::dependencies_of(&lockfile::parse(&text), &env.pkg_name, &env.pkg_version);
    for (name, version) in &deps {
        table.add_module(name, version);
    }
    deps.len()
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
