//! Compilation units, one at a time: an index of where each unit's code lies, and an `addr2line`
//! context over a single unit.
//!
//! `addr2line::Context` reads every unit of the file when it is created (its abbreviations, its
//! line program header, its address ranges): for a service linking a few hundred crates that is
//! thousands of units and tens of megabytes. Here the index keeps, per unit, only the smallest
//! address range covering its code (its hull) and where it lies in `.debug_info`; a context is
//! then made over the one unit whose code holds the address, by handing `addr2line` a
//! `.debug_info` that holds only that unit. The other sections stay whole, so offsets into them
//! (line programs, strings, range lists) keep working.

use addr2line::gimli;
use gimli::{
    AttributeValue, EndianSlice, NativeEndian, RangeListsOffset, Reader, Section, SectionId,
};

/// The DWARF sections, borrowed from the mapped file.
pub(super) type Slice<'data> = EndianSlice<'data, NativeEndian>;
pub(super) type Dwarf<'data> = gimli::Dwarf<Slice<'data>>;
pub(super) type Context<'data> = addr2line::Context<Slice<'data>>;

/// Loads the DWARF sections of `elf`; `None` when there are none or they are compressed (which
/// would mean decompressing them whole; the caller falls back to `backtrace` then).
pub(super) fn load_dwarf<'data>(elf: &super::objects::Elf<'data>) -> Option<Dwarf<'data>> {
    use object::{Object, ObjectSection};
    let section = |id: SectionId| -> Result<Slice<'data>, ()> {
        let data = match elf.section_by_name(id.name()) {
            Some(section) => match section.compressed_file_range() {
                Ok(range) if range.format == object::CompressionFormat::None => {
                    section.data().map_err(|_| ())?
                }
                _ => return Err(()),
            },
            None => &[],
        };
        Ok(EndianSlice::new(data, NativeEndian))
    };
    let dwarf = gimli::Dwarf::load(section).ok()?;
    (!dwarf.debug_info.reader().is_empty()).then_some(dwarf)
}

/// Where one unit's code lies, and where the unit lies in `.debug_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hull {
    /// The lowest address of the unit's code.
    pub(super) begin: u64,
    /// Past the highest address of the unit's code.
    pub(super) end: u64,
    /// The unit's offset in `.debug_info`.
    pub(super) offset: usize,
    /// The unit's size in `.debug_info`, header included.
    pub(super) len: usize,
}

/// The hull of every compilation unit with code, from the units' root entries only.
#[derive(Debug, Default)]
pub(super) struct UnitIndex {
    hulls: Vec<Hull>,
}

impl UnitIndex {
    /// Indexes the units starting in `.debug_info` from offset `from` up to `from + bytes`,
    /// reading only their headers and root entries. Returns where the next unit starts, or
    /// `None` once the section is done. Units that cannot be read are left out (their addresses
    /// then resolve to symbol names only); a header that cannot be read ends the section.
    pub(super) fn add_units(
        &mut self,
        dwarf: &Dwarf<'_>,
        from: usize,
        bytes: usize,
    ) -> Option<usize> {
        let section_len = dwarf.debug_info.reader().len();
        let mut offset = from;
        while offset < section_len && offset - from < bytes {
            let header = dwarf
                .debug_info
                .header_from_offset(gimli::DebugInfoOffset(offset))
                .ok()?;
            let len = header.length_including_self();
            if let Some((begin, end)) = unit_hull(dwarf, &header) {
                self.hulls.push(Hull {
                    begin,
                    end,
                    offset,
                    len,
                });
            }
            offset += len;
        }
        (offset < section_len).then_some(offset)
    }

    /// Every unit of `dwarf` indexed.
    #[cfg(test)]
    pub(super) fn build(dwarf: &Dwarf<'_>) -> UnitIndex {
        let mut index = UnitIndex::default();
        index.add_units(dwarf, 0, usize::MAX);
        index
    }

