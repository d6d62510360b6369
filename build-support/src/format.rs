//! The source table format (version 2): its one definition, used by the writer here and by the
//! reader in `watchpost`.
//!
//! All integers are little-endian `u32` unless noted; offsets into the string table and the data
//! section are relative to the start of that section.
//!
//! ```text
//! header (40 bytes)
//!   magic          [u8; 8] = b"SNTRYSRC"
//!   version        u16     = 2
//!   flags          u16     = 0 (reserved)
//!   file_count     u32
//!   module_count   u32
//!   package_count  u32
//!   strings_len    u32     size of the string table
//!   data_len       u32     size of the data section
//!   root_off       u32     absolute workspace root at build time (`/` separators),
//!   root_len       u32     a string in the string table; empty when unknown
//! file index       file_count × 24 bytes, sorted by path bytes (binary search)
//!   path_off, path_len     the key: workspace-relative path, `/` separators
//!   data_off, data_len     the file's raw-deflate chunk in the data section
//!   raw_len                the inflated size
//!   package                1 + the index of the file's package, 0 when unknown
//! module index     module_count × 16 bytes, sorted by name
//!   name_off, name_len, version_off, version_len
//! package index    package_count × 24 bytes, sorted by name
//!   name_off, name_len     the package's name (`my-lib`)
//!   crate_off, crate_len   its crate name, the module path prefix (`my_lib`)
//!   dir_off, dir_len       its manifest directory as a key prefix (`crates/core`; empty for the
//!                          workspace root)
//! string table     strings_len bytes of UTF-8
//! data section     data_len bytes: one raw-deflate (miniz_oxide) chunk per file
//! ```
//!
//! Each file is compressed on its own, so a lookup inflates only the file it needs, and the index is
//! read in place without decoding the whole table first. The total length of a valid table is
//! exactly what [`Sections::new`] computes from the header's counts. The magic and the version
//! stay where they are in every version, so any reader can tell a table it cannot read.

use crate::cache::ChunkCache;
use crate::Error;
use std::collections::BTreeMap;

/// The first eight bytes of every table.
pub const MAGIC: [u8; 8] = *b"SNTRYSRC";
/// The format version this crate writes, and the one a runtime built against it reads.
pub const VERSION: u16 = 2;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 40;
/// Size of one file index entry.
pub const FILE_ENTRY_LEN: usize = 24;
/// Size of one module index entry.
pub const MODULE_ENTRY_LEN: usize = 16;
/// Size of one package index entry.
pub const PACKAGE_ENTRY_LEN: usize = 24;
/// The compression level used unless [`TableWriter::compression_level`] says otherwise.
pub const DEFAULT_LEVEL: u8 = 6;
/// The version of this crate, which wrote (or reads) tables of format [`VERSION`].
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `u32` fields of the header, after the magic, version and flags: each one's index, for
/// [`header_field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// Number of file index entries.
    FileCount = 0,
    /// Number of module index entries.
    ModuleCount = 1,
    /// Number of package index entries.
    PackageCount = 2,
    /// Size of the string table.
    StringsLen = 3,
    /// Size of the data section.
    DataLen = 4,
    /// Offset of the workspace root in the string table.
    RootOff = 5,
    /// Length of the workspace root.
    RootLen = 6,
}

/// The format version of `table`: `None` when it is too short or does not start with [`MAGIC`].
/// A `const fn`, so generated code can check a table at compile time.
pub const fn version_of(table: &[u8]) -> Option<u16> {
    if table.len() < 10 {
        return None;
    }
    let mut i = 0;
    while i < MAGIC.len() {
        if table[i] != MAGIC[i] {
            return None;
        }
        i += 1;
    }
    Some(u16::from_le_bytes([table[8], table[9]]))
}

/// Reads header field `field` of `table`; `None` when the table is shorter than the header.
pub fn header_field(table: &[u8], field: Field) -> Option<u32> {
    u32_at(table, 12 + 4 * field as usize)
}

/// Reads the little-endian `u32` at `at`, bounds-checked.
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Where each section of a table starts, from the header's counts and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    /// Start of the file index.
    pub files: usize,
    /// Start of the module index.
    pub modules: usize,
    /// Start of the package index.
    pub packages: usize,
    /// Start of the string table.
    pub strings: usize,
    /// Start of the data section.
    pub data: usize,
    /// The table's total length.
    pub end: usize,
}

