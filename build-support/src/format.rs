//! The source table format (version 1) and its writer.
//!
//! `sentry_core`'s `source_context` module reads what [`TableWriter`] writes. All integers are
//! little-endian `u32` unless noted; offsets into the string table and the data section are relative
//! to the start of that section.
//!
//! ```text
//! header (36 bytes)
//!   magic          [u8; 8] = b"SNTRYSRC"
//!   version        u16     = 1
//!   flags          u16     = 0 (reserved)
//!   file_count     u32
//!   module_count   u32
//!   strings_len    u32     size of the string table
//!   data_len       u32     size of the data section
//!   root_off       u32     absolute workspace root at build time (`/` separators),
//!   root_len       u32     a string in the string table; empty when unknown
//! file index       file_count × 24 bytes, sorted by path bytes (binary search)
//!   path_off, path_len     the key: workspace-relative path, `/` separators
//!   data_off, data_len     the file's raw-deflate chunk in the data section
//!   raw_len                the inflated size
//!   reserved               0
//! module index     module_count × 16 bytes, sorted by name
//!   name_off, name_len, version_off, version_len
//! string table     strings_len bytes of UTF-8
//! data section     data_len bytes: one raw-deflate (miniz_oxide) chunk per file
//! ```
//!
//! Each file is compressed on its own, so a lookup inflates only the file it needs, and the index is
//! read in place without decoding the whole table first. The total length of a valid table is
//! exactly `36 + 24 × file_count + 16 × module_count + strings_len + data_len`.

use crate::cache::ChunkCache;
use crate::Error;
use std::collections::BTreeMap;

/// The first eight bytes of every table.
pub const MAGIC: [u8; 8] = *b"SNTRYSRC";
/// The format version this crate writes.
pub const VERSION: u16 = 1;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 36;
/// Size of one file index entry.
pub const FILE_ENTRY_LEN: usize = 24;
/// Size of one module index entry.
pub const MODULE_ENTRY_LEN: usize = 16;
/// The compression level used unless [`TableWriter::compression_level`] says otherwise.
pub const DEFAULT_LEVEL: u8 = 6;

/// Builds a source table in memory.
///
/// Most users want [`SourceEmbed`](crate::SourceEmbed), which walks the source roots and writes the
/// table into `OUT_DIR`; this writer is the format itself, public for tests and tools.
///
/// ```
/// let mut table = sentry_build_support::TableWriter::new();
/// table.workspace_root("/home/me/project");
/// table.add_file("src/main.rs", "fn main() {}\n");
/// table.add_module("serde", "1.0.200");
/// let bytes = table.finish().unwrap();
/// assert_eq!(&bytes[..8], b"SNTRYSRC");
/// ```
#[derive(Debug, Clone)]
pub struct TableWriter {
    root: String,
    files: BTreeMap<String, String>,
    modules: BTreeMap<String, String>,
    level: u8,
}

impl Default for TableWriter {
    fn default() -> Self {
        TableWriter {
            root: String::new(),
            files: BTreeMap::new(),
            modules: BTreeMap::new(),
            level: DEFAULT_LEVEL,
        }
    }
}

impl TableWriter {
    /// An empty table: a valid table with no files and no modules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the absolute workspace root, so frames with absolute paths under it match.
    pub fn workspace_root(&mut self, root: &str) -> &mut Self {
        self.root = root.to_owned();
        self
    }

    /// Adds (or replaces) a file under `key`, its workspace-relative path with `/` separators.
    pub fn add_file(&mut self, key: &str, contents: &str) -> &mut Self {
        self.files.insert(key.to_owned(), contents.to_owned());
        self
    }

    /// Records a dependency for the event's `modules`. A second version of the same name is joined
    /// to the first with `", "`, since `modules` maps each name to one string.
    pub fn add_module(&mut self, name: &str, version: &str) -> &mut Self {
        self.modules
            .entry(name.to_owned())
            .and_modify(|v| {
                if !v.split(", ").any(|known| known == version) {
                    v.push_str(", ");
                    v.push_str(version);
                }
            })
            .or_insert_with(|| version.to_owned());
        self
    }

    /// Sets the miniz_oxide compression level, 0 (store) to 10 (slowest). Default 6.
    pub fn compression_level(&mut self, level: u8) -> &mut Self {
        self.level = level.min(10);
        self
    }

    /// Number of files added so far.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Compresses the files and lays out the table.
    pub fn finish(&self) -> Result<Vec<u8>, Error> {
        let (table, _) = self.finish_reusing(ChunkCache::default())?;
        Ok(table)
    }

