//! Exact crate attribution, with real `cargo build`s of a fixture workspace: an application
//! `shop` and a library member in `crates/core` whose package is `mylib` (a directory named like
//! the standard library's `core`). A panic through a `mylib` function, built in debug, with
//! `debug = "line-tables-only"` and with `debug = false` (release), is reported with every
//! `shop`/`mylib` frame attributed to the right package and module prefix, in app, and with the
//! source lines of its file. The application depends on the runtime under another name
//! (`sentry = { package = "watchpost", .. }`), which `embed_sources!` must not mind.
//!
//! The build script's own messages are checked here too: a configuration error is printed once,
//! and leaving the crate's `src` out warns.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use crate::source_fixture::{binary, cargo_build, copy_lock, crate_path, stderr, write};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const SHOP_MAIN: &str = r#"use std::time::Duration;

static SOURCES: sentry::SourceTable = sentry::embed_sources!();

#[inline(never)]
fn restock(boxes: u32) -> u32 {
    mylib::stock::divide(12, std::hint::black_box(boxes)) // marker: shop calls mylib
}

#[inline(never)]
fn report(text: &str) {
    if let Err(e) = std::hint::black_box(text).parse::<u32>() {
        sentry::capture_error(&e); // marker: shop reports
    }
}

fn main() {
    let options = sentry::ClientOptions::new()
        .dsn("http://public@127.0.0.1:9/1")
        .source_table(SOURCES)
        .before_send(|event: sentry::Event| {
            println!("{}", serde_json::to_string(&event).unwrap());
            None
        });
    let guard = sentry::init(options).unwrap();
    if std::env::var_os("SHOP_REPORT").is_some() {
        report("twelve");
    } else {
        let _ = std::panic::catch_unwind(|| restock(0));
    }
    assert!(guard.flush(Duration::from_secs(20)));
}
"#;

const MYLIB_STOCK: &str = r#"/// Splits `items` into `boxes`.
#[inline(never)]
pub fn divide(items: u32, boxes: u32) -> u32 {
    check_boxes(items, boxes);
    items / boxes
}

/// Inlined, so line-tables-only debug info names it without its path (`check_boxes`).
#[inline(always)]
fn check_boxes(items: u32, boxes: u32) {
    if boxes == 0 {
        panic!("cannot divide {items} items into zero boxes"); // marker: mylib panics
    }
}
"#;

const WORKSPACE: &str = "[workspace]\nmembers = [\"shop\", \"crates/core\"]\nresolver = \"2\"\n\n\
[profile.release]\ndebug = false\n";

/// `debug = "line-tables-only"` for the fixture's own packages: their dependencies stay the
/// same units as in the `debug = false` build, so they are compiled once.
const LINE_TABLES: &str = "\n[profile.release.package.shop]\ndebug = \"line-tables-only\"\n\n\
[profile.release.package.mylib]\ndebug = \"line-tables-only\"\n";

const BUILD_RS: &str = "fn main() {\n    watchpost_build::SourceEmbed::workspace().embed();\n}\n";

struct Fixture {
    _dir: tempfile::TempDir,
    ws: PathBuf,
}