impl Sections {
    /// The sections of a table with these counts and sizes; `None` on arithmetic overflow.
    pub fn new(
        files: usize,
        modules: usize,
        packages: usize,
        strings_len: usize,
        data_len: usize,
    ) -> Option<Self> {
        let modules_at = HEADER_LEN.checked_add(files.checked_mul(FILE_ENTRY_LEN)?)?;
        let packages_at = modules_at.checked_add(modules.checked_mul(MODULE_ENTRY_LEN)?)?;
        let strings_at = packages_at.checked_add(packages.checked_mul(PACKAGE_ENTRY_LEN)?)?;
        let data_at = strings_at.checked_add(strings_len)?;
        Some(Sections {
            files: HEADER_LEN,
            modules: modules_at,
            packages: packages_at,
            strings: strings_at,
            data: data_at,
            end: data_at.checked_add(data_len)?,
        })
    }

    /// The sections `table`'s header describes; `None` when the header is incomplete.
    pub fn of(table: &[u8]) -> Option<Self> {
        let field = |f| header_field(table, f).map(|v| v as usize);
        Sections::new(
            field(Field::FileCount)?,
            field(Field::ModuleCount)?,
            field(Field::PackageCount)?,
            field(Field::StringsLen)?,
            field(Field::DataLen)?,
        )
    }
}

/// The package a set of embedded files belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    /// The package's name as in its `Cargo.toml` (`my-lib`).
    pub name: String,
    /// Its crate name, which starts its functions' module paths (`my_lib`).
    pub crate_name: String,
    /// Its manifest directory as a key prefix: workspace-relative with `/` separators
    /// (`crates/core`), absolute outside the workspace, empty for the workspace root.
    pub dir: String,
}

impl Package {
    /// A package whose crate name is its name with `-` turned into `_`.
    pub fn new(name: &str, dir: &str) -> Self {
        Package {
            name: name.to_owned(),
            crate_name: name.replace('-', "_"),
            dir: dir.trim_end_matches('/').to_owned(),
        }
    }

