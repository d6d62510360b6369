//! Reading the table format written by `sentry_build_support::TableWriter` (its `format` module
//! documents the layout).
//!
//! The table is read in place: parsing checks the header and the section sizes in O(1), every
//! later read is bounds-checked and answers `None` on bad data, so a corrupt table never panics.

/// `b"SNTRYSRC"`: the first eight bytes of a table.
const MAGIC: [u8; 8] = *b"SNTRYSRC";
/// The format version this reader understands.
const VERSION: u16 = 1;
const HEADER_LEN: usize = 36;
const FILE_ENTRY_LEN: usize = 24;
const MODULE_ENTRY_LEN: usize = 16;

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
                write!(f, "format version {v}, this sentry-core reads {VERSION}")
            }
            Invalid::Length => f.write_str("section sizes do not match its length"),
        }
    }
}

/// A parsed view of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    bytes: &'static [u8],
    files: usize,
    modules: usize,
    strings: &'static [u8],
    data: &'static [u8],
    root: (u32, u32),
}

impl Table {
    /// Checks the header and that the sections add up to the length.
    pub(crate) fn parse(bytes: &'static [u8]) -> Result<Table, Invalid> {
        if bytes.len() < HEADER_LEN {
            return Err(Invalid::Truncated);
        }
        if bytes[..8] != MAGIC {
            return Err(Invalid::Magic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != VERSION {
            return Err(Invalid::Version(version));
        }
        let field = |i: usize| u32_at(bytes, 12 + 4 * i).map_or(0, |v| v as usize);
        let (files, modules, strings_len, data_len) = (field(0), field(1), field(2), field(3));
        let strings_at = files
            .checked_mul(FILE_ENTRY_LEN)
            .and_then(|f| Some(f + modules.checked_mul(MODULE_ENTRY_LEN)?))
            .and_then(|index| index.checked_add(HEADER_LEN))
            .ok_or(Invalid::Length)?;
        let data_at = strings_at.checked_add(strings_len).ok_or(Invalid::Length)?;
        if data_at.checked_add(data_len) != Some(bytes.len()) {
            return Err(Invalid::Length);
        }
        Ok(Table {
            bytes,
            files,
            modules,
            strings: &bytes[strings_at..data_at],
            data: &bytes[data_at..],
            root: (field(4) as u32, field(5) as u32),
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
        let at = HEADER_LEN + i * FILE_ENTRY_LEN;
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
            let at = HEADER_LEN + self.files * FILE_ENTRY_LEN + i * MODULE_ENTRY_LEN;
            let field = |k: usize| u32_at(self.bytes, at + 4 * k);
            let name = self.string(field(0)?, field(1)?)?;
            let version = self.string(field(2)?, field(3)?)?;
            Some((name, version))
        })
    }

    /// The six fields of file entry `i`.
    fn file_entry(&self, i: usize) -> Option<[u32; 6]> {
        if i >= self.files {
            return None;
        }
        let at = HEADER_LEN + i * FILE_ENTRY_LEN;
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

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