    /// Frees the spare capacity left from indexing.
    pub(super) fn shrink_to_fit(&mut self) {
        self.hulls.shrink_to_fit();
    }

    /// Units whose hull holds `probe`, smallest first (the likeliest owner when hulls overlap).
    pub(super) fn candidates(&self, probe: u64) -> Vec<Hull> {
        let mut found: Vec<Hull> = self
            .hulls
            .iter()
            .filter(|h| h.begin <= probe && probe < h.end)
            .copied()
            .collect();
        found.sort_by_key(|h| h.end - h.begin);
        found
    }

    /// Units indexed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.hulls.len()
    }
}

/// The lowest and past-the-highest address of a unit's code, from its root entry's `low_pc`,
/// `high_pc` and `ranges`.
fn unit_hull(dwarf: &Dwarf<'_>, header: &gimli::UnitHeader<Slice<'_>>) -> Option<(u64, u64)> {
    if !matches!(
        header.type_(),
        gimli::UnitType::Compilation | gimli::UnitType::Skeleton(_)
    ) {
        return None;
    }
    let abbreviations = header.abbreviations(&dwarf.debug_abbrev).ok()?;
    let mut entries = header.entries_raw(&abbreviations, None).ok()?;
    let abbreviation = entries.read_abbreviation().ok()??;
    let (mut low, mut high, mut size, mut ranges, mut addr_base) = (None, None, None, None, None);
    for spec in abbreviation.attributes() {
        let attr = entries.read_attribute(*spec).ok()?;
        match (attr.name(), attr.value()) {
            (gimli::DW_AT_low_pc, value) => low = Some(value),
            (gimli::DW_AT_high_pc, AttributeValue::Udata(n)) => size = Some(n),
            (gimli::DW_AT_high_pc, value) => high = Some(value),
            (gimli::DW_AT_ranges, AttributeValue::RangeListsRef(offset)) => ranges = Some(offset),
            (gimli::DW_AT_addr_base, AttributeValue::DebugAddrBase(base)) => addr_base = Some(base),
            _ => {}
        }
    }
    let address = |value| match value {
        AttributeValue::Addr(a) => Some(a),
        AttributeValue::DebugAddrIndex(index) => dwarf
            .debug_addr
            .get_address(header.address_size(), addr_base?, index)
            .ok(),
        _ => None,
    };
    let low = low.and_then(address);
    if let Some(raw) = ranges {
        let base = low.unwrap_or(0);
        let mut list = dwarf
            .ranges
            .ranges(
                RangeListsOffset(raw.0),
                header.encoding(),
                base,
                &dwarf.debug_addr,
                addr_base.unwrap_or(gimli::DebugAddrBase(0)),
            )
            .ok()?;
        let (mut begin, mut end) = (u64::MAX, 0);
        while let Ok(Some(range)) = list.next() {
            if range.begin < range.end {
                begin = begin.min(range.begin);
                end = end.max(range.end);
            }
        }
        return (begin < end).then_some((begin, end));
    }
    let low = low?;
    let end = match (high.and_then(address), size) {
        (Some(high), _) => high,
        (None, Some(size)) => low.checked_add(size)?,
        (None, None) => return None,
    };
    (low < end).then_some((low, end))
}

/// A context over the single unit `hull` of `sections` (freshly loaded: `addr2line` takes them
/// over), made by handing `addr2line` a `.debug_info` holding only that unit.
pub(super) fn unit_context<'data>(
    mut sections: Dwarf<'data>,
    hull: &Hull,
) -> Option<Context<'data>> {
    let info = sections.debug_info.reader().slice();
    let unit = info.get(hull.offset..hull.offset.checked_add(hull.len)?)?;
    sections.debug_info = gimli::DebugInfo::new(unit, NativeEndian);
    // The unit's own ranges say what it covers; the table of all units is not needed.
    sections.debug_aranges = gimli::DebugAranges::new(&[], NativeEndian);
    Context::from_dwarf(sections).ok()
}
