//! Resolving instruction pointers to functions and source lines, with a process-wide cache.
//!
//! A stack trace's addresses are resolved together: on Linux by `debuginfo` (the executable's
//! debug info, one compilation unit at a time), and by `backtrace::resolve` for whatever that
//! leaves. A new address still costs tens of microseconds or more (a unit is parsed), and errors
//! tend to repeat from the same places, so resolved addresses are cached: two generations of at
//! most [`GENERATION`] entries each. A hit in the older generation moves the entry to the newer
//! one; when the newer one fills up, the older is dropped wholesale. Hot addresses therefore stay,
//! and memory stays bounded at `2 × GENERATION` entries.
//!
//! What resolving loads (the mapped executable and its unit index, or `backtrace`'s copy of the
//! debug info) stays until [`RELEASE_AFTER`] passes without a new address to resolve; then the
//! worker releases it ([`release_if_idle`]), and the next new address loads it again.

use super::names::FunctionName;
use super::paths;
use crate::event::Frame;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries per cache generation.
pub(crate) const GENERATION: usize = 2048;

/// One function at an address; an address yields several when calls were inlined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SymbolInfo {
    /// The function's names, when the symbol has one.
    pub(crate) name: Option<FunctionName>,
    /// Absolute source path from debug info.
    pub(crate) abs_path: Option<String>,
    /// Source line, 1-based.
    pub(crate) lineno: Option<u32>,
    /// Source column, 1-based.
    pub(crate) colno: Option<u32>,
}

impl SymbolInfo {
    /// A symbol from its raw (mangled) name and debug-info location.
    pub(crate) fn new(
        raw_name: Option<&[u8]>,
        abs_path: Option<String>,
        lineno: Option<u32>,
        colno: Option<u32>,
    ) -> Self {
        let name = raw_name.map(|n| {
            let mut name = FunctionName::parse(&String::from_utf8_lossy(n));
            // Line-tables-only debug info names functions without their path; the file tells
            // which crate and module the code is in.
            if name.package.is_none() {
                if let Some((package, module)) =
                    abs_path.as_deref().and_then(paths::crate_and_module)
                {
                    name.package = Some(package);
                    name.module = Some(module);
                }
            }
            name
        });
        SymbolInfo {
            name,
            abs_path,
            lineno,
            colno,
        }
    }

    fn from_symbol(symbol: &backtrace::Symbol) -> Self {
        SymbolInfo::new(
            symbol.name().as_ref().map(backtrace::SymbolName::as_bytes),
            symbol.filename().map(|p| p.to_string_lossy().into_owned()),
            symbol.lineno(),
            symbol.colno(),
        )
    }

    /// A protocol frame for this symbol at instruction address `ip`.
    pub(crate) fn to_frame(&self, ip: usize) -> Frame {
        let mut frame = Frame::default();
        if let Some(name) = &self.name {
            frame.function = Some(name.function.clone());
            frame.raw_function.clone_from(&name.raw_function);
            frame.module.clone_from(&name.module);
            frame.package.clone_from(&name.package);
        }
        frame.abs_path.clone_from(&self.abs_path);
        frame.lineno = self.lineno;
        frame.colno = self.colno;
        frame.instruction_addr = Some(format!("{ip:#x}"));
        frame
    }
}

/// The symbols at each of `ips`, innermost (most deeply inlined) first; each address is
/// resolved once per process (while it stays in the cache).
pub(crate) fn symbols_for(ips: &[usize]) -> Vec<Arc<[SymbolInfo]>> {
    SymbolCache::get_or_resolve_all(&CACHE, ips, resolve_uncached)
}

/// How many addresses the process-wide cache holds.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "a diagnostic for tests and benchmarks")
)]
pub(crate) fn cache_len() -> usize {
    lock(&CACHE).len()
}

/// Whether the process-wide cache holds `ip`.
#[cfg(test)]
pub(crate) fn is_cached(ip: usize) -> bool {
    let cache = lock(&CACHE);
    cache.newer.contains_key(&ip) || cache.older.contains_key(&ip)
}

static CACHE: Mutex<SymbolCache> = Mutex::new(SymbolCache::new());

/// How long the loaded debug info is kept without a new address to resolve.
pub(crate) const RELEASE_AFTER: Duration = Duration::from_secs(60);

/// When an address was last resolved; `None` while no debug info is loaded (as far as this
/// crate made any load).
static LAST_RESOLVE: Mutex<Option<Instant>> = Mutex::new(None);

