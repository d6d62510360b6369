//! Child processes of the transport and shutdown tests (`transport_child`): what needs a
//! process of its own, because it measures the process or ends it.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs `bin` (the path from `env!("CARGO_BIN_EXE_…")`) with `args`, expects it to succeed,
/// and returns the JSON of its `RESULT <json>` line.
///
/// # Panics
///
/// When the child cannot start, fails, or prints no `RESULT` line: the test fails with its
/// output.
pub fn run_for_result(bin: impl AsRef<Path>, args: &[&str]) -> Value {
    let out = Command::new(bin.as_ref())
        .args(args)
        .output()
        .expect("the child process starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("child {args:?} printed no RESULT line: {stdout}"));
    serde_json::from_str(line).expect("the RESULT line is JSON")
}