impl Fixture {
    /// The workspace with the application package `app` (`shop` unless a test that runs at the
    /// same time needs its own: Cargo gives a workspace member the same unit in the shared target
    /// dir wherever the workspace is).
    fn new(app: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        write(
            &ws,
            "Cargo.toml",
            &WORKSPACE.replace("\"shop\"", &format!("\"{app}\"")),
        );
        copy_lock(&ws);
        write(
            &ws,
            &format!("{app}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{app}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nsentry = {{ package = \"watchpost\", path = \"{}\" }}\n\
                 mylib = {{ path = \"../crates/core\" }}\nserde_json = \"1\"\n\n\
                 [build-dependencies]\nwatchpost-build = {{ path = \"{}\" }}\n",
                crate_path("sentry-core"),
                crate_path("build-support"),
            ),
        );
        write(&ws, &format!("{app}/build.rs"), BUILD_RS);
        write(&ws, &format!("{app}/src/main.rs"), SHOP_MAIN);
        write(
            &ws,
            "crates/core/Cargo.toml",
            "[package]\nname = \"mylib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        );
        write(
            &ws,
            "crates/core/src/lib.rs",
            "//! In a directory named `core`.\npub mod stock;\n",
        );
        write(&ws, "crates/core/src/stock.rs", MYLIB_STOCK);
        Fixture { _dir: dir, ws }
    }

    /// Builds with `args`, runs `shop` and returns the event it printed.
    fn event(&self, args: &[&str], profile: &str) -> Value {
        self.event_with(args, profile, &[])
    }

    /// [`event`](Self::event), with `env` set for the run.
    fn event_with(&self, args: &[&str], profile: &str, env: &[(&str, &str)]) -> Value {
        let build = cargo_build(&self.ws, args);
        let cargo = stderr(&build);
        assert!(build.status.success(), "cargo build failed:\n{cargo}");
        // `cargo metadata` found the members, and nothing else was worth a warning.
        assert!(!cargo.contains("watchpost-build:"), "{cargo}");
        let run = Command::new(binary(profile, "shop"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
        let stdout = String::from_utf8(run.stdout).unwrap();
        let line = stdout.lines().find(|l| l.starts_with('{'));
        serde_json::from_str(line.unwrap_or_else(|| panic!("no event printed:\n{stdout}"))).unwrap()
    }

    /// The source line `lineno` of `file` (a workspace-relative path).
    fn line(&self, file: &str, lineno: u64) -> String {
        let text = std::fs::read_to_string(self.ws.join(file)).unwrap();
        text.lines().nth(lineno as usize - 1).unwrap().to_owned()
    }
}

/// The package a frame's code belongs to, from facts the SDK does not derive it from: the file
/// the frame names, or else the function's full path (`debug = false` keeps symbol names only).
fn owner(frame: &Value) -> Option<(&'static str, &'static str)> {
    let filename = frame["filename"].as_str().unwrap_or("");
    let function = frame["function"].as_str().unwrap_or("");
    if filename.starts_with("crates/core/") || function.starts_with("mylib::") {
        Some(("mylib", "mylib"))
    } else if filename.starts_with("shop/") || function.starts_with("shop::") {
        Some(("shop", "shop"))
    } else {
        None
    }
}

/// Checks every `shop`/`mylib` frame; returns the functions (or files) seen, for the caller to
/// check that both crates were there.
fn check_frames(fx: &Fixture, event: &Value, what: &str) -> Vec<String> {
    let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no frames in {event}"));
    let mut seen = Vec::new();
    for frame in frames {
        let Some((package, crate_name)) = owner(frame) else {
            assert_ne!(frame["package"], "mylib", "{what}: {frame}");
            assert_ne!(frame["package"], "shop", "{what}: {frame}");
            continue;
        };
        assert_eq!(frame["package"], package, "{what}: {frame}");
        let module = frame["module"].as_str().unwrap_or("");
        assert!(
            module == crate_name || module.starts_with(&format!("{crate_name}::")),
            "{what}: module prefix: {frame}"
        );
        assert_eq!(frame["in_app"], true, "{what}: {frame}");
        if let (Some(file), Some(lineno)) = (frame["filename"].as_str(), frame["lineno"].as_u64()) {
            assert_eq!(
                frame["context_line"].as_str(),
                Some(fx.line(file, lineno).as_str()),
                "{what}: {frame}"
            );
            assert!(
                !frame["pre_context"].as_array().unwrap().is_empty(),
                "{what}: {frame}"
            );
        }
        let name = frame["function"].as_str().or(frame["filename"].as_str());
        seen.push(format!("{package}:{}", name.unwrap_or("")));
    }
    let top = frames.last().unwrap();
    assert_eq!(top["filename"], "crates/core/src/stock.rs", "{what}: {top}");
    assert_eq!(top["package"], "mylib", "{what}: {top}");
    assert!(
        top["context_line"]
            .as_str()
            .unwrap()
            .contains("marker: mylib panics"),
        "{what}: {top}"
    );
    seen
}

#[test]
fn frames_of_a_member_in_crates_core_are_attributed_to_its_package_in_every_profile() {
    let fx = Fixture::new("shop");

    let debug = fx.event(&["--bin", "shop"], "debug");
    let seen = check_frames(&fx, &debug, "debug");
    assert!(
        seen.iter().any(|s| s.starts_with("shop:")),
        "debug: {seen:?}"
    );
    assert!(seen.iter().any(|s| s.contains("divide")), "debug: {seen:?}");
    assert!(
        seen.iter().any(|s| s.contains("check_boxes")),
        "debug: {seen:?}"
    );

    write(&fx.ws, "Cargo.toml", &format!("{WORKSPACE}{LINE_TABLES}"));
    let line_tables = fx.event(&["--bin", "shop", "--release"], "release");
    let seen = check_frames(&fx, &line_tables, "line-tables-only");
    assert!(
        seen.iter().any(|s| s.starts_with("shop:")),
        "line-tables: {seen:?}"
    );
    // The inlined frame, named `check_boxes` only: attributed by its file, not its directory.
    assert!(
        seen.iter().any(|s| s == "mylib:check_boxes"),
        "line-tables: {seen:?}"
    );

    write(&fx.ws, "Cargo.toml", WORKSPACE);
    let no_debug = fx.event(&["--bin", "shop", "--release"], "release");
    let seen = check_frames(&fx, &no_debug, "debug = false");
    assert!(
        seen.iter().any(|s| s == "shop:shop::restock"),
        "debug = false: the app's own non-top frames are attributed: {seen:?}"
    );

    // Line tables for every package, the SDK's included (what Sentry recommends for release
    // builds): its own frames, whose functions are inlined across crates and named without
    // their path, are still recognized and left out.
    write(
        &fx.ws,
        "Cargo.toml",
        &WORKSPACE.replace("debug = false", "debug = \"line-tables-only\""),
    );
    let everywhere = fx.event(&["--bin", "shop", "--release"], "release");
    let seen = check_frames(&fx, &everywhere, "line-tables-only everywhere");
    assert!(
        seen.iter().any(|s| s == "mylib:check_boxes"),
        "line-tables everywhere: {seen:?}"
    );
    let reported = fx.event_with(
        &["--bin", "shop", "--release"],
        "release",
        &[("SHOP_REPORT", "1")],
    );
    for event in [&everywhere, &reported] {
        let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
            .as_array()
            .unwrap();
        for frame in frames {
            let path = frame["abs_path"].as_str().unwrap_or("");
            assert!(
                frame["package"] != "watchpost" && !path.contains("/sentry-core/src/"),
                "an SDK frame was left in: {frame}"
            );
        }
    }
    // A captured error's top frame is the line that captured it, in the function it is in.
    let frames = reported["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    let top = frames.last().unwrap();
    assert_eq!(top["filename"], "shop/src/main.rs", "{top}");
    assert!(
        top["context_line"]
            .as_str()
            .is_some_and(|l| l.contains("marker: shop reports")),
        "{top}"
    );
}

#[test]
fn build_script_errors_are_printed_once_and_a_left_out_src_warns() {
    let fx = Fixture::new("till");
    write(
        &fx.ws,
        "till/build.rs",
        "fn main() {\n    watchpost_build::SourceEmbed::new().root(\"nope\").embed();\n}\n",
    );
    let build = cargo_build(&fx.ws, &["--bin", "till"]);
    let err = stderr(&build);
    assert!(!build.status.success(), "{err}");
    assert_eq!(err.matches("root_source_code_paths").count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");

    write(
        &fx.ws,
        "till/build.rs",
        "fn main() {\n    watchpost_build::SourceEmbed::new()\n        .no_default_root()\n        \
         .root(\"../crates/core/src\")\n        .embed();\n}\n",
    );
    let build = cargo_build(&fx.ws, &["--bin", "till"]);
    let err = stderr(&build);
    assert!(build.status.success(), "{err}");
    assert_eq!(
        err.matches("the crate's own `till/src` is not embedded")
            .count(),
        1,
        "{err}"
    );
}
