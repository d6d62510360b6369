//! Reading the table format that `watchpost_build::format` defines (and documents) and its
//! `TableWriter` writes. The layout constants come from there, so writer and reader cannot
//! disagree; a table of another format version is refused at compile time by `embed_sources!`.
//!
//! The table is read in place: parsing checks the header and the section sizes in O(1), every
//! later read is bounds-checked and answers `None` on bad data, so a corrupt table never panics.

use watchpost_build::format::{
    header_field, u32_at, version_of, Field, Sections, FILE_ENTRY_LEN, HEADER_LEN,
    MODULE_ENTRY_LEN, PACKAGE_ENTRY_LEN, VERSION,
};

/// Why a table was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Shorter than the header.
    Truncated,
    /// Does not start with the magic bytes.
    Magic,
    /// Written by a newer (or older) build helper.
    Version(u16),
    /// The sections do not add up to the table's length.
    Length,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Truncated => f.write_str("shorter than its header"),
            Invalid::Magic => f.write_str("not a source table (bad magic bytes)"),
            Invalid::Version(v) => {
                write!(f, "format version {v}, this watchpost reads {VERSION}")
            }
            Invalid::Length => f.write_str("section sizes do not match its length"),
        }
    }
}

/// The package an embedded file belongs to, as recorded at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    /// The package's name (`my-lib`).
    pub(crate) name: &'static str,
    /// Its crate name, the first segment of its module paths (`my_lib`).
    pub(crate) crate_name: &'static str,
    /// Its manifest directory as a key prefix (`crates/core`), empty for the workspace root.
    pub(crate) dir: &'static str,
}

/// A parsed view of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    bytes: &'static [u8],
    files: usize,
    modules: usize,
    packages: usize,
    sections: Sections,
    strings: &'static [u8],
    data: &'static [u8],
    root: (u32, u32),
}

impl Table {
    /// Checks the header and that the sections add up to the length.
    pub(crate) fn parse(bytes: &'static [u8]) -> Result<Table, Invalid> {
        if bytes.len() < 10 {
            return Err(Invalid::Truncated);
        }
        let version = version_of(bytes).ok_or(Invalid::Magic)?;
        if version != VERSION {
            return Err(Invalid::Version(version));
        }
        if bytes.len() < HEADER_LEN {
            return Err(Invalid::Truncated);
        }
        let field = |f| header_field(bytes, f).map_or(0, |v| v as usize);
        let sections = Sections::of(bytes).ok_or(Invalid::Length)?;
        if sections.end != bytes.len() {
            return Err(Invalid::Length);
        }
        Ok(Table {
            bytes,
            files: field(Field::FileCount),
            modules: field(Field::ModuleCount),
            packages: field(Field::PackageCount),
            sections,
            strings: &bytes[sections.strings..sections.data],
            data: &bytes[sections.data..],
            root: (field(Field::RootOff) as u32, field(Field::RootLen) as u32),
        })
    }

    /// Number of files.
    pub(crate) fn len(&self) -> usize {
        self.files
    }

    /// The absolute workspace root recorded at build time, if any.
    pub(crate) fn root(&self) -> Option<&'static str> {
        self.string(self.root.0, self.root.1)
            .filter(|r| !r.is_empty())
    }

    /// The key (path) of file `i`.
    pub(crate) fn path(&self, i: usize) -> Option<&'static str> {
        std::str::from_utf8(self.path_bytes(i)?).ok()
    }

    fn path_bytes(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.files {
            return None;
        }
        let at = self.sections.files + i * FILE_ENTRY_LEN;
        self.bytes(u32_at(self.bytes, at)?, u32_at(self.bytes, at + 4)?)
    }

    /// The index of the file stored under exactly `key`.
    pub(crate) fn find(&self, key: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.files);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.path_bytes(mid)?.cmp(key.as_bytes()) {
                std::cmp::Ordering::Equal => return Some(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// Inflates file `i`; `None` when its chunk is damaged or not UTF-8.
    pub(crate) fn inflate(&self, i: usize) -> Option<String> {
        let [_, _, off, len, raw_len, _] = self.file_entry(i)?;
        let end = (off as usize).checked_add(len as usize)?;
        let chunk = self.data.get(off as usize..end)?;
        let bytes =
            miniz_oxide::inflate::decompress_to_vec_with_limit(chunk, raw_len as usize).ok()?;
        if bytes.len() != raw_len as usize {
            return None;
        }
        String::from_utf8(bytes).ok()
    }

    /// The recorded dependencies, skipping damaged entries.
    pub(crate) fn modules(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        (0..self.modules).filter_map(move |i| {
            let at = self.sections.modules + i * MODULE_ENTRY_LEN;
            let field = |k: usize| u32_at(self.bytes, at + 4 * k);
            let name = self.string(field(0)?, field(1)?)?;
            let version = self.string(field(2)?, field(3)?)?;
            Some((name, version))
        })
    }

    /// The package file `i` belongs to, when the table records one.
    pub(crate) fn package_of_file(&self, i: usize) -> Option<PackageInfo> {
        let [.., package] = self.file_entry(i)?;
        self.package((package as usize).checked_sub(1)?)
    }

    /// The recorded package whose crate name is `crate_name`.
    pub(crate) fn package_by_crate(&self, crate_name: &str) -> Option<PackageInfo> {
        (0..self.packages)
            .filter_map(|i| self.package(i))
            .find(|p| p.crate_name == crate_name)
    }

    fn package(&self, i: usize) -> Option<PackageInfo> {
        if i >= self.packages {
            return None;
        }
        let at = self.sections.packages + i * PACKAGE_ENTRY_LEN;
        let field = |k: usize| u32_at(self.bytes, at + 4 * k);
        Some(PackageInfo {
            name: self.string(field(0)?, field(1)?)?,
            crate_name: self.string(field(2)?, field(3)?)?,
            dir: self.string(field(4)?, field(5)?)?,
        })
    }

    /// The six fields of file entry `i`.
    fn file_entry(&self, i: usize) -> Option<[u32; 6]> {
        if i >= self.files {
            return None;
        }
        let at = self.sections.files + i * FILE_ENTRY_LEN;
        let mut fields = [0; 6];
        for (k, field) in fields.iter_mut().enumerate() {
            *field = u32_at(self.bytes, at + 4 * k)?;
        }
        Some(fields)
    }

    fn string(&self, off: u32, len: u32) -> Option<&'static str> {
        std::str::from_utf8(self.bytes(off, len)?).ok()
    }

    fn bytes(&self, off: u32, len: u32) -> Option<&'static [u8]> {
        let end = (off as usize).checked_add(len as usize)?;
        self.strings.get(off as usize..end)
    }
}
