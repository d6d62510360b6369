//! Rebuild tracking of compile-time source context, with real `cargo build`s of a fixture
//! workspace: the table follows edits, additions (even with an old timestamp) and deletions, a
//! build without changes does not rerun the build script, and a release build without debug info
//! still finds the line `Location` names. This is why no "refresh sources" command is needed.
//!
//! Slow the first time (the fixture builds watchpost in a target dir shared by the fixtures, kept
//! between runs under `CARGO_TARGET_TMPDIR`).

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use crate::source_fixture::{binary, cargo_build, copy_lock, crate_path, stderr};
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

const MAIN: &str = r#"use watchpost::{protocol::Frame, SourceTable};

static SOURCES: SourceTable = watchpost::embed_sources!();

fn main() {
    if std::env::args().nth(1).as_deref() == Some("paths") {
        for path in SOURCES.paths() {
            println!("{path}");
        }
        return;
    }
    let here = std::panic::Location::caller(); // marker: first version
    let mut frame = Frame::default();
    frame.filename = Some(here.file().to_owned());
    frame.lineno = Some(here.line());
    if SOURCES.apply_to_frame(&mut frame, 1) {
        println!("{}", frame.context_line.unwrap_or_default());
    } else {
        println!("MISSING {}:{}", here.file(), here.line());
    }
}
"#;

/// A workspace `<tmp>/ws` with one member `app` using watchpost and watchpost-build.
struct Fixture {
    _dir: tempfile::TempDir,
    ws: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        fs::create_dir_all(ws.join("app/src")).unwrap();
        fs::write(
            ws.join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[profile.release]\ndebug = false\n",
        )
        .unwrap();
        copy_lock(&ws);
        fs::write(
            ws.join("app/Cargo.toml"),
            format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nwatchpost = {{ path = \"{}\" }}\n\n\
                 [build-dependencies]\nwatchpost-build = {{ path = \"{}\" }}\n",
                crate_path("sentry-core"),
                crate_path("build-support"),
            ),
        )
        .unwrap();
        fs::write(
            ws.join("app/build.rs"),
            "fn main() {\n    watchpost_build::embed_sources();\n}\n",
        )
        .unwrap();
        fs::write(ws.join("app/src/main.rs"), MAIN).unwrap();
        Fixture { _dir: dir, ws }
    }

    fn cargo_build(&self, release: bool) -> Output {
        let args: &[&str] = if release {
            &["--bin", "app", "--release"]
        } else {
            &["--bin", "app"]
        };
        let out = cargo_build(&self.ws, args);
        assert!(
            out.status.success(),
            "cargo build failed:\n{}",
            stderr(&out)
        );
        out
    }

    /// Builds, then runs the binary with `args`; returns its stdout and cargo's stderr.
    fn build_and_run(&self, release: bool, args: &[&str]) -> (String, String) {
        let build = stderr(&self.cargo_build(release));
        let profile = if release { "release" } else { "debug" };
        let exe = binary(profile, "app");
        let run = Command::new(exe).args(args).output().unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
        (String::from_utf8(run.stdout).unwrap(), build)
    }

    fn src(&self, file: &str) -> PathBuf {
        self.ws.join("app/src").join(file)
    }
}

/// Whether cargo ran the fixture's build script (`-v` prints each command it runs).
fn ran_build_script(cargo_stderr: &str) -> bool {
    cargo_stderr
        .lines()
        .any(|l| l.contains("Running") && l.contains("app-") && l.contains("build-script-build"))
}

#[test]
fn table_follows_edits_additions_and_deletions() {
    let fx = Fixture::new();

    let (line, _) = fx.build_and_run(false, &[]);
    assert_eq!(
        line.trim(),
        "let here = std::panic::Location::caller(); // marker: first version"
    );

    // No change: Cargo must not rerun the build script (nor rebuild the crate).
    let (_, build) = fx.build_and_run(false, &[]);
    assert!(
        !ran_build_script(&build),
        "no-op build reran the build script:\n{build}"
    );
    assert!(build.contains("Fresh app"), "{build}");

    // Edit the line: the new text is embedded.
    let edited = MAIN.replace("marker: first version", "marker: second version");
    fs::write(fx.src("main.rs"), edited).unwrap();
    let (line, build) = fx.build_and_run(false, &[]);
    assert!(ran_build_script(&build), "{build}");
    assert!(line.contains("marker: second version"), "{line}");

    // A new module, copied in with a timestamp from 2001: embedded all the same.
    fs::create_dir_all(fx.src("nested")).unwrap();
    let added = fx.src("nested/added.rs");
    fs::write(&added, "pub fn added() {}\n").unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&added)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (paths, build) = fx.build_and_run(false, &["paths"]);
    assert!(ran_build_script(&build), "{build}");
    assert_eq!(
        paths.lines().collect::<Vec<_>>(),
        ["app/src/main.rs", "app/src/nested/added.rs"]
    );

    // Deleted: gone from the table.
    fs::remove_file(&added).unwrap();
    let (paths, _) = fx.build_and_run(false, &["paths"]);
    assert_eq!(paths.lines().collect::<Vec<_>>(), ["app/src/main.rs"]);

    // Release, `debug = false`: `Location` still names the line, and the table has it.
    let (line, _) = fx.build_and_run(true, &[]);
    assert!(line.contains("marker: second version"), "{line}");
}
