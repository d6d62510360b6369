//! Compile tests of `embed_sources!`: each error message, and the forms that compile.
//!
//! trybuild's test crate has no build script, so this runner plays its part: first without
//! `OUT_DIR` (the build script step is missing), then with `OUT_DIR` pointing at tables it writes.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use std::path::Path;
use watchpost_build::TableWriter;

#[test]
fn ui() {
    // trybuild runs cargo as a child process, which inherits this environment.
    std::env::remove_var("OUT_DIR");
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/missing_build_script.rs");
    drop(cases); // Runs the cases now, before OUT_DIR is set.

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-out-dir");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut table = TableWriter::new();
    table.add_file("tests/ui/pass/default.rs", "fn main() {}\n");
    std::fs::write(out_dir.join("sentry_sources.bin"), table.finish().unwrap()).unwrap();
    std::fs::write(
        out_dir.join("other.bin"),
        TableWriter::new().finish().unwrap(),
    )
    .unwrap();
    // A table of a format this runtime does not read, as a newer watchpost-build writes.
    let mut newer = TableWriter::new().finish().unwrap();
    newer[8..10].copy_from_slice(&99u16.to_le_bytes());
    std::fs::write(out_dir.join("newer.bin"), newer).unwrap();
    std::env::set_var("OUT_DIR", &out_dir);

    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    for case in [
        "missing_table",
        "not_a_string",
        "too_many_arguments",
        "bad_file_name",
        "format_mismatch",
    ] {
        cases.compile_fail(format!("tests/ui/fail/{case}.rs"));
    }
}
