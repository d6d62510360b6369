//! Process-wide, bounded caches shared by every copy of a [`SourceTable`](super::SourceTable).
//!
//! A `SourceTable` is a `Copy` handle to `'static` bytes, so its caches live here, keyed by the
//! table's address. Frames of one event usually hit the same few files, and events repeat, so a
//! few inflated files and a few hundred path answers cover the common case: a cached lookup is a
//! short locked scan, not an inflate (~5 µs) or a scan of every key.

use super::lines::SourceFile;
use std::sync::{Arc, Mutex, PoisonError};

/// Inflated files kept.
const FILES: usize = 8;
/// Path → key answers kept for suffix matching (hits and misses).
const PATHS: usize = 256;

static INFLATED: Mutex<Lru<(usize, usize), Arc<SourceFile>>> = Mutex::new(Lru::new(FILES));
/// Keyed by table, a hash of the path (compared first, so a miss costs no string compare), path.
static MATCHED: Mutex<Lru<(usize, u64, String), Option<usize>>> = Mutex::new(Lru::new(PATHS));

/// The inflated file `index` of the table at `table`, inflating it with `load` on a miss.
pub(crate) fn file(
    table: usize,
    index: usize,
    load: impl FnOnce() -> Option<SourceFile>,
) -> Option<Arc<SourceFile>> {
    let key = (table, index);
    if let Some(hit) = lock(&INFLATED).get(|k| *k == key) {
        return Some(hit);
    }
    // Inflate outside the lock; two threads may both inflate a file once, which is harmless.
    let file = Arc::new(load()?);
    lock(&INFLATED).insert(key, Arc::clone(&file));
    Some(file)
}

/// The suffix-match answer for `path` in the table at `table`, computing it with `find` on a miss.
pub(crate) fn matched(
    table: usize,
    path: &str,
    find: impl FnOnce() -> Option<usize>,
) -> Option<usize> {
    let hash = fnv1a(path.as_bytes());
    let hit = lock(&MATCHED).get(|(t, h, p)| (*t, *h) == (table, hash) && p == path);
    if let Some(hit) = hit {
        return hit;
    }
    let answer = find();
    lock(&MATCHED).insert((table, hash, path.to_owned()), answer);
    answer
}

/// A fast hash for the short paths of the match cache (FNV-1a, 64 bit).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The caches hold no invariant a panic could break halfway; keep using them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A small, approximately least-recently-used map: a vector, new and often used entries first,
/// evicted from the back. Linear scans beat hashing at these sizes.
#[derive(Debug)]
struct Lru<K, V> {
    entries: Vec<(K, V)>,
    capacity: usize,
}

impl<K: PartialEq, V: Clone> Lru<K, V> {
    const fn new(capacity: usize) -> Self {
        Lru {
            entries: Vec::new(),
            capacity,
        }
    }

    /// The value for the first key `is_key` accepts. A hit moves one step towards the front
    /// (O(1), unlike moving to the front), so entries in use drift away from eviction.
    fn get(&mut self, is_key: impl Fn(&K) -> bool) -> Option<V> {
        let at = self.entries.iter().position(|(k, _)| is_key(k))?;
        let value = self.entries[at].1.clone();
        if at > 0 {
            self.entries.swap(at, at - 1);
        }
        Some(value)
    }

    fn insert(&mut self, key: K, value: V) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.truncate(self.capacity.saturating_sub(1));
        self.entries.insert(0, (key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert(1, "a");
        lru.insert(2, "b");
        assert_eq!(lru.get(|k| *k == 1), Some("a"));
        lru.insert(3, "c");
        assert_eq!(lru.get(|k| *k == 2), None);
        assert_eq!(lru.get(|k| *k == 1), Some("a"));
        assert_eq!(lru.get(|k| *k == 3), Some("c"));
    }

    #[test]
    fn lru_replaces_an_existing_key() {
        let mut lru = Lru::new(2);
        lru.insert(1, "a");
        lru.insert(1, "b");
        assert_eq!(lru.entries.len(), 1);
        assert_eq!(lru.get(|k| *k == 1), Some("b"));
    }
}
