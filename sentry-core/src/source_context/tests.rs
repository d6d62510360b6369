//! Tables written by the real encoder (`watchpost-build`, a dev-dependency) and read here.

use super::*;
use watchpost_build::format::Package;
use watchpost_build::TableWriter;

const LIB: &str = "//! x\n\
use std::fmt;\n\
\n\
pub fn boom() {\n\
    \tpanic!(\"boom\");\n\
}\n\
\n\
pub fn other() {}\n";

fn table(files: &[(&str, &str)]) -> SourceTable {
    let mut writer = TableWriter::new();
    writer.workspace_root("/home/dev/proj");
    for (key, text) in files {
        writer.add_file(key, text);
    }
    SourceTable::from_embedded(writer.finish().unwrap().leak())
}

fn workspace() -> SourceTable {
    table(&[
        ("crates/x/src/lib.rs", LIB),
        ("crates/y/src/lib.rs", "fn y() {}\n"),
        ("app/src/main.rs", "fn main() {\n    x::boom();\n}\n"),
    ])
}

fn frame(filename: Option<&str>, abs_path: Option<&str>, lineno: u32) -> Frame {
    Frame {
        filename: filename.map(str::to_owned),
        abs_path: abs_path.map(str::to_owned),
        lineno: Some(lineno),
        ..Frame::default()
    }
}

/// The key the frame was matched to, or `None`.
fn matched(table: &SourceTable, mut f: Frame) -> Option<String> {
    table.apply_to_frame(&mut f, 1).then(|| f.filename.unwrap())
}

#[test]
fn workspace_relative_location_path_gets_its_context() {
    let mut f = frame(Some("crates/x/src/lib.rs"), None, 5);
    assert!(workspace().apply_to_frame(&mut f, 2));
    assert_eq!(f.pre_context, ["", "pub fn boom() {"]);
    assert_eq!(f.context_line.as_deref(), Some("\tpanic!(\"boom\");"));
    assert_eq!(f.post_context, ["}", ""]);
    assert_eq!(f.filename.as_deref(), Some("crates/x/src/lib.rs"));
}

#[test]
fn absolute_path_under_the_recorded_root_sets_the_relative_filename() {
    let f = frame(None, Some("/home/dev/proj/crates/x/src/lib.rs"), 5);
    assert_eq!(
        matched(&workspace(), f).as_deref(),
        Some("crates/x/src/lib.rs")
    );
}

#[test]
fn absolute_path_of_a_moved_checkout_matches_by_suffix() {
    let f = frame(None, Some("/builds/ci/proj/crates/x/src/lib.rs"), 5);
    assert_eq!(
        matched(&workspace(), f).as_deref(),
        Some("crates/x/src/lib.rs")
    );
}

#[test]
fn remapped_path_prefix_matches_by_suffix() {
    let abs = frame(None, Some("/app/crates/y/src/lib.rs"), 1);
    assert_eq!(
        matched(&workspace(), abs).as_deref(),
        Some("crates/y/src/lib.rs")
    );
    let relative = frame(None, Some("proj/crates/y/src/lib.rs"), 1);
    assert_eq!(
        matched(&workspace(), relative).as_deref(),
        Some("crates/y/src/lib.rs")
    );
}

#[test]
fn shortened_filename_matches_a_longer_key() {
    let f = frame(Some("x/src/lib.rs"), None, 5);
    assert_eq!(
        matched(&workspace(), f).as_deref(),
        Some("crates/x/src/lib.rs")
    );
}

#[test]
fn windows_separators_match() {
    let mut writer = TableWriter::new();
    writer
        .workspace_root("C:/Users/dev/proj")
        .add_file("crates/x/src/lib.rs", LIB);
    let table = SourceTable::from_embedded(writer.finish().unwrap().leak());
    for path in [
        r"crates\x\src\lib.rs",
        r"C:\Users\dev\proj\crates\x\src\lib.rs",
        r"c:\Users\dev\proj\crates\x\src\lib.rs",
        r"\\?\C:\Users\dev\proj\crates\x\src\lib.rs",
        r"D:\elsewhere\crates\x\src\lib.rs",
    ] {
        let f = frame(None, Some(path), 5);
        assert_eq!(
            matched(&table, f).as_deref(),
            Some("crates/x/src/lib.rs"),
            "{path}"
        );
    }
}