/// Releases the loaded debug info if nothing was resolved for `idle`. Returns true if it did.
pub(crate) fn release_if_idle(idle: Duration) -> bool {
    let mut last = LAST_RESOLVE.lock().unwrap_or_else(PoisonError::into_inner);
    match *last {
        Some(t) if t.elapsed() >= idle => {
            *last = None;
            // Under `last`'s lock: a resolution starting now records itself after the release.
            release_loaded();
            true
        }
        _ => false,
    }
}

/// Releases the loaded debug info now.
pub(crate) fn release() {
    let mut last = LAST_RESOLVE.lock().unwrap_or_else(PoisonError::into_inner);
    *last = None;
    release_loaded();
}

fn release_loaded() {
    #[cfg(target_os = "linux")]
    super::debuginfo::release();
    backtrace::clear_symbol_cache();
}

/// Resolves `ips` with the executable's debug info (Linux), and with `backtrace` whatever that
/// leaves (other systems, other libraries' files that cannot be read, unusual debug info).
fn resolve_uncached(ips: &[usize]) -> Vec<Vec<SymbolInfo>> {
    *LAST_RESOLVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    #[cfg(target_os = "linux")]
    let found = super::debuginfo::resolve(ips);
    #[cfg(not(target_os = "linux"))]
    let found = vec![None; ips.len()];
    ips.iter()
        .zip(found)
        .map(|(&ip, symbols)| {
            let mut symbols = symbols.unwrap_or_else(|| resolve_with_backtrace(ip));
            if symbols.is_empty() {
                // Still one frame, so the address is reported.
                symbols.push(SymbolInfo::default());
            }
            symbols
        })
        .collect()
}

/// The symbols `backtrace` finds at return address `ip`.
pub(crate) fn resolve_with_backtrace(ip: usize) -> Vec<SymbolInfo> {
    let mut symbols = Vec::new();
    backtrace::resolve(std::ptr::without_provenance_mut(ip), |symbol| {
        symbols.push(SymbolInfo::from_symbol(symbol));
    });
    symbols
}

