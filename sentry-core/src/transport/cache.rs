//! The offline cache (option `cache_dir`): envelopes on disk until the server has answered.
//!
//! One file per envelope, written atomically (a temporary file renamed into place), so a
//! process killed mid-write leaves either the whole envelope or nothing. Files are named
//! `<nanoseconds>-<pid>-<seq>-<categories>.envelope`: names sort oldest first, and the item
//! categories in the name let an evicted or corrupt file be counted without reading it. Files
//! never carry `sent_at` (it is set on the copy that goes out).
//!
//! One process at a time should use a cache directory: the index of files is read when the
//! cache opens and kept in memory after that.

use super::debug_log;
use super::stats::{static_category, DropReason, Stats};
use crate::envelope::{dropped_quantities, Envelope};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

const SUFFIX: &str = ".envelope";
const TMP_SUFFIX: &str = ".tmp";

#[derive(Debug, Default)]
struct Index {
    /// File name → (size, claimed). A claimed file is being sent by this process and is never
    /// evicted; it is removed or released when the send is settled.
    files: BTreeMap<String, (u64, bool)>,
    bytes: u64,
    /// Files in `files` that are claimed.
    claimed: usize,
}

/// An envelope file this process is sending; settle it with [`OfflineCache::remove`] or
/// [`OfflineCache::release`].
#[derive(Debug)]
pub(crate) struct Claim {
    name: String,
}

/// Envelopes kept on disk, capped by count and bytes (the oldest go first, counted as
/// `cache_overflow`).
#[derive(Debug)]
pub(crate) struct OfflineCache {
    dir: PathBuf,
    max_envelopes: usize,
    max_bytes: u64,
    index: Mutex<Index>,
    seq: AtomicU64,
    stats: Arc<Stats>,
    debug: bool,
}