#[test]
fn filename_is_tried_before_abs_path() {
    let f = frame(
        Some("app/src/main.rs"),
        Some("/home/dev/proj/crates/x/src/lib.rs"),
        2,
    );
    assert_eq!(matched(&workspace(), f).as_deref(), Some("app/src/main.rs"));
}

#[test]
fn ambiguous_suffix_matches_nothing() {
    let f = frame(None, Some("/elsewhere/src/lib.rs"), 1);
    assert_eq!(matched(&workspace(), f), None);
}

#[test]
fn toolchain_and_dependency_paths_are_never_guessed() {
    let single = table(&[("src/lib.rs", LIB)]);
    for path in [
        "/rustc/0123abcd/library/core/src/lib.rs",
        "/home/dev/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.0/src/lib.rs",
        "/home/dev/.cargo/git/checkouts/foo-123/abc/src/lib.rs",
    ] {
        assert_eq!(matched(&single, frame(None, Some(path), 1)), None, "{path}");
    }
    let dependency = frame(Some("serde-1.0.0/src/lib.rs"), None, 1);
    assert_eq!(
        matched(&single, dependency.clone()),
        Some("src/lib.rs".into())
    );
    let mut not_in_app = dependency;
    not_in_app.in_app = Some(false);
    assert_eq!(matched(&single, not_in_app), None);
}

#[test]
fn single_component_path_is_too_weak_to_guess() {
    let f = frame(Some("main.rs"), None, 1);
    assert_eq!(matched(&workspace(), f), None);
}

#[test]
fn frame_without_a_matching_line_is_left_untouched() {
    let table = workspace();
    let before = frame(Some("/home/dev/proj/app/src/main.rs"), None, 99);
    let mut after = before.clone();
    assert!(!table.apply_to_frame(&mut after, 3));
    assert_eq!(after, before);
    let mut no_line = frame(Some("app/src/main.rs"), None, 1);
    no_line.lineno = None;
    assert!(!table.apply_to_frame(&mut no_line, 3));
}

#[test]
fn unknown_file_is_not_matched() {
    assert_eq!(
        matched(&workspace(), frame(Some("src/other.rs"), None, 1)),
        None
    );
}

#[test]
fn compression_round_trips_every_line() {
    let text: String = (0..3000)
        .map(|i| format!("\t// line {i}: ünïcödé \u{1F980} and a CRLF ending\r\n"))
        .collect();
    let table = table(&[("src/big.rs", &text), ("src/small.rs", "x\n")]);
    for (i, expected) in text.lines().enumerate().step_by(97) {
        let mut f = frame(Some("src/big.rs"), None, i as u32 + 1);
        assert!(table.apply_to_frame(&mut f, 0));
        assert_eq!(f.context_line.as_deref(), Some(expected));
    }
}

#[test]
fn lookups_stay_right_when_the_cache_evicts() {
    let texts: Vec<(String, String)> = (0..20)
        .map(|i| (format!("src/m{i}.rs"), format!("// file {i}\n")))
        .collect();
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(k, t)| (k.as_str(), t.as_str()))
        .collect();
    let table = table(&files);
    for round in 0..3 {
        for (key, text) in &files {
            let mut f = frame(Some(key), None, 1);
            assert!(table.apply_to_frame(&mut f, 3), "round {round} {key}");
            assert_eq!(f.context_line.as_deref(), Some(text.trim_end()));
        }
    }
}

#[test]
fn modules_and_paths_round_trip() {
    let mut writer = TableWriter::new();
    writer
        .add_file("b.rs", "")
        .add_file("a.rs", "")
        .add_module("serde", "1.0.200")
        .add_module("log", "0.4.22");
    let table = SourceTable::from_embedded(writer.finish().unwrap().leak());
    assert_eq!(table.paths().collect::<Vec<_>>(), ["a.rs", "b.rs"]);
    assert_eq!(table.len(), 2);
    assert_eq!(
        table.modules(),
        [
            ("log".into(), "0.4.22".into()),
            ("serde".into(), "1.0.200".into())
        ]
    );
}

#[test]
fn empty_table_is_valid_and_empty() {
    let table = SourceTable::empty();
    assert!(table.is_valid() && table.is_empty());
    assert!(table.modules().is_empty());
    let written = SourceTable::from_embedded(TableWriter::new().finish().unwrap().leak());
    assert!(written.is_valid() && written.is_empty());
}

