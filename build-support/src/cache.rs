//! The chunk cache: each file's compressed chunk from the previous run, so that a rerun of the
//! build script compresses only the files that changed.
//!
//! Build scripts are compiled without optimization, and there compressing 5 MB of source takes
//! over half a second, while hashing it takes 10–20 ms. The cache sits in `OUT_DIR` (see
//! [`path_for`]) and holds exactly the files of the last table, so it never grows beyond one
//! table's compressed size.
//!
//! ```text
//! magic     [u8; 8] = b"SNTRYCCH"
//! format    u16     = 1
//! writer    u64 length + bytes: "watchpost-build <version>"
//! count     u64
//! entries   count × { key_len u64, key, raw_len u64, hash u64, level u8, chunk_len u64, chunk }
//! checksum  u64     content_hash of everything before it
//! ```
//!
//! Integers are little-endian. A cache that is missing, truncated, damaged (checksum), of another
//! format or written by another version of this crate is ignored: every file is compressed again,
//! as on a first build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAGIC: [u8; 8] = *b"SNTRYCCH";
const FORMAT: u16 = 1;
/// Another version may compress differently; its chunks are not reused, so a table stays
/// byte-identical to a fresh build's. (Cargo gives the build script a new `OUT_DIR` when a
/// dependency's version changes; this does not rely on that.)
const WRITER: &str = concat!("watchpost-build ", env!("CARGO_PKG_VERSION"));
/// A directory, so no cache file can be named like a table (table names have no `/`).
const DIR: &str = "watchpost-build-cache";

/// Where the cache of the table at `table` lives: `OUT_DIR/watchpost-build-cache/<name>.cache`.
pub(crate) fn path_for(table: &Path) -> PathBuf {
    let mut name = table.file_name().unwrap_or_default().to_owned();
    name.push(".cache");
    table.with_file_name(DIR).join(name)
}

/// One file's compressed chunk and what it was compressed from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    raw_len: u64,
    hash: u64,
    level: u8,
    chunk: Vec<u8>,
}

/// Compressed chunks by table key.
#[derive(Debug, Default)]
pub(crate) struct ChunkCache {
    entries: BTreeMap<String, Entry>,
    reused: usize,
}

impl ChunkCache {
    /// The cache stored at `path`, or an empty one when there is none or it is not valid.
    pub(crate) fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| parse(&bytes))
            .unwrap_or_default()
    }

    /// Writes the cache to `path`. Best effort: without it the next run compresses everything
    /// again, and a torn write fails the checksum, so errors are ignored.
    pub(crate) fn store(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, self.to_bytes());
    }

    /// The chunk of `raw` at `level`, recorded here under `key` for the next run: moved out of
    /// `previous` when it holds the same contents (length and hash) at the same level, compressed
    /// otherwise.
    pub(crate) fn chunk(
        &mut self,
        key: &str,
        raw: &[u8],
        level: u8,
        previous: &mut ChunkCache,
    ) -> &[u8] {
        let (raw_len, hash) = (raw.len() as u64, content_hash(raw));
        let entry = match previous.entries.remove(key) {
            Some(old) if old.raw_len == raw_len && old.hash == hash && old.level == level => {
                self.reused += 1;
                old
            }
            _ => Entry {
                raw_len,
                hash,
                level,
                chunk: miniz_oxide::deflate::compress_to_vec(raw, level),
            },
        };
        self.entries.insert(key.to_owned(), entry);
        &self.entries[key].chunk
    }

    /// How many of the chunks came from the previous run's cache.
    pub(crate) fn reused(&self) -> usize {
        self.reused
    }

    /// The cached keys, in order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    fn to_bytes(&self) -> Vec<u8> {
        let chunks: usize = self.entries.values().map(|e| e.chunk.len()).sum();
        let mut out = Vec::with_capacity(64 + chunks + self.entries.len() * 64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        put_bytes(&mut out, WRITER.as_bytes());
        put_u64(&mut out, self.entries.len() as u64);
        for (key, entry) in &self.entries {
            put_bytes(&mut out, key.as_bytes());
            put_u64(&mut out, entry.raw_len);
            put_u64(&mut out, entry.hash);
            out.push(entry.level);
            put_bytes(&mut out, &entry.chunk);
        }
        let checksum = content_hash(&out);
        put_u64(&mut out, checksum);
        out
    }
}