impl OfflineCache {
    /// Opens (creating it if needed) the cache directory: removes temporary files a killed
    /// process left behind and indexes the envelopes found, evicting beyond the caps.
    pub(crate) fn open(
        dir: &Path,
        max_envelopes: usize,
        max_bytes: u64,
        stats: Arc<Stats>,
        debug: bool,
    ) -> io::Result<OfflineCache> {
        fs::create_dir_all(dir)?;
        let mut index = Index::default();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.ends_with(TMP_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            } else if name.ends_with(SUFFIX) {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                index.bytes += size;
                index.files.insert(name, (size, false));
            }
        }
        let cache = OfflineCache {
            dir: dir.to_owned(),
            max_envelopes: max_envelopes.max(1),
            max_bytes,
            index: Mutex::new(index),
            seq: AtomicU64::new(0),
            stats,
            debug,
        };
        let mut index = cache.lock();
        debug_log!(
            debug,
            "offline cache {}: {} envelopes from earlier runs",
            dir.display(),
            index.files.len()
        );
        let evicted = cache.evict_over_limits(&mut index, None);
        drop(index);
        cache.delete_files(&evicted);
        Ok(cache)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // Plain data: a panic while it was locked leaves it usable.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes an envelope to the cache. `claimed`: the caller sends it now (write-ahead) and
    /// settles the returned claim; otherwise it waits for [`claim_oldest`](Self::claim_oldest).
    /// `None` when it could not be written (logged) or is larger than the byte cap.
    pub(crate) fn write(&self, envelope: &Envelope, claimed: bool) -> Option<Claim> {
        let bytes = envelope.to_bytes();
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            debug_log!(
                self.debug,
                "offline cache: a {size}-byte envelope exceeds cache_max_bytes; not cached"
            );
            return None;
        }
        let name = self.file_name(envelope);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}{TMP_SUFFIX}"));
        if let Err(e) = write_file(&tmp, &bytes).and_then(|()| fs::rename(&tmp, &path)) {
            let _ = fs::remove_file(&tmp);
            log::warn!(target: "watchpost", "could not write to the Sentry offline cache {}: {e}", self.dir.display());
            return None;
        }
        let mut index = self.lock();
        index.files.insert(name.clone(), (size, claimed));
        index.bytes += size;
        index.claimed += usize::from(claimed);
        let evicted = self.evict_over_limits(&mut index, Some(&name));
        let cached = index.files.len();
        drop(index);
        self.delete_files(&evicted);
        debug_log!(
            self.debug,
            "offline cache: wrote {name} ({size} bytes, {cached} cached)"
        );
        Some(Claim { name })
    }

    fn file_name(&self, envelope: &Envelope) -> String {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let cats = categories(envelope);
        let cats = if cats.is_empty() {
            "default".to_owned()
        } else {
            cats.iter()
                .map(|(cat, n)| name_token(cat, *n))
                .collect::<Vec<_>>()
                .join("_")
        };
        format!("{nanos:020}-{}-{seq:06}-{cats}{SUFFIX}", std::process::id())
    }

    /// Evicts the oldest unclaimed files from the index until both caps hold, counting their
    /// items as `cache_overflow`. `keep` (the file just written) goes only if nothing else can.
    /// Returns the evicted names: the caller deletes them once it has let go of the index.
    fn evict_over_limits(&self, index: &mut Index, keep: Option<&str>) -> Vec<String> {
        let mut evicted = Vec::new();
        while index.files.len() > self.max_envelopes || index.bytes > self.max_bytes {
            let victim = index
                .files
                .iter()
                .find(|(name, (_, claimed))| !claimed && Some(name.as_str()) != keep)
                .map(|(name, _)| name.clone());
            let Some(name) = victim else { break };
            self.unindex(index, &name);
            self.count_items(&name, DropReason::CacheOverflow);
            debug_log!(self.debug, "offline cache full: evicted {name}");
            evicted.push(name);
        }
        self.stats
            .cached
            .store(index.files.len() as u64, Ordering::Relaxed);
        evicted
    }

    /// Takes a file out of the index (not off the disk).
    fn unindex(&self, index: &mut Index, name: &str) {
        if let Some((size, claimed)) = index.files.remove(name) {
            index.bytes = index.bytes.saturating_sub(size);
            index.claimed -= usize::from(claimed);
        }
        self.stats
            .cached
            .store(index.files.len() as u64, Ordering::Relaxed);
    }

    /// Deletes files already taken out of the index; never called with the index locked, so
    /// a slow disk holds up no other thread.
    fn delete_files(&self, names: &[String]) {
        for name in names {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    /// Takes a file out of the index, then off the disk.
    fn forget(&self, name: &str) {
        self.unindex(&mut self.lock(), name);
        let _ = fs::remove_file(self.dir.join(name));
    }

    fn count_items(&self, name: &str, reason: DropReason) {
        for (cat, quantity) in categories_in_name(name) {
            self.stats.record_drop(reason, cat, quantity);
        }
    }

    /// Envelopes waiting to be sent (not claimed by a send in progress).
    pub(crate) fn pending(&self) -> usize {
        let index = self.lock();
        index.files.len() - index.claimed
    }

    /// Claims the oldest waiting envelope and reads it. A file that vanished is forgotten; one
    /// that cannot be read is deleted and counted (`internal_sdk_error`).
    pub(crate) fn claim_oldest(&self) -> Option<(Claim, Vec<u8>)> {
        loop {
            let name = {
                let mut index = self.lock();
                let (name, entry) = index.files.iter_mut().find(|(_, (_, claimed))| !claimed)?;
                entry.1 = true;
                let name = name.clone();
                index.claimed += 1;
                name
            };
            match fs::read(self.dir.join(&name)) {
                Ok(bytes) => return Some((Claim { name }, bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.forget(&name);
                }
                Err(e) => {
                    debug_log!(self.debug, "offline cache: could not read {name}: {e}");
                    self.discard_corrupt(Claim { name });
                }
            }
        }
    }

    /// The send got an answer (or the envelope is done with): delete the file.
    pub(crate) fn remove(&self, claim: Claim) {
        self.forget(&claim.name);
        debug_log!(self.debug, "offline cache: removed {}", claim.name);
    }

    /// The send got no answer: the file stays for a later attempt.
    pub(crate) fn release(&self, claim: Claim) {
        let mut index = self.lock();
        if let Some(entry) = index.files.get_mut(&claim.name) {
            if std::mem::replace(&mut entry.1, false) {
                index.claimed -= 1;
            }
        }
        drop(index);
        debug_log!(self.debug, "offline cache: kept {} for later", claim.name);
    }

    /// The file is not a readable envelope: delete it and count its items.
    pub(crate) fn discard_corrupt(&self, claim: Claim) {
        self.forget(&claim.name);
        self.count_items(&claim.name, DropReason::InternalSdkError);
        log::warn!(target: "watchpost", "skipped a corrupt file in the Sentry offline cache: {}", claim.name);
    }
}

/// What the items of an envelope count as when dropped (see [`dropped_quantities`]), client
/// reports left out: (category, quantity) pairs, one per category in order of appearance.
pub(crate) fn categories(envelope: &Envelope) -> Vec<(&'static str, u64)> {
    let mut out: Vec<(&'static str, u64)> = Vec::new();
    for item in envelope
        .items()
        .iter()
        .filter(|i| i.ty() != "client_report")
    {
        for (cat, n) in dropped_quantities(item) {
            match out.iter_mut().find(|(c, _)| *c == cat) {
                Some((_, total)) => *total += n,
                None => out.push((cat, n)),
            }
        }
    }
    out
}

/// A category and its quantity in a file name: `error`, or `log.item.100` for `log_item` × 100
/// (`_` separates the tokens; `-` the parts of the name).
fn name_token(category: &str, quantity: u64) -> String {
    let cat = category.replace('_', ".");
    if quantity == 1 {
        cat
    } else {
        format!("{cat}.{quantity}")
    }
}

/// The categories and quantities encoded in a file name; `default` × 1 when there are none.
fn categories_in_name(name: &str) -> Vec<(&'static str, u64)> {
    let cats = name
        .strip_suffix(SUFFIX)
        .and_then(|s| s.rsplit('-').next())
        .unwrap_or("");
    let v: Vec<(&'static str, u64)> = cats
        .split('_')
        .filter(|c| !c.is_empty())
        .map(|token| {
            let (cat, quantity) = match token.rsplit_once('.') {
                Some((cat, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    (cat, n.parse().unwrap_or(1))
                }
                _ => (token, 1),
            };
            (static_category(&cat.replace('.', "_")), quantity)
        })
        .collect();
    if v.is_empty() {
        vec![("default", 1)]
    } else {
        v
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    // No fsync: the rename makes the write atomic for a process that crashes or is killed; a
    // power cut may still lose the newest files, which then read as corrupt and are skipped.
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;
    use crate::envelope::EnvelopeItem;

    fn envelope(id: &str) -> Envelope {
        let mut env = Envelope::new();
        env.set_header("event_id", id);
        env.add_item(EnvelopeItem::new(
            "event",
            format!("{{\"event_id\":\"{id}\"}}").into_bytes(),
        ));
        env
    }

    /// A fresh directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);
    impl TempDir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn tempdir() -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sentry-cache-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn open(dir: &Path, max: usize, bytes: u64) -> (OfflineCache, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        (
            OfflineCache::open(dir, max, bytes, stats.clone(), false).unwrap(),
            stats,
        )
    }

    fn event_id(bytes: &[u8]) -> String {
        Envelope::parse(bytes).unwrap().headers()["event_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn envelopes_come_back_oldest_first_and_survive_reopening() {
        let dir = tempdir();
        let (cache, _) = open(dir.path(), 10, 1 << 20);
        for id in ["a", "b", "c"] {
            cache.write(&envelope(id), false).unwrap();
        }
        drop(cache);
        let (cache, stats) = open(dir.path(), 10, 1 << 20);
        assert_eq!(stats.snapshot().cached, 3);
        let (claim, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "a");
        cache.remove(claim);
        let (claim, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "b");
        cache.release(claim);
        let (_claim, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "b", "a released file is offered again");
        assert_eq!(cache.pending(), 1);
    }

    #[test]
    fn count_cap_evicts_the_oldest_and_counts_it() {
        let dir = tempdir();
        let (cache, stats) = open(dir.path(), 2, 1 << 20);
        for id in ["a", "b", "c"] {
            cache.write(&envelope(id), false).unwrap();
        }
        let s = stats.snapshot();
        assert_eq!(s.cached, 2);
        assert_eq!(
            s.dropped
                .get(&(DropReason::CacheOverflow, "error".to_owned())),
            Some(&1)
        );
        let (_c, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "b");
    }

    #[test]
    fn byte_cap_holds_and_claimed_files_are_never_evicted() {
        let dir = tempdir();
        let size = envelope("a").to_bytes().len() as u64;
        let (cache, stats) = open(dir.path(), 100, size * 2);
        let _sending = cache.write(&envelope("a"), true).unwrap();
        cache.write(&envelope("b"), false).unwrap();
        cache.write(&envelope("c"), false).unwrap();
        assert_eq!(stats.snapshot().dropped_for(DropReason::CacheOverflow), 1);
        let (_c, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "c", "b was evicted, a is claimed");
        assert!(
            cache.write(&envelope(&"x".repeat(1000)), false).is_none(),
            "larger than the byte cap"
        );
    }

    #[test]
    fn corrupt_files_are_skipped_counted_and_deleted_and_tmp_files_cleaned() {
        let dir = tempdir();
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(
            dir.path()
                .join("00000000000000000001-1-000000-error.envelope"),
            b"garbage",
        )
        .unwrap();
        fs::write(dir.path().join(".x.envelope.tmp"), b"half").unwrap();
        let (cache, stats) = open(dir.path(), 10, 1 << 20);
        assert!(!dir.path().join(".x.envelope.tmp").exists());
        cache.write(&envelope("good"), false).unwrap();
        let (claim, bytes) = cache.claim_oldest().unwrap();
        assert!(Envelope::parse(&bytes).is_err());
        cache.discard_corrupt(claim);
        assert_eq!(
            stats.snapshot().dropped_for(DropReason::InternalSdkError),
            1
        );
        let (_c, bytes) = cache.claim_oldest().unwrap();
        assert_eq!(event_id(&bytes), "good");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_log_item_is_named_with_its_logs_and_bytes_and_counted_exactly() {
        let dir = tempdir();
        let (cache, stats) = open(dir.path(), 1, 1 << 20);
        let mut env = Envelope::new();
        env.add_item(EnvelopeItem::new("log", vec![b' '; 300]).with_header("item_count", 100));
        env.add_item(EnvelopeItem::new("attachment", b"x".to_vec()));
        env.add_item(EnvelopeItem::new("attachment", b"y".to_vec()));
        cache.write(&env, false).unwrap();
        let entry = fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(
            name.ends_with("-log.item.100_log.byte.300_attachment.2.envelope"),
            "{name}"
        );
        // The cache holds one envelope: writing a second evicts the first, counted exactly.
        cache.write(&envelope("b"), false).unwrap();
        let s = stats.snapshot();
        let evicted = |cat: &str| s.dropped[&(DropReason::CacheOverflow, cat.to_owned())];
        assert_eq!(
            (
                evicted("log_item"),
                evicted("log_byte"),
                evicted("attachment")
            ),
            (100, 300, 2)
        );
        assert_eq!(categories_in_name("1-2-3-error.envelope"), [("error", 1)]);
    }

    #[test]
    fn files_carry_no_sent_at_and_name_their_categories() {
        let dir = tempdir();
        let (cache, _) = open(dir.path(), 10, 1 << 20);
        let mut env = envelope("a");
        env.add_item(EnvelopeItem::new("attachment", b"x".to_vec()));
        cache.write(&env, false).unwrap();
        let entry = fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(name.ends_with("-error_attachment.envelope"), "{name}");
        assert_eq!(
            categories_in_name(&name),
            vec![("error", 1), ("attachment", 1)]
        );
        let stored = Envelope::parse(&fs::read(entry.path()).unwrap()).unwrap();
        assert!(stored.headers().get("sent_at").is_none());
    }
}