#[test]
fn damaged_tables_read_as_empty() {
    let good = TableWriter::new()
        .add_file("src/lib.rs", LIB)
        .finish()
        .unwrap();
    let mut bad_version = good.clone();
    bad_version[8] = 99;
    let mut extra = good.clone();
    extra.push(0);
    for bytes in [
        b"SNTRY".to_vec(),
        b"not a table at all, really not".repeat(2),
        bad_version,
        extra,
    ] {
        let table = SourceTable::from_embedded(bytes.leak());
        assert!(!table.is_valid());
        assert_eq!(table.len(), 0);
        assert!(!table.apply_to_frame(&mut frame(Some("src/lib.rs"), None, 1), 3));
    }
}

#[test]
fn no_truncation_or_corrupted_byte_panics() {
    let mut writer = TableWriter::new();
    writer
        .workspace_root("/ws")
        .add_file("src/lib.rs", LIB)
        .add_file("src/main.rs", "fn main() {}\n")
        .add_module("log", "0.4.22")
        .add_package(Package::new("app", ""));
    let good = writer.finish().unwrap();
    let probe = |bytes: Vec<u8>| {
        let table = SourceTable::from_embedded(bytes.leak());
        let _ = (table.len(), table.paths().count(), table.modules());
        for path in ["src/lib.rs", "/ws/src/main.rs", "/x/src/lib.rs"] {
            table.apply_to_frame(&mut frame(None, Some(path), 5), 3);
            table.attribute(&mut frame(None, Some(path), 5));
        }
        table.attribute(&mut named("app::run", None));
    };
    for len in 0..good.len() {
        probe(good[..len].to_vec());
    }
    for at in 0..good.len() {
        for value in [0x00, 0xff, good[at] ^ 0x55] {
            let mut bytes = good.clone();
            bytes[at] = value;
            probe(bytes);
        }
    }
}

/// A frame of `function` (demangled, with its path when `module` is `None`), as symbolized.
fn named(function: &str, abs_path: Option<&str>) -> Frame {
    let module = function.rsplit_once("::").map(|(m, _)| m.to_owned());
    Frame {
        function: Some(function.to_owned()),
        package: module
            .as_deref()
            .map(|m| m.split("::").next().unwrap_or(m).to_owned()),
        module,
        abs_path: abs_path.map(str::to_owned),
        lineno: abs_path.map(|_| 5),
        ..Frame::default()
    }
}

/// An app at the workspace root and a member in `crates/core` whose package is `mylib`.
fn attributed() -> SourceTable {
    let mut writer = TableWriter::new();
    writer
        .workspace_root("/home/dev/proj")
        .add_file("src/main.rs", "fn main() {\n    mylib::compute();\n}\n")
        .add_file("crates/core/src/lib.rs", LIB)
        .add_file("crates/core/src/db/pool.rs", LIB)
        .add_package(Package::new("app", ""))
        .add_package(Package::new("mylib", "crates/core"));
    SourceTable::from_embedded(writer.finish().unwrap().leak())
}

#[test]
fn a_member_is_attributed_to_its_package_not_its_directory() {
    // Line-tables-only debug info: a short function name, the crate guessed from the directory.
    let mut f = named("compute", Some("/home/dev/proj/crates/core/src/db/pool.rs"));
    f.module = Some("core::db::pool".to_owned());
    f.package = Some("core".to_owned());
    f.in_app = Some(false);
    assert!(attributed().attribute(&mut f));
    assert_eq!(f.package.as_deref(), Some("mylib"));
    assert_eq!(f.module.as_deref(), Some("mylib::db::pool"));
    assert_eq!(f.in_app, Some(true));
}

#[test]
fn a_full_symbol_path_keeps_its_module() {
    let mut f = named(
        "mylib::db::Pool::get",
        Some("/home/dev/proj/crates/core/src/db/pool.rs"),
    );
    assert!(attributed().attribute(&mut f));
    assert_eq!(f.module.as_deref(), Some("mylib::db::Pool"));
    assert_eq!(
        (f.package.as_deref(), f.in_app),
        (Some("mylib"), Some(true))
    );
}

#[test]
fn frames_without_files_are_attributed_by_their_crate() {
    // `debug = false`: no file, but the symbol names the crate.
    let mut f = named("mylib::compute", None);
    assert!(attributed().attribute(&mut f));
    assert_eq!(
        (f.package.as_deref(), f.in_app),
        (Some("mylib"), Some(true))
    );
    let mut std = named("std::rt::lang_start", None);
    assert!(!attributed().attribute(&mut std));
    assert_eq!(std.in_app, None);
}