fn lock(cache: &Mutex<SymbolCache>) -> std::sync::MutexGuard<'_, SymbolCache> {
    // The cache holds no invariant a panic could break halfway; keep using it.
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Address → symbols, in two generations (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct SymbolCache {
    newer: BTreeMap<usize, Arc<[SymbolInfo]>>,
    older: BTreeMap<usize, Arc<[SymbolInfo]>>,
}

impl SymbolCache {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        SymbolCache {
            newer: BTreeMap::new(),
            older: BTreeMap::new(),
        }
    }

    /// Entries held.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "a diagnostic for tests and benchmarks")
    )]
    pub(crate) fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    /// The cached symbols at each of `ips`, the others resolved together by `resolve` (which
    /// returns one entry per address it is given) and stored for next time. The lock is not
    /// held while resolving; two threads may resolve the same address once each, which is
    /// harmless.
    pub(crate) fn get_or_resolve_all(
        cache: &Mutex<Self>,
        ips: &[usize],
        resolve: impl FnOnce(&[usize]) -> Vec<Vec<SymbolInfo>>,
    ) -> Vec<Arc<[SymbolInfo]>> {
        let mut found: Vec<Option<Arc<[SymbolInfo]>>> = {
            let mut cache = lock(cache);
            ips.iter().map(|&ip| cache.get(ip)).collect()
        };
        let mut missing: Vec<usize> = ips
            .iter()
            .zip(&found)
            .filter(|(_, hit)| hit.is_none())
            .map(|(&ip, _)| ip)
            .collect();
        if missing.is_empty() {
            return found.into_iter().flatten().collect();
        }
        missing.sort_unstable();
        missing.dedup();
        let resolved: Vec<Arc<[SymbolInfo]>> =
            resolve(&missing).into_iter().map(Arc::from).collect();
        {
            let mut cache = lock(cache);
            for (&ip, symbols) in missing.iter().zip(&resolved) {
                cache.insert(ip, Arc::clone(symbols));
            }
        }
        for (slot, &ip) in found.iter_mut().zip(ips) {
            if slot.is_none() {
                // `missing` is sorted and holds `ip`; an empty fallback only if `resolve` broke
                // its promise of one entry per address.
                *slot = missing
                    .binary_search(&ip)
                    .ok()
                    .and_then(|i| resolved.get(i).cloned());
            }
        }
        found
            .into_iter()
            .map(|symbols| symbols.unwrap_or_else(|| Arc::from(vec![SymbolInfo::default()])))
            .collect()
    }

    fn get(&mut self, ip: usize) -> Option<Arc<[SymbolInfo]>> {
        if let Some(hit) = self.newer.get(&ip) {
            return Some(Arc::clone(hit));
        }
        let hit = self.older.remove(&ip)?;
        self.insert(ip, Arc::clone(&hit));
        Some(hit)
    }

    fn insert(&mut self, ip: usize, symbols: Arc<[SymbolInfo]>) {
        if self.newer.len() >= GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(ip, symbols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn fake(ip: usize) -> Vec<SymbolInfo> {
        vec![SymbolInfo {
            lineno: Some(u32::try_from(ip).unwrap_or(0)),
            ..SymbolInfo::default()
        }]
    }

    #[inline(never)]
    fn a_known_function() -> usize {
        std::hint::black_box(a_known_function as *const () as usize)
    }

    fn name_at(ip: usize) -> Option<String> {
        resolve_uncached(&[ip])[0]
            .first()
            .and_then(|s| s.name.as_ref())
            .map(|n| n.function.clone())
    }

    #[test]
    fn idle_debug_info_is_released_and_loaded_again_when_needed() {
        let ip = a_known_function() + 1;
        let name = name_at(ip).unwrap();
        assert!(name.ends_with("a_known_function"), "{name}");
        assert!(
            !release_if_idle(Duration::from_secs(3600)),
            "just used: kept"
        );
        assert!(release_if_idle(Duration::ZERO), "idle: released");
        assert!(
            !release_if_idle(Duration::ZERO),
            "nothing loaded: nothing to release"
        );
        assert_eq!(name_at(ip).as_deref(), Some(name.as_str()), "loaded again");
        release();
        assert!(!release_if_idle(Duration::ZERO));
    }

    #[test]
    fn a_second_lookup_hits_the_cache() {
        let cache = Mutex::new(SymbolCache::new());
        let calls = Cell::new(0);
        let resolve = |ips: &[usize]| {
            calls.set(calls.get() + ips.len());
            ips.iter().map(|&ip| fake(ip)).collect()
        };
        let first = SymbolCache::get_or_resolve_all(&cache, &[7], resolve);
        let second = SymbolCache::get_or_resolve_all(&cache, &[7], resolve);
        assert_eq!(calls.get(), 1);
        assert!(Arc::ptr_eq(&first[0], &second[0]));
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_hot_entries() {
        let cache = Mutex::new(SymbolCache::new());
        let calls = Cell::new(0);
        let resolve = |ips: &[usize]| {
            calls.set(calls.get() + ips.len());
            ips.iter().map(|&ip| fake(ip)).collect()
        };
        SymbolCache::get_or_resolve_all(&cache, &[1], resolve);
        for ip in 2..=5 * GENERATION {
            SymbolCache::get_or_resolve_all(&cache, &[ip], resolve);
            // Address 1 is used all the time, so it is never evicted.
            SymbolCache::get_or_resolve_all(&cache, &[1], resolve);
            assert!(lock(&cache).len() <= 2 * GENERATION);
        }
        assert_eq!(calls.get(), 5 * GENERATION);
        // An address from long ago was evicted and is resolved again.
        SymbolCache::get_or_resolve_all(&cache, &[2], resolve);
        assert_eq!(calls.get(), 5 * GENERATION + 1);
    }

    #[test]
    fn a_batch_resolves_only_the_missing_addresses_once_each() {
        let cache = Mutex::new(SymbolCache::new());
        let asked = std::cell::RefCell::new(Vec::new());
        let resolve = |ips: &[usize]| {
            asked.borrow_mut().push(ips.to_vec());
            ips.iter().map(|&ip| fake(ip)).collect()
        };
        SymbolCache::get_or_resolve_all(&cache, &[5], resolve);
        let symbols = SymbolCache::get_or_resolve_all(&cache, &[9, 5, 3, 9], resolve);
        assert_eq!(*asked.borrow(), [vec![5], vec![3, 9]]);
        let lines: Vec<_> = symbols.iter().map(|s| s[0].lineno).collect();
        assert_eq!(lines, [Some(9), Some(5), Some(3), Some(9)]);
    }

    #[test]
    fn unresolvable_addresses_still_make_a_frame() {
        let symbols = &resolve_uncached(&[1])[0];
        assert_eq!(symbols.len(), 1);
        let frame = symbols[0].to_frame(0x1);
        assert_eq!(frame.instruction_addr.as_deref(), Some("0x1"));
        assert_eq!(frame.function, None);
    }
}
