use super::*;

fn names(symbols: &[SymbolInfo]) -> Vec<String> {
    symbols
        .iter()
        .map(|s| {
            s.name
                .as_ref()
                .map_or(String::new(), |n| n.function.clone())
        })
        .collect()
}

#[inline(never)]
fn a_known_function() -> (usize, u32) {
    let line = line!();
    // Plus one: `resolve` takes return addresses and looks at the byte before.
    (
        std::hint::black_box(a_known_function as *const () as usize + 1),
        line,
    )
}

#[test]
fn a_function_resolves_to_its_name_file_and_line() {
    let (ip, line) = a_known_function();
    let symbols = resolve(&[ip])
        .remove(0)
        .expect("resolved here, not by the fallback");
    let symbol = symbols.last().unwrap();
    let name = &symbol.name.as_ref().unwrap().function;
    assert!(name.ends_with("a_known_function"), "{name}");
    assert!(
        symbol
            .abs_path
            .as_deref()
            .unwrap()
            .ends_with("debuginfo/tests.rs"),
        "{symbol:?}"
    );
    // The function's first address belongs to its signature's line or the one after.
    let lineno = symbol.lineno.unwrap();
    assert!(line - 2 <= lineno && lineno <= line, "{lineno} vs {line}");
}

#[test]
fn an_address_outside_any_file_is_an_address_only_frame() {
    let heap = Box::new(0_u64);
    let ip = std::ptr::from_ref(&*heap) as usize + 1;
    assert_eq!(resolve(&[ip]), vec![Some(Vec::new())]);
}

#[inline(always)]
fn inlined_callee() -> Vec<usize> {
    crate::stacktrace::raw::capture_ips().ips
}

#[inline(never)]
fn outer_caller() -> Vec<usize> {
    std::hint::black_box(inlined_callee())
}

#[test]
fn inlined_frames_come_innermost_first() {
    let ips = outer_caller();
    let resolved = resolve(&ips);
    let frames = resolved
        .iter()
        .flatten()
        .map(|symbols| names(symbols))
        .find(|names| names.iter().any(|n| n.ends_with("inlined_callee")))
        .expect("a frame in the inlined function");
    let callee = frames.iter().position(|n| n.ends_with("inlined_callee"));
    let caller = frames.iter().position(|n| n.ends_with("outer_caller"));
    assert_eq!(callee.map(|i| i + 1), caller, "{frames:?}");
}

#[test]
fn every_address_of_a_real_stack_is_resolved_without_the_fallback() {
    let ips = crate::stacktrace::raw::capture_ips().ips;
    let resolved = resolve(&ips);
    assert!(resolved.iter().all(Option::is_some), "{resolved:?}");
    let named = resolved
        .iter()
        .flatten()
        .flatten()
        .filter(|s| s.name.is_some());
    assert!(named.count() >= ips.len() / 2);
}

#[test]
fn the_executable_resolves_as_backtrace_resolves_it() {
    let ips = outer_caller();
    let inode = objects::executable_inode().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let regions: Vec<Region> = maps.lines().filter_map(Region::parse).collect();
    let in_exe = |ip: usize| {
        regions
            .iter()
            .any(|r| r.inode == inode && r.start < ip && ip <= r.end)
    };
    let ips: Vec<usize> = ips.into_iter().filter(|&ip| in_exe(ip)).collect();
    assert!(ips.len() > 3);
    for (ip, ours) in ips.iter().zip(resolve(&ips)) {
        let theirs = crate::stacktrace::symbol::resolve_with_backtrace(*ip);
        assert_eq!(ours.as_deref(), Some(theirs.as_slice()), "at {ip:#x}");
    }
}

#[test]
fn the_index_covers_this_test() {
    let inode = objects::executable_inode().unwrap();
    let exe = Mapped::open(std::path::Path::new(objects::EXE), inode).unwrap();
    let elf = Elf::parse(exe.bytes()).unwrap();
    let index = UnitIndex::build(&units::load_dwarf(&elf).unwrap());
    assert!(index.len() > 1);
    let region = Region::containing(a_known_function as *const () as usize).unwrap();
    let svma = objects::svma_of_offset(
        &elf,
        region.file_offset(a_known_function as *const () as usize),
    );
    assert!(!index.candidates(svma.unwrap()).is_empty());
}