    /// Lays out the table like [`finish`](Self::finish), taking each file's chunk from `previous`
    /// when the file is unchanged there, so the table is byte-identical to a fresh one. Also
    /// returns this table's chunks, the cache for the next run.
    pub(crate) fn finish_reusing(
        &self,
        mut previous: ChunkCache,
    ) -> Result<(Vec<u8>, ChunkCache), Error> {
        let mut strings = Strings::default();
        let root = strings.push(&self.root)?;

        let mut chunks = ChunkCache::default();
        let mut data = Vec::new();
        let mut file_index = Vec::with_capacity(self.files.len() * FILE_ENTRY_LEN);
        for (key, contents) in &self.files {
            let path = strings.push(key)?;
            let chunk = chunks.chunk(key, contents.as_bytes(), self.level, &mut previous);
            let data_off = to_u32(data.len())?;
            data.extend_from_slice(chunk);
            for field in [
                path.0,
                path.1,
                data_off,
                to_u32(chunk.len())?,
                to_u32(contents.len())?,
                0,
            ] {
                file_index.extend_from_slice(&field.to_le_bytes());
            }
        }

        let mut module_index = Vec::with_capacity(self.modules.len() * MODULE_ENTRY_LEN);
        for (name, version) in &self.modules {
            let name = strings.push(name)?;
            let version = strings.push(version)?;
            for field in [name.0, name.1, version.0, version.1] {
                module_index.extend_from_slice(&field.to_le_bytes());
            }
        }

        let mut out = Vec::with_capacity(
            HEADER_LEN + file_index.len() + module_index.len() + strings.0.len() + data.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for field in [
            to_u32(self.files.len())?,
            to_u32(self.modules.len())?,
            to_u32(strings.0.len())?,
            to_u32(data.len())?,
            root.0,
            root.1,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&file_index);
        out.extend_from_slice(&module_index);
        out.extend_from_slice(&strings.0);
        out.extend_from_slice(&data);
        to_u32(out.len())?;
        Ok((out, chunks))
    }
}

/// The string table being built: `(offset, len)` per pushed string.
#[derive(Debug, Default)]
struct Strings(Vec<u8>);

impl Strings {
    fn push(&mut self, s: &str) -> Result<(u32, u32), Error> {
        let off = to_u32(self.0.len())?;
        self.0.extend_from_slice(s.as_bytes());
        Ok((off, to_u32(s.len())?))
    }
}

fn to_u32(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn empty_table_is_just_the_header() {
        let bytes = TableWriter::new().finish().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), VERSION);
    }

    #[test]
    fn total_length_matches_the_sections() {
        let mut w = TableWriter::new();
        w.workspace_root("/ws")
            .add_file("b.rs", "fn b() {}\n")
            .add_file("a.rs", "fn a() {}\n")
            .add_module("log", "0.4.1");
        let bytes = w.finish().unwrap();
        let (files, modules) = (u32_at(&bytes, 12) as usize, u32_at(&bytes, 16) as usize);
        let (strings, data) = (u32_at(&bytes, 20) as usize, u32_at(&bytes, 24) as usize);
        assert_eq!((files, modules), (2, 1));
        assert_eq!(
            bytes.len(),
            HEADER_LEN + files * FILE_ENTRY_LEN + modules * MODULE_ENTRY_LEN + strings + data
        );
    }

    #[test]
    fn file_chunks_inflate_back_to_the_source() {
        let source = "fn main() {\r\n\tprintln!(\"hi\");\r\n}\r\n".repeat(50);
        let mut w = TableWriter::new();
        w.add_file("src/main.rs", &source);
        let bytes = w.finish().unwrap();
        let strings_len = u32_at(&bytes, 20) as usize;
        let entry = HEADER_LEN;
        let (off, len, raw) = (
            u32_at(&bytes, entry + 8) as usize,
            u32_at(&bytes, entry + 12) as usize,
            u32_at(&bytes, entry + 16) as usize,
        );
        let data = HEADER_LEN + FILE_ENTRY_LEN + strings_len;
        let inflated =
            miniz_oxide::inflate::decompress_to_vec(&bytes[data + off..data + off + len]).unwrap();
        assert_eq!(raw, source.len());
        assert_eq!(inflated, source.as_bytes());
        assert!(len < raw / 4, "repetitive text compresses: {len} vs {raw}");
    }

    #[test]
    fn second_version_of_a_module_is_joined() {
        let mut w = TableWriter::new();
        w.add_module("syn", "1.0.109")
            .add_module("syn", "2.0.0")
            .add_module("syn", "2.0.0");
        assert_eq!(w.modules["syn"], "1.0.109, 2.0.0");
    }
}
