//! The ELF objects of the process: which file holds an address, the file mapped read-only, and
//! the addresses in the file (SVMA) of addresses in memory (AVMA).

use memmap2::{Advice, Mmap};
use object::read::elf::ProgramHeader;
use object::{Endianness, Object, ObjectSymbol};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[cfg(target_pointer_width = "64")]
pub(super) type Elf<'data> = object::read::elf::ElfFile64<'data, Endianness>;
#[cfg(target_pointer_width = "32")]
pub(super) type Elf<'data> = object::read::elf::ElfFile32<'data, Endianness>;

/// One line of `/proc/self/maps` with a file behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Region {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Offset in the file of `start`.
    pub(super) offset: u64,
    pub(super) inode: u64,
    pub(super) path: PathBuf,
}

impl Region {
    /// Parses a line such as `7f..-7f.. r-xp 00001000 08:01 1234  /usr/lib/libc.so.6`; `None` for
    /// anonymous memory, `[vdso]` and other regions without a file.
    pub(super) fn parse(line: &str) -> Option<Region> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let _perms = fields.next()?;
        let offset = fields.next()?;
        let _device = fields.next()?;
        let inode = fields.next()?.parse().ok()?;
        let path = fields.next()?;
        if inode == 0 || !path.starts_with('/') {
            return None;
        }
        Some(Region {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            offset: u64::from_str_radix(offset, 16).ok()?,
            inode,
            path: PathBuf::from(path),
        })
    }

    /// The file region holding `avma`, read from `/proc/self/maps` now.
    #[cfg(test)]
    pub(super) fn containing(avma: usize) -> Option<Region> {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        maps.lines()
            .filter_map(Region::parse)
            .find(|r| r.start <= avma && avma < r.end)
    }

    /// The offset in the file of `avma`, which lies in this region.
    pub(super) fn file_offset(&self, avma: usize) -> u64 {
        self.offset + (avma - self.start) as u64
    }
}

/// The running executable: `/proc/self/exe`, which stays the file the process started from even
/// when its path was replaced since.
pub(super) const EXE: &str = "/proc/self/exe";

/// The inode of the running executable, which tells its regions in `/proc/self/maps`.
pub(super) fn executable_inode() -> Option<u64> {
    Some(std::fs::metadata(EXE).ok()?.ino())
}

/// A file of the process mapped read-only; pages are read in as they are touched, one at a time
/// (no read-ahead), so only the parts looked at become resident.
#[derive(Debug)]
pub(super) struct Mapped {
    map: Mmap,
}

impl Mapped {
    /// Maps `path` if it is still the file with `inode` (the one the process loaded).
    pub(super) fn open(path: &Path, inode: u64) -> Option<Mapped> {
        let file = File::open(path).ok()?;
        if file.metadata().ok()?.ino() != inode {
            return None;
        }
        Self::map(&file)
    }

    #[allow(unsafe_code)] // Mapping a file; see the SAFETY note.
    fn map(file: &File) -> Option<Mapped> {
        // SAFETY: the mapping is read-only and private, so the only risk is the file changing
        // under it. The files mapped here are the executable and libraries the process is
        // running: the kernel refuses writes to a running executable (ETXTBSY), and replacing a
        // binary (package upgrades, `cargo build`) writes a new file and renames it, which leaves
        // this mapping on the old one. Were a file truncated in place anyway, reading past the
        // new end faults, as it would for the process's own code mapped from it.
        let map = unsafe { Mmap::map(file) }.ok()?;
        // Random access: a fault maps only the page touched, not its neighbours as well.
        let _ = map.advise(Advice::Random);
        Some(Mapped { map })
    }

    /// The bytes of the file.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.map
    }
}

/// The address in the ELF file (`p_vaddr` based) of the byte at file offset `offset`, when a
/// loadable segment holds it.
#[allow(
    clippy::useless_conversion,
    reason = "the fields are u32 in 32-bit ELF files"
)]
pub(super) fn svma_of_offset(elf: &Elf<'_>, offset: u64) -> Option<u64> {
    let endian = elf.endian();
    elf.elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .find_map(|ph| {
            let start: u64 = ph.p_offset(endian).into();
            let size: u64 = ph.p_filesz(endian).into();
            let vaddr: u64 = ph.p_vaddr(endian).into();
            (start <= offset && offset < start + size).then(|| vaddr + (offset - start))
        })
}

/// The name of the function symbol covering `svma`: the symbol table's, else the dynamic one's.
/// A linear scan: it runs only for addresses that debug info does not name.
pub(super) fn symbol_name<'data>(elf: &Elf<'data>, svma: u64) -> Option<&'data [u8]> {
    let covering = |symbol: &object::read::elf::ElfSymbol<'data, '_, _, _>| {
        let start = symbol.address();
        symbol.kind() == object::SymbolKind::Text
            && symbol.is_definition()
            && start <= svma
            && svma < start + symbol.size().max(1)
    };
    elf.symbols()
        .find(covering)
        .or_else(|| elf.dynamic_symbols().find(covering))
        .and_then(|symbol| symbol.name_bytes().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maps_line_with_a_file_is_parsed() {
        let line = "7f3a1c200000-7f3a1c228000 r-xp 00028000 08:01 131090     /usr/lib/libc.so.6";
        let region = Region::parse(line).unwrap();
        assert_eq!(region.start, 0x7f3a_1c20_0000);
        assert_eq!(region.end, 0x7f3a_1c22_8000);
        assert_eq!(region.offset, 0x28000);
        assert_eq!(region.inode, 131_090);
        assert_eq!(region.path, Path::new("/usr/lib/libc.so.6"));
        assert_eq!(region.file_offset(0x7f3a_1c20_0010), 0x28010);
    }

    #[test]
    fn regions_without_a_file_are_skipped() {
        assert_eq!(
            Region::parse("7ffd-7ffe r-xp 00000000 00:00 0    [vdso]"),
            None
        );
        assert_eq!(Region::parse("5600-5700 rw-p 00000000 00:00 0"), None);
    }

    #[test]
    fn this_function_is_in_the_executable_and_named_by_its_symbol() {
        let avma = this_function_is_in_the_executable_and_named_by_its_symbol as *const () as usize;
        let inode = executable_inode().unwrap();
        let exe = Mapped::open(Path::new(EXE), inode).unwrap();
        let region = Region::containing(avma).unwrap();
        assert_eq!(region.inode, inode);
        let elf = Elf::parse(exe.bytes()).unwrap();
        let svma = svma_of_offset(&elf, region.file_offset(avma)).unwrap();
        let name = String::from_utf8_lossy(symbol_name(&elf, svma).unwrap()).into_owned();
        assert!(
            name.contains("this_function_is_in_the_executable"),
            "{name}"
        );
    }
}
