//! Compile-time source context: the embedded source table and its lookup.
//!
//! `watchpost-build` writes the table in the build script; `embed_sources!()` includes it as
//! `'static` bytes; [`SourceTable::apply_to_frame`] fills a frame's context lines from it.
//!
//! - [`table`]: the binary format, read in place and validated lazily (a bad table reads as
//!   empty and is logged once).
//! - [`path`]: which key a frame's path means (relative, absolute, remapped, Windows).
//! - [`lines`]: line splitting and the context window.
//! - [`attribute`]: the package, module prefix and `in_app` of frames of embedded packages.
//! - [`embed`]: the `embed_sources!` macro and its compile-time format check.
//! - [`cache`]: the few inflated files and path answers kept between lookups.

mod attribute;
mod cache;
mod embed;
mod lines;
mod path;
mod table;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests;

pub use embed::check_table_format;

use crate::event::Frame;
use std::sync::atomic::{AtomicBool, Ordering};
use table::Table;

/// Source files embedded at build time by `watchpost-build` and pulled in with
/// [`embed_sources!()`](crate::embed_sources); hand it to
/// [`ClientOptions::source_table`](crate::ClientOptions::source_table).
///
/// A `SourceTable` is a `Copy` handle to bytes in the binary. Files are compressed one by one and
/// inflated only when a frame needs them; a few recently used files stay inflated.
///
/// ```ignore
/// static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();
/// ```
#[derive(Clone, Copy)]
pub struct SourceTable {
    blob: &'static [u8],
}

impl std::fmt::Debug for SourceTable {
    /// A summary: the table can be megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTable")
            .field("files", &self.len())
            .field("bytes", &self.blob.len())
            .field("valid", &self.is_valid())
            .finish()
    }
}

/// Set once a damaged table has been logged, so it is logged once per process.
static REPORTED_INVALID: AtomicBool = AtomicBool::new(false);

impl SourceTable {
    /// Reads a table written by the build helper. Used by `embed_sources!`; the bytes are checked
    /// on first use, and a damaged table behaves as an empty one.
    #[doc(hidden)]
    pub const fn from_embedded(blob: &'static [u8]) -> Self {
        SourceTable { blob }
    }

    /// A table without files or modules.
    pub const fn empty() -> Self {
        SourceTable { blob: &[] }
    }

    /// Whether the embedded bytes are a table this version can read. An empty table is valid.
    pub fn is_valid(&self) -> bool {
        self.blob.is_empty() || Table::parse(self.blob).is_ok()
    }

    /// Number of embedded files.
    pub fn len(&self) -> usize {
        self.table().map_or(0, |t| t.len())
    }

    /// Whether no file is embedded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The embedded files' paths: relative to the workspace root, with `/` separators, as
    /// `std::panic::Location::file()` gives them.
    pub fn paths(&self) -> impl Iterator<Item = &'static str> {
        let table = self.table();
        let len = table.map_or(0, |t| t.len());
        (0..len).filter_map(move |i| table.and_then(|t| t.path(i)))
    }

    /// Fills `pre_context`, `context_line` and `post_context` of `frame` from the table, with up
    /// to `context_lines` lines on each side, and sets `filename` to the table's key for the file.
    /// Both `filename` and `abs_path` are tried (see the module docs for the path shapes).
    ///
    /// Returns true when the file was found and has the frame's `lineno`; otherwise the frame is
    /// left as it was.
    pub fn apply_to_frame(&self, frame: &mut Frame, context_lines: usize) -> bool {
        let (Some(lineno), Some(table)) = (frame.lineno, self.table()) else {
            return false;
        };
        let Some(index) = self.find_file(&table, frame) else {
            return false;
        };
        let loaded = cache::file(self.id(), index, || {
            table.inflate(index).map(lines::SourceFile::new)
        });
        let (Some(file), Some(key)) = (loaded, table.path(index)) else {
            return false;
        };
        let Some(context) = file.context(lineno, context_lines) else {
            return false;
        };
        if frame.filename.as_deref() != Some(key) {
            frame.filename = Some(key.to_owned());
        }
        frame.pre_context = context.pre;
        frame.context_line = Some(context.line);
        frame.post_context = context.post;
        true
    }

    /// Dependencies recorded at build time (`report_deps`): name → version, sorted by name. A
    /// crate present in several versions has them joined with `", "`.
    pub fn modules(&self) -> Vec<(String, String)> {
        self.table().map_or_else(Vec::new, |t| {
            t.modules()
                .map(|(name, version)| (name.to_owned(), version.to_owned()))
                .collect()
        })
    }

    /// The parsed table, or `None` for an empty or damaged one (logged once).
    fn table(&self) -> Option<Table> {
        if self.blob.is_empty() {
            return None;
        }
        match Table::parse(self.blob) {
            Ok(table) => Some(table),
            Err(why) => {
                if !REPORTED_INVALID.swap(true, Ordering::Relaxed) {
                    log::warn!("sentry: embedded source table ignored: {why}");
                }
                None
            }
        }
    }

    /// Identifies the table in the process-wide caches: its bytes live for the whole program.
    fn id(&self) -> usize {
        self.blob.as_ptr() as usize
    }

    /// The file a frame points to: exact matches of `filename` then `abs_path`, then suffix
    /// matches, which are skipped for dependency and toolchain frames.
    fn find_file(&self, table: &Table, frame: &Frame) -> Option<usize> {
        let candidates = [frame.filename.as_deref(), frame.abs_path.as_deref()];
        let candidates = candidates
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .map(path::normalize);
        let mut fuzzy = Vec::with_capacity(2);
        let mut foreign = frame.in_app == Some(false);
        for candidate in candidates {
            if let Some(index) = path::exact(table, &candidate) {
                return Some(index);
            }
            foreign |= path::is_foreign(&candidate);
            fuzzy.push(candidate);
        }
        if foreign {
            return None;
        }
        // Absolute paths first: they carry the most components.
        fuzzy.reverse();
        fuzzy.into_iter().find_map(|candidate| {
            cache::matched(self.id(), &candidate, || path::by_suffix(table, &candidate))
        })
    }
}