    /// Whether the file stored under `key` is inside this package's directory.
    pub fn contains(&self, key: &str) -> bool {
        if self.dir.is_empty() {
            return !key.starts_with('/') && !key.contains(':');
        }
        key.strip_prefix(self.dir.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Builds a source table in memory.
///
/// Most users want [`SourceEmbed`](crate::SourceEmbed), which walks the source roots and writes the
/// table into `OUT_DIR`; this writer is the format itself, public for tests and tools.
///
/// ```
/// let mut table = watchpost_build::TableWriter::new();
/// table.workspace_root("/home/me/project");
/// table.add_file("src/main.rs", "fn main() {}\n");
/// table.add_module("serde", "1.0.200");
/// table.add_package(watchpost_build::format::Package::new("my-app", ""));
/// let bytes = table.finish().unwrap();
/// assert_eq!(&bytes[..8], b"SNTRYSRC");
/// ```
#[derive(Debug, Clone)]
pub struct TableWriter {
    root: String,
    files: BTreeMap<String, String>,
    modules: BTreeMap<String, String>,
    packages: BTreeMap<String, Package>,
    level: u8,
}

impl Default for TableWriter {
    fn default() -> Self {
        TableWriter {
            root: String::new(),
            files: BTreeMap::new(),
            modules: BTreeMap::new(),
            packages: BTreeMap::new(),
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

    /// Records a package: each file is attributed to the package whose directory holds it (the
    /// innermost one when directories nest). A second package of the same name replaces the first.
    pub fn add_package(&mut self, package: Package) -> &mut Self {
        self.packages.insert(package.name.clone(), package);
        self
    }

    /// The package `key` belongs to: the one with the longest directory that contains it.
    fn package_of(&self, key: &str) -> Option<usize> {
        self.packages
            .values()
            .enumerate()
            .filter(|(_, p)| p.contains(key))
            .max_by_key(|(_, p)| p.dir.len())
            .map(|(i, _)| i)
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
                self.package_of(key).map_or(Ok(0), |i| to_u32(i + 1))?,
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

        let mut package_index = Vec::with_capacity(self.packages.len() * PACKAGE_ENTRY_LEN);
        for package in self.packages.values() {
            let name = strings.push(&package.name)?;
            let crate_name = strings.push(&package.crate_name)?;
            let dir = strings.push(&package.dir)?;
            for field in [name.0, name.1, crate_name.0, crate_name.1, dir.0, dir.1] {
                package_index.extend_from_slice(&field.to_le_bytes());
            }
        }

        let mut out = Vec::with_capacity(
            HEADER_LEN
                + file_index.len()
                + module_index.len()
                + package_index.len()
                + strings.0.len()
                + data.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for field in [
            to_u32(self.files.len())?,
            to_u32(self.modules.len())?,
            to_u32(self.packages.len())?,
            to_u32(strings.0.len())?,
            to_u32(data.len())?,
            root.0,
            root.1,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&file_index);
        out.extend_from_slice(&module_index);
        out.extend_from_slice(&package_index);
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

    fn field(bytes: &[u8], f: Field) -> usize {
        header_field(bytes, f).unwrap() as usize
    }

    #[test]
    fn empty_table_is_just_the_header() {
        let bytes = TableWriter::new().finish().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(version_of(&bytes), Some(VERSION));
    }

    #[test]
    fn version_of_rejects_other_bytes() {
        assert_eq!(version_of(b"SNTRYSRC"), None);
        assert_eq!(version_of(b"NOTATABLE\x01\x00"), None);
        assert_eq!(version_of(b"SNTRYSRC\x07\x00"), Some(7));
    }

    #[test]
    fn total_length_matches_the_sections() {
        let mut w = TableWriter::new();
        w.workspace_root("/ws")
            .add_file("b.rs", "fn b() {}\n")
            .add_file("a.rs", "fn a() {}\n")
            .add_module("log", "0.4.1")
            .add_package(Package::new("ws", ""));
        let bytes = w.finish().unwrap();
        assert_eq!(field(&bytes, Field::FileCount), 2);
        assert_eq!(field(&bytes, Field::ModuleCount), 1);
        assert_eq!(field(&bytes, Field::PackageCount), 1);
        assert_eq!(Sections::of(&bytes).unwrap().end, bytes.len());
    }

    #[test]
    fn file_chunks_inflate_back_to_the_source() {
        let source = "fn main() {\r\n\tprintln!(\"hi\");\r\n}\r\n".repeat(50);
        let mut w = TableWriter::new();
        w.add_file("src/main.rs", &source);
        let bytes = w.finish().unwrap();
        let sections = Sections::of(&bytes).unwrap();
        let entry = |k: usize| u32_at(&bytes, sections.files + 4 * k).unwrap() as usize;
        let (off, len, raw) = (entry(2), entry(3), entry(4));
        let chunk = &bytes[sections.data + off..sections.data + off + len];
        let inflated = miniz_oxide::inflate::decompress_to_vec(chunk).unwrap();
        assert_eq!(raw, source.len());
        assert_eq!(inflated, source.as_bytes());
        assert!(len < raw / 4, "repetitive text compresses: {len} vs {raw}");
    }

    #[test]
    fn files_belong_to_the_innermost_package_directory() {
        let mut w = TableWriter::new();
        w.add_package(Package::new("app", ""))
            .add_package(Package::new("mylib", "crates/core"))
            .add_package(Package::new("far", "/elsewhere/far"));
        assert_eq!(w.package_of("src/main.rs"), Some(0));
        assert_eq!(w.package_of("crates/core/src/lib.rs"), Some(2));
        assert_eq!(w.package_of("crates/core2/src/lib.rs"), Some(0));
        assert_eq!(w.package_of("/elsewhere/far/src/lib.rs"), Some(1));
        assert_eq!(w.package_of("/other/src/lib.rs"), None);
    }

    #[test]
    fn crate_names_are_underscored_package_names() {
        let p = Package::new("my-lib", "crates/core/");
        assert_eq!(
            (p.crate_name.as_str(), p.dir.as_str()),
            ("my_lib", "crates/core")
        );
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
