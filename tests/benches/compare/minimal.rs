//! The minimal application with each SDK: the stripped release binary's size and the time of a
//! clean release build (dependencies downloaded beforehand), side by side.
//!
//! Both programs initialise the SDK and capture one message. The official SDK gets the features
//! that match ours: `backtrace`, `contexts`, `panic`, and HTTPS through ureq with rustls
//! (`ureq`, `rustls`); ours gets its defaults (`panic`; ureq with rustls always). Each build
//! starts from an empty target directory; the order of the two SDKs alternates from run to run.

use crate::fixture::{file_len, write, Builder};
use crate::peers::Sdk;
use crate::Results;
use std::path::Path;

const OURS_MAIN: &str = r#"fn main() {
    let _guard = watchpost::init(watchpost::ClientOptions::new()).expect("valid options");
    watchpost::capture_message("hello", watchpost::Level::Info);
}
"#;

const OFFICIAL_MAIN: &str = r#"fn main() {
    let _guard = sentry::init(sentry::ClientOptions::default());
    sentry::capture_message("hello", sentry::Level::Info);
}
"#;

/// Builds each SDK's minimal program `runs` times from scratch and records
/// `minimal.build_s` and `minimal.binary_kb` per SDK.
pub(crate) fn run(workspace: &Path, runs: usize, results: &mut Results) -> Result<(), String> {
    let tmp = tempfile::Builder::new()
        .prefix("sentry-compare-minimal")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let root = tmp.path();
    write_programs(root, workspace)?;
    let builder = |sdk: Sdk| Builder {
        root: root.to_path_buf(),
        target: root.join(format!("target-{}", sdk.name())),
    };
    builder(Sdk::Ours).cargo(&["fetch"])?;
    for run in 0..runs {
        let order = if run % 2 == 0 {
            [Sdk::Ours, Sdk::Official]
        } else {
            [Sdk::Official, Sdk::Ours]
        };
        for sdk in order {
            let b = builder(sdk);
            let _ = std::fs::remove_dir_all(&b.target);
            eprint!(
                "  minimal app: clean release build {}/{runs}, {:<9}",
                run + 1,
                sdk.name()
            );
            let package = format!("min-{}", sdk.name());
            let secs = b.cargo(&["build", "--release", "--offline", "-p", &package])?;
            eprintln!(" {secs:>6.1} s");
            let size = file_len(&b.target.join("release").join(&package))?;
            let mut push = |key: &str, value: f64| {
                results
                    .entry((format!("minimal.{key}"), sdk))
                    .or_default()
                    .push(value)
            };
            push("build_s", secs);
            push("binary_kb", size as f64 / 1024.0);
        }
    }
    Ok(())
}

/// A workspace with the two programs, the release profile stripping symbols, and this
/// workspace's lock file (the same dependency versions as the bench).
fn write_programs(root: &Path, workspace: &Path) -> Result<(), String> {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"ours\", \"official\"]\n\n[profile.release]\nstrip = true\n",
    )?;
    if let Ok(lock) = std::fs::read_to_string(workspace.join("Cargo.lock")) {
        write(&root.join("Cargo.lock"), &lock)?;
    }
    let core = workspace.join("sentry-core").display().to_string();
    write(
        &root.join("ours/Cargo.toml"),
        &format!("[package]\nname = \"min-ours\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nwatchpost = {{ path = {core:?} }}\n"),
    )?;
    write(&root.join("ours/src/main.rs"), OURS_MAIN)?;
    write(
        &root.join("official/Cargo.toml"),
        "[package]\nname = \"min-official\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nsentry = { version = \"=0.49.5\", default-features = false, features = [\"backtrace\", \"contexts\", \"panic\", \"ureq\", \"rustls\"] }\n",
    )?;
    write(&root.join("official/src/main.rs"), OFFICIAL_MAIN)
}
