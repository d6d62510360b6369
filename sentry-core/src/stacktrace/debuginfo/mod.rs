//! Resolving addresses with the executable's own debug info, reading as little of it as
//! possible (Linux).
//!
//! The executable is mapped, not read: only the pages looked at become resident, and they are
//! file-backed, so the kernel can drop them under memory pressure. Loading builds an index of
//! the compilation units (a few dozen bytes per unit, see [`units`]); resolving an address then
//! parses the one unit that holds it (its entries and line program). Each batch of addresses (a
//! stack trace) maps the file afresh and drops the mapping and the parsed units at its end, so
//! what it read leaves resident memory with it: the resolved symbols are cached by the caller,
//! by address.
//!
//! Addresses in shared libraries (libc's thread and process start) get the name of their symbol
//! from the library's symbol table, without loading its debug info. Anything this module cannot
//! handle (no `/proc`, compressed or separate debug info, a library file that changed) is left to
//! the caller, which asks `backtrace`.

mod objects;
mod units;

use super::symbol::SymbolInfo;
use objects::{Elf, Mapped, Region};
use std::sync::{Mutex, MutexGuard, PoisonError};
use units::{Context, Hull, UnitIndex};

/// What is known about the executable.
#[derive(Debug)]
enum State {
    /// Nothing loaded (at start, and after [`release`]).
    Unloaded,
    /// Indexed; the file is mapped for each batch of addresses.
    Loaded(Executable),
    /// Not usable here; every address goes to the fallback until the next [`release`].
    Unusable,
}

/// The executable (by inode, which stays the same while the process runs) and its unit index.
#[derive(Debug)]
struct Executable {
    inode: u64,
    index: UnitIndex,
}

impl Executable {
    fn load() -> Option<Executable> {
        let inode = objects::executable_inode()?;
        // The index is built through mappings of its own, a fresh one for each slice of
        // `.debug_info`: the pages read (every unit's root entry and range list) leave the
        // process's resident memory as each mapping is dropped, so they never add up.
        let mut index = UnitIndex::default();
        let mut next = Some(0);
        while let Some(from) = next {
            let scratch = Mapped::open(std::path::Path::new(objects::EXE), inode)?;
            let elf = Elf::parse(scratch.bytes()).ok()?;
            next = index.add_units(&units::load_dwarf(&elf)?, from, INDEX_SLICE);
        }
        index.shrink_to_fit();
        Some(Executable { inode, index })
    }
}

/// Bytes of `.debug_info` indexed through one mapping.
const INDEX_SLICE: usize = 1 << 20;

static STATE: Mutex<State> = Mutex::new(State::Unloaded);

fn lock() -> MutexGuard<'static, State> {
    // A panic while loading leaves `Unloaded` or a complete value; keep using it.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drops the unit index; the next resolution builds it again.
pub(crate) fn release() {
    *lock() = State::Unloaded;
}

/// The symbols at each of `ips` (return addresses, as a stack walk gives them), innermost first;
/// `None` for an address the caller must resolve another way.
pub(crate) fn resolve(ips: &[usize]) -> Vec<Option<Vec<SymbolInfo>>> {
    let mut state = lock();
    if matches!(*state, State::Unloaded) {
        *state = match Executable::load() {
            Some(exe) => State::Loaded(exe),
            None => State::Unusable,
        };
    }
    let State::Loaded(exe) = &*state else {
        return vec![None; ips.len()];
    };
    let Some(map) = Mapped::open(std::path::Path::new(objects::EXE), exe.inode) else {
        return vec![None; ips.len()];
    };
    let Ok(elf) = Elf::parse(map.bytes()) else {
        return vec![None; ips.len()];
    };
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let regions: Vec<Region> = maps.lines().filter_map(Region::parse).collect();
    let mut session = Session {
        exe,
        elf,
        units: Vec::new(),
        libraries: Vec::new(),
    };
    ips.iter()
        .map(|&ip| session.resolve(ip, &regions))
        .collect()
}

/// One batch of addresses: the units and libraries opened for it are dropped at its end.
struct Session<'a> {
    exe: &'a Executable,
    elf: Elf<'a>,
    /// Unit contexts by offset in `.debug_info`; `None` for a unit that could not be read.
    units: Vec<(usize, Option<Context<'a>>)>,
    /// Libraries mapped so far, by path.
    libraries: Vec<(std::path::PathBuf, Option<Mapped>)>,
}