/// The cache in `bytes`, or `None` if it is not a complete, undamaged cache of this version.
fn parse(bytes: &[u8]) -> Option<ChunkCache> {
    let (body, checksum) = bytes.split_last_chunk::<8>()?;
    if content_hash(body) != u64::from_le_bytes(*checksum) {
        return None;
    }
    let mut r = Reader(body);
    let header_ok = r.array()? == MAGIC
        && u16::from_le_bytes(r.array()?) == FORMAT
        && r.bytes()? == WRITER.as_bytes();
    if !header_ok {
        return None;
    }
    let count = r.u64()?;
    let mut entries = BTreeMap::new();
    // Each entry takes at least one byte, so a wrong count runs out of input rather than looping.
    for _ in 0..count {
        let key = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let entry = Entry {
            raw_len: r.u64()?,
            hash: r.u64()?,
            level: r.array::<1>()?[0],
            chunk: r.bytes()?.to_vec(),
        };
        entries.insert(key, entry);
    }
    r.0.is_empty().then_some(ChunkCache { entries, reused: 0 })
}

/// Reads a cache front to back; a read past the end is `None`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A `u64` length, then that many bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(head)
    }
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A 64-bit hash of `bytes`, to tell whether a file changed since its chunk was cached.
///
/// FNV-1a's xor-then-multiply, but over little-endian 64-bit words, with an odd multiplier and a
/// xor-shift per word. Each step is a bijection of the state, so inputs of equal length that
/// differ in a single word never collide. It is not cryptographic: it detects edits, and whoever
/// can write the sources controls the build anyway.
///
/// Build scripts run unoptimized, which decides the shape of the loop: a word per step with plain
/// indexing hashes 5 MB in 10–18 ms there, a byte-at-a-time FNV-1a in 28–37 ms, `chunks_exact(8)`
/// in 26–40 ms.
pub(crate) fn content_hash(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let word = [
            bytes[i],
            bytes[i + 1],
            bytes[i + 2],
            bytes[i + 3],
            bytes[i + 4],
            bytes[i + 5],
            bytes[i + 6],
            bytes[i + 7],
        ];
        h = mix(h, u64::from_le_bytes(word));
        i += 8;
    }
    let mut tail = [0u8; 8];
    tail[..bytes.len() - i].copy_from_slice(&bytes[i..]);
    mix(h, u64::from_le_bytes(tail))
}

fn mix(h: u64, word: u64) -> u64 {
    let h = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache holding `files` at level 6, as a run would leave it.
    fn cache_of(files: &[(&str, &str)]) -> ChunkCache {
        let (mut cache, mut none) = (ChunkCache::default(), ChunkCache::default());
        for (key, text) in files {
            cache.chunk(key, text.as_bytes(), 6, &mut none);
        }
        cache
    }

    #[test]
    fn round_trips_through_bytes() {
        let cache = cache_of(&[("a.rs", "fn a() {}\n"), ("b.rs", "")]);
        let parsed = parse(&cache.to_bytes()).unwrap();
        assert_eq!(parsed.entries, cache.entries);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = cache_of(&[("a.rs", "fn a() {}\n")]).to_bytes();
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_none(), "accepted {len} bytes");
        }
    }

    #[test]
    fn a_flipped_bit_is_rejected() {
        let bytes = cache_of(&[("a.rs", &"fn a() {}\n".repeat(20))]).to_bytes();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(parse(&damaged).is_none(), "accepted a flip at {at}");
        }
    }

    #[test]
    fn another_format_or_writer_is_rejected() {
        let bytes = cache_of(&[("a.rs", "fn a() {}\n")]).to_bytes();
        let reseal = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut body = bytes[..bytes.len() - 8].to_vec();
            edit(&mut body);
            let checksum = content_hash(&body);
            put_u64(&mut body, checksum);
            body
        };
        assert!(parse(&reseal(&|_| ())).is_some());
        assert!(parse(&reseal(&|b| b[8] = 2)).is_none(), "format 2");
        let writer_end = 8 + 2 + 8 + WRITER.len();
        assert!(
            parse(&reseal(&|b| b[writer_end - 1] ^= 1)).is_none(),
            "writer"
        );
    }

    #[test]
    fn hash_sees_a_change_in_any_byte_and_the_length() {
        let text = b"fn main() { println!(\"hello\"); }\n".repeat(3);
        let base = content_hash(&text);
        for at in 0..text.len() {
            let mut edited = text.clone();
            edited[at] ^= 1;
            assert_ne!(content_hash(&edited), base, "byte {at}");
        }
        assert_ne!(content_hash(b"ab"), content_hash(b"ab\0"));
        assert_ne!(content_hash(b""), content_hash(b"\0"));
    }

    #[test]
    fn cache_sits_in_its_own_directory_in_out_dir() {
        let path = path_for(Path::new("/out/sentry_sources.bin"));
        assert_eq!(
            path,
            Path::new("/out/watchpost-build-cache/sentry_sources.bin.cache")
        );
    }
}