#[test]
fn a_file_outside_the_table_is_not_attributed_by_crate_name() {
    let registry = "/home/u/.cargo/registry/src/index-1/mylib-9.0.0/src/lib.rs";
    let mut f = named("mylib::compute", Some(registry));
    assert!(!attributed().attribute(&mut f));
    assert_eq!(f.in_app, None);
}

#[test]
fn tables_without_packages_attribute_nothing() {
    let mut f = named("x::boom", Some("/home/dev/proj/crates/x/src/lib.rs"));
    assert!(!workspace().attribute(&mut f));
    assert_eq!(f.package.as_deref(), Some("x"));
}

/// Not a timed assertion: prints the cost of a lookup whose file is cached.
/// `cargo test -p watchpost --release --lib lookup_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn lookup_cost() {
    let files: Vec<(String, String)> = (0..800)
        .map(|i| (format!("crates/c{}/src/m{i}.rs", i % 40), LIB.repeat(40)))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(k, t)| (k.as_str(), t.as_str()))
        .collect();
    let table = table(&refs);
    let cases = [
        ("relative", frame(Some("crates/c7/src/m407.rs"), None, 100)),
        (
            "absolute",
            frame(None, Some("/home/dev/proj/crates/c7/src/m407.rs"), 100),
        ),
        (
            "moved",
            frame(None, Some("/ci/build/crates/c7/src/m407.rs"), 100),
        ),
    ];
    for (name, f) in cases {
        let start = std::time::Instant::now();
        assert!(table.apply_to_frame(&mut f.clone(), 3));
        let first = start.elapsed();
        let n = 100_000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            assert!(table.apply_to_frame(&mut f.clone(), 3));
        }
        let lookups = start.elapsed() / n;
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(f.clone());
        }
        let clones = start.elapsed() / n;
        println!(
            "{name}: first {first:?}, cached {:?}/lookup",
            lookups.saturating_sub(clones)
        );
    }
}

#[test]
fn debug_output_summarizes_instead_of_dumping_bytes() {
    let text = format!("{:?}", workspace());
    assert!(
        text.starts_with("SourceTable { files: 3, bytes: "),
        "{text}"
    );
    assert!(text.len() < 80, "{text}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Every read the runtime makes of a table, on every file index and a few past the end.
    fn read_everything(t: &SourceTable) {
        let _ = (t.is_valid(), t.len(), t.is_empty(), t.modules());
        for path in t.paths().collect::<Vec<_>>() {
            let mut f = frame(Some(path), None, 3);
            t.apply_to_frame(&mut f, 5);
            t.attribute(&mut f);
        }
        t.attribute(&mut named("app::run", None));
        let mut f = frame(Some("src/main.rs"), Some("/home/dev/proj/src/main.rs"), 1);
        t.apply_to_frame(&mut f, 5);
    }

    fn leak(bytes: Vec<u8>) -> &'static [u8] {
        Box::leak(bytes.into_boxed_slice())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
            read_everything(&SourceTable::from_embedded(leak(data)));
        }

        #[test]
        fn a_valid_table_with_bytes_flipped_never_panics(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut writer = TableWriter::new();
            writer.workspace_root("/home/dev/proj");
            writer.add_file("src/main.rs", "fn main() {\n    run();\n}\n");
            writer.add_file("src/lib.rs", LIB);
            writer.add_module("serde", "1.0.0");
            writer.add_package(Package::new("app", ""));
            let mut bytes = writer.finish().unwrap();
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            read_everything(&SourceTable::from_embedded(leak(bytes)));
        }

        #[test]
        fn files_read_back_as_written(
            files in prop::collection::btree_map("[a-z]{1,6}/[a-z]{1,6}\\.rs", "(\\PC{0,30}\n){1,12}", 1..6),
        ) {
            let mut writer = TableWriter::new();
            for (key, text) in &files {
                writer.add_file(key, text);
            }
            let t = SourceTable::from_embedded(leak(writer.finish().unwrap()));
            prop_assert!(t.is_valid());
            prop_assert_eq!(t.len(), files.len());
            for (key, text) in &files {
                let line = text.lines().next().unwrap_or("");
                let mut f = frame(Some(key), None, 1);
                prop_assert!(t.apply_to_frame(&mut f, 2));
                prop_assert_eq!(f.context_line.as_deref(), Some(line.trim_end_matches('\r')));
            }
        }
    }
}