impl Session<'_> {
    fn resolve(&mut self, ip: usize, regions: &[Region]) -> Option<Vec<SymbolInfo>> {
        // A return address points after the call; the call itself is the byte before.
        let avma = ip.checked_sub(1)?;
        let Some(region) = regions.iter().find(|r| r.start <= avma && avma < r.end) else {
            // No file behind it (JIT code, the vDSO): the address alone.
            return Some(Vec::new());
        };
        if region.inode == self.exe.inode {
            let svma = objects::svma_of_offset(&self.elf, region.file_offset(avma))?;
            return self.in_executable(svma);
        }
        self.in_library(region, avma)
    }

    /// From the unit holding `svma`, else from the symbol table; `None` when the unit's
    /// function entries refer to another unit (code inlined from another crate, as release
    /// builds have it everywhere): one unit alone cannot name those frames, so the caller
    /// resolves the address with `backtrace`, which reads every unit.
    fn in_executable(&mut self, svma: u64) -> Option<Vec<SymbolInfo>> {
        let elf = &self.elf;
        let symtab = || objects::symbol_name(elf, svma);
        for hull in self.exe.index.candidates(svma) {
            let Some(context) = unit(&mut self.units, elf, &hull) else {
                continue;
            };
            match frames(context, svma, symtab) {
                Ok(symbols) if symbols.is_empty() => continue,
                Ok(symbols) => return Some(symbols),
                Err(()) => return None,
            }
        }
        Some(
            symtab()
                .map(|name| vec![symbol(Some(name), None)])
                .unwrap_or_default(),
        )
    }

    /// The name of the library symbol holding `avma`; `None` when the library cannot be read.
    fn in_library(&mut self, region: &Region, avma: usize) -> Option<Vec<SymbolInfo>> {
        let i = match self.libraries.iter().position(|(p, _)| *p == region.path) {
            Some(i) => i,
            None => {
                let map = Mapped::open(&region.path, region.inode);
                self.libraries.push((region.path.clone(), map));
                self.libraries.len() - 1
            }
        };
        let elf = Elf::parse(self.libraries[i].1.as_ref()?.bytes()).ok()?;
        let svma = objects::svma_of_offset(&elf, region.file_offset(avma))?;
        Some(
            objects::symbol_name(&elf, svma)
                .map(|name| vec![symbol(Some(name), None)])
                .unwrap_or_default(),
        )
    }
}

/// The context of unit `hull`, made the first time this stack trace needs it.
fn unit<'s, 'a>(
    units: &'s mut Vec<(usize, Option<Context<'a>>)>,
    elf: &Elf<'a>,
    hull: &Hull,
) -> Option<&'s Context<'a>> {
    let i = match units.iter().position(|(offset, _)| *offset == hull.offset) {
        Some(i) => i,
        None => {
            let context = units::load_dwarf(elf).and_then(|dwarf| units::unit_context(dwarf, hull));
            units.push((hull.offset, context));
            units.len() - 1
        }
    };
    units[i].1.as_ref()
}

/// The frames at `svma` in `context`, innermost first; a frame without a function entry is
/// named from the symbol table, as `backtrace` does.
fn frames<'a>(
    context: &Context<'a>,
    svma: u64,
    symtab: impl Fn() -> Option<&'a [u8]>,
) -> Result<Vec<SymbolInfo>, ()> {
    let mut iter = context.find_frames(svma).skip_all_loads().map_err(|_| ())?;
    let mut symbols = Vec::new();
    while let Some(frame) = iter.next().map_err(|_| ())? {
        let name = match &frame.function {
            Some(function) => Some(function.name.slice()),
            None => symtab(),
        };
        symbols.push(symbol(name, frame.location.as_ref()));
    }
    Ok(symbols)
}

fn symbol(name: Option<&[u8]>, location: Option<&addr2line::Location<'_>>) -> SymbolInfo {
    SymbolInfo::new(
        name,
        location.and_then(|l| l.file).map(str::to_owned),
        location.and_then(|l| l.line),
        location.and_then(|l| l.column),
    )
}

#[cfg(test)]
mod tests;
