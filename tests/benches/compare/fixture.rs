//! Our figures without a peer that need a separate build: what embedding a 500-file / 5 MiB
//! source tree costs in build time and binary size, and how fast a frame's source lines are
//! looked up in such a table.
//!
//! A fixture workspace is generated in a temporary directory with two binaries that differ only
//! in embedding: `fixture-plain` (no build script, an empty table) and `fixture-embed` (a
//! `build.rs` calling `watchpost_build::embed_sources()` and `embed_sources!()`). Both carry
//! the same tree of real Rust sources under `src/tree/`, taken from Cargo's registry cache. The
//! tree is not compiled (no `mod` points at it), so the compiled code is the same in both binaries
//! and every difference is the embedding's.

use crate::stats::median;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

/// Files in the tree.
pub(crate) const TREE_FILES: usize = 500;
/// Mean file size aimed at: 500 files of 10 KiB make the 5 MiB tree.
const MEAN_BYTES: u64 = 10 * 1024;
/// Sizes of the files considered.
const FILE_BYTES: std::ops::RangeInclusive<u64> = 2 * 1024..=32 * 1024;
/// Repetitions of each timed build.
const BUILD_RUNS: usize = 3;

/// Everything measured, as `name → value`.
pub(crate) type Figures = BTreeMap<String, f64>;

/// Generates the fixture in a temporary directory, or in `keep` (kept afterwards, and its
/// dependencies reused by the next run: then the first-build figure is not a cold build), builds
/// and measures it.
pub(crate) fn run(workspace: &Path, keep: Option<&Path>) -> Result<Figures, String> {
    let tmp;
    let root = match keep {
        Some(dir) => dir,
        None => {
            tmp = tempfile::Builder::new()
                .prefix("sentry-compare-fixture")
                .tempdir()
                .map_err(|e| format!("temp dir: {e}"))?;
            tmp.path()
        }
    };
    let mut figures = Figures::new();

    let sources = corpus()?;
    let raw: u64 = sources.iter().map(|s| s.len() as u64).sum();
    figures.insert("tree_files".into(), sources.len() as f64);
    figures.insert("tree_bytes".into(), raw as f64);
    write_workspace(root, workspace, &sources)?;
    let build = Builder {
        root: root.to_path_buf(),
        target: root.join("target"),
    };

    eprintln!("  fixture: first release build (dependencies included)...");
    figures.insert(
        "build_cold_plain_s".into(),
        build.cargo(&["build", "--release", "-p", "fixture-plain"])?,
    );
    figures.insert(
        "build_first_embed_s".into(),
        build.cargo(&["build", "--release", "-p", "fixture-embed"])?,
    );

    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in 0..BUILD_RUNS {
        eprintln!("  fixture: timed builds, round {}/{BUILD_RUNS}...", i + 1);
        build.cargo(&["clean", "--release", "-p", "fixture-plain"])?;
        samples
            .entry("build_clean_plain_s")
            .or_default()
            .push(build.cargo(&["build", "--release", "-p", "fixture-plain"])?);
        // Only the crate: `watchpost-build` is a dependency like any other, built once (and
        // cleaning it would rebuild the `watchpost` runtime, which depends on it too).
        build.cargo(&["clean", "--release", "-p", "fixture-embed"])?;
        samples
            .entry("build_clean_embed_s")
            .or_default()
            .push(build.cargo(&["build", "--release", "-p", "fixture-embed"])?);
        for (krate, dir) in [("plain", "plain"), ("embed", "embed")] {
            touch(&root.join(dir).join("src/main.rs"))?;
            let key = if krate == "plain" {
                "build_incr_plain_s"
            } else {
                "build_incr_embed_s"
            };
            samples.entry(key).or_default().push(build.cargo(&[
                "build",
                "--release",
                "-p",
                &format!("fixture-{krate}"),
            ])?);
        }
        touch(&root.join("embed/src/tree/d03/f0150.rs"))?;
        samples
            .entry("build_tree_edit_embed_s")
            .or_default()
            .push(build.cargo(&["build", "--release", "-p", "fixture-embed"])?);
        touch(&root.join("plain/src/tree/d03/f0150.rs"))?;
        samples
            .entry("build_tree_edit_plain_s")
            .or_default()
            .push(build.cargo(&["build", "--release", "-p", "fixture-plain"])?);
    }
    for (key, values) in samples {
        figures.insert(key.into(), median(&values).unwrap_or(f64::NAN));
    }

    let release = build.target.join("release");
    figures.insert(
        "binary_plain_bytes".into(),
        file_len(&release.join("fixture-plain"))? as f64,
    );
    figures.insert(
        "binary_embed_bytes".into(),
        file_len(&release.join("fixture-embed"))? as f64,
    );
    if let Some(table) = find_table(&release.join("build")) {
        figures.insert("table_bytes".into(), file_len(&table)? as f64);
    }

    let output = Command::new(release.join("fixture-embed"))
        .arg("lookup")
        .output()
        .map_err(|e| format!("running the fixture: {e}"))?;
    for (key, value) in crate::parse_results(&String::from_utf8_lossy(&output.stdout)) {
        figures.insert(format!("lookup_{key}"), value);
    }
    Ok(figures)
}

/// Real Rust sources from Cargo's registry cache, in path order: UTF-8 `.rs` files of 2–32 KiB,
/// each taken when it keeps the running total within 8 KiB of `MEAN_BYTES` per file, until there
/// are `TREE_FILES`.
fn corpus() -> Result<Vec<String>, String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry = cargo_home.join("registry/src");
    let mut found = Vec::new();
    let mut total = 0;
    let mut stack = vec![registry.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        // Depth-first in path order: push in reverse so the smallest name is visited first.
        entries.sort();
        for path in entries.iter().rev() {
            if path.is_dir() {
                stack.push(path.clone());
            }
        }
        for path in &entries {
            if found.len() >= TREE_FILES {
                return Ok(found);
            }
            let Some(size) = std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
            else {
                continue;
            };
            let aim = MEAN_BYTES * (found.len() as u64 + 1);
            let fits = FILE_BYTES.contains(&size) && (total + size).abs_diff(aim) <= 8 * 1024;
            if !fits || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(path) {
                total += size;
                found.push(text);
            }
        }
    }
    Err(format!(
        "found only {} suitable source files under {}; build the workspace first so its dependencies are downloaded",
        found.len(),
        registry.display()
    ))
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn write_workspace(root: &Path, workspace: &Path, sources: &[String]) -> Result<(), String> {
    let core = workspace.join("sentry-core");
    let support = workspace.join("build-support");
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"plain\", \"embed\"]\n\n[profile.release]\ndebug = \"line-tables-only\"\n",
    )?;
    // The workspace's lock file, so the fixture builds the same dependency versions offline.
    if let Ok(lock) = std::fs::read_to_string(workspace.join("Cargo.lock")) {
        write(&root.join("Cargo.lock"), &lock)?;
    }
    let dep = |path: &Path| format!("{{ path = {:?} }}", path.display().to_string());
    write(
        &root.join("plain/Cargo.toml"),
        &format!("[package]\nname = \"fixture-plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nwatchpost = {}\n", dep(&core)),
    )?;
    write(
        &root.join("embed/Cargo.toml"),
        &format!(
            "[package]\nname = \"fixture-embed\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nwatchpost = {}\n\n[build-dependencies]\nwatchpost-build = {}\n",
            dep(&core),
            dep(&support)
        ),
    )?;
    write(
        &root.join("embed/build.rs"),
        "fn main() {\n    watchpost_build::embed_sources();\n}\n",
    )?;
    write(
        &root.join("plain/src/main.rs"),
        &MAIN.replace("__TABLE__", "watchpost::SourceTable::empty()"),
    )?;
    write(
        &root.join("embed/src/main.rs"),
        &MAIN.replace("__TABLE__", "watchpost::embed_sources!()"),
    )?;
    for krate in ["plain", "embed"] {
        for (i, text) in sources.iter().enumerate() {
            write(
                &root.join(format!("{krate}/src/tree/d{:02}/f{i:04}.rs", i / 50)),
                text,
            )?;
        }
    }
    Ok(())
}

/// Runs cargo in the fixture workspace; returns the wall time in seconds.
pub(crate) struct Builder {
    pub(crate) root: PathBuf,
    pub(crate) target: PathBuf,
}

impl Builder {
    /// Runs `cargo <args>` in the fixture; returns the seconds it took.
    pub(crate) fn cargo(&self, args: &[&str]) -> Result<f64, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(args)
            .arg("-q")
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target);
        // The variables Cargo set for this bench describe the bench, not the fixture.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let ours = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .iter()
            .any(|p| key.starts_with(p));
            if ours || key == "SENTRY_EMBED_SOURCES" {
                cmd.env_remove(key.as_ref());
            }
        }
        let start = Instant::now();
        let out = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("running cargo: {e}"))?;
        let secs = start.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "`cargo {}` failed in the fixture:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(secs)
    }
}

fn touch(path: &Path) -> Result<(), String> {
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    file.set_modified(SystemTime::now())
        .map_err(|e| format!("touching {}: {e}", path.display()))
}

pub(crate) fn file_len(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The newest `sentry_sources.bin` the embed crate's build script wrote.
fn find_table(build_dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(build_dir)
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("fixture-embed-")
        })
        .map(|e| e.path().join("out/sentry_sources.bin"))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// The fixture's program: an ordinary watchpost user, plus a `lookup` mode that times
/// `SourceTable::apply_to_frame`.
const MAIN: &str = r#"//! Benchmark fixture generated by tests/benches/compare: a program using watchpost.
use watchpost::protocol::Frame;
use watchpost::{ClientOptions, SourceTable};
use std::time::Instant;

static SOURCES: SourceTable = __TABLE__;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("lookup") {
        lookup();
        return;
    }
    let guard = watchpost::init(ClientOptions::new().source_table(SOURCES));
    let input = std::env::args().nth(1).unwrap_or_default();
    if let Err(err) = input.parse::<u16>() {
        println!("{:?} {}", watchpost::capture_error(&err), guard.is_ok());
    }
}

fn frame(path: &str, line: u32) -> Frame {
    let mut f = Frame::default();
    f.filename = Some(path.to_owned());
    f.lineno = Some(line);
    f
}

/// Median nanoseconds per `apply_to_frame` over 9 rounds of about `lookups` lookups.
fn per_frame(frames: &mut [Frame], lookups: usize) -> f64 {
    let reps = (lookups / frames.len()).max(1);
    let mut rounds: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                for f in frames.iter_mut() {
                    std::hint::black_box(SOURCES.apply_to_frame(f, 3));
                }
            }
            start.elapsed().as_nanos() as f64 / (reps * frames.len()) as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn lookup() {
    let paths: Vec<&str> = SOURCES.paths().filter(|p| p.contains("/tree/")).collect();
    println!("= files {}", paths.len());
    if paths.len() < 8 {
        return;
    }
    // One event's 20 frames in 4 files, looked up again and again (errors repeat).
    let mut hot: Vec<Frame> = (0..20).map(|i| frame(paths[i % 4], 30 + 7 * i as u32)).collect();
    let hits = hot.iter_mut().map(|f| SOURCES.apply_to_frame(f, 3)).filter(|hit| *hit).count();
    println!("= hot_hits {hits}");
    println!("= hot_ns {:.1}", per_frame(&mut hot, 400_000));
    // Every frame in another file, more files than the inflated-file cache keeps.
    let mut cold: Vec<Frame> = paths.iter().enumerate().map(|(i, p)| frame(p, 30 + (i % 50) as u32)).collect();
    println!("= cold_ns {:.1}", per_frame(&mut cold, 5_000));
    // Frames of the standard library and of dependencies, which are not embedded.
    let std_path = "/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/std/src/panicking.rs";
    let dep_path = "/home/dev/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.47.1/src/runtime/task/harness.rs";
    let mut miss: Vec<Frame> = (0..20).map(|i| frame(if i % 2 == 0 { std_path } else { dep_path }, 100 + i)).collect();
    println!("= miss_ns {:.1}", per_frame(&mut miss, 400_000));
}
"#;

/// Prints the fixture's figures as a table, with the targets.
pub(crate) fn print(f: &Figures) {
    let get = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    let raw = get("tree_bytes");
    let mb = |b: f64| b / (1024.0 * 1024.0);
    println!(
        "our own figures: a {:.0}-file / {:.2} MiB tree of real Rust sources (from Cargo's registry cache) embedded in a release binary",
        get("tree_files"),
        mb(raw)
    );
    println!();
    println!("| figure | value | target | verdict |");
    println!("|---|---|---|---|");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let hot = get("lookup_hot_ns");
    println!(
        "| source-context lookup, frame in a recently used file | {hot:.0} ns | < 1 µs | {} |",
        verdict(hot < 1000.0)
    );
    println!("| source-context lookup, frame in a file not looked at lately (inflate) | {:.0} ns | - | - |", get("lookup_cold_ns"));
    println!(
        "| source-context lookup, std / dependency frame (not embedded) | {:.0} ns | - | - |",
        get("lookup_miss_ns")
    );
    let (plain, embed) = (get("binary_plain_bytes"), get("binary_embed_bytes"));
    let grow = (embed - plain) / raw;
    println!(
        "| binary without / with embedding | {:.2} / {:.2} MiB (+{:.2} MiB) | - | - |",
        mb(plain),
        mb(embed),
        mb(embed - plain)
    );
    println!(
        "| binary growth / raw source size | {grow:.3} | < 0.35 | {} |",
        verdict(grow < 0.35)
    );
    println!(
        "| table size (index + compressed files) / raw | {:.3} ({:.2} MiB) | - | - |",
        get("table_bytes") / raw,
        mb(get("table_bytes"))
    );
    let (ip, ie) = (get("build_incr_plain_s"), get("build_incr_embed_s"));
    println!("| incremental build, main.rs touched: without / with embedding | {ip:.2} s / {ie:.2} s (+{:.2} s) | < +1 s | {} |", ie - ip, verdict(ie - ip < 1.0));
    println!(
        "| incremental build, one tree file touched: without / with embedding | {:.2} s / {:.2} s | - | - |",
        get("build_tree_edit_plain_s"),
        get("build_tree_edit_embed_s")
    );
    let (cp, ce) = (get("build_clean_plain_s"), get("build_clean_embed_s"));
    println!("| clean build of the crate (dependencies built): without / with embedding | {cp:.2} s / {ce:.2} s (+{:.2} s) | - | - |", ce - cp);
    println!(
        "| first build, all dependencies (without embedding), then the embedding crate | {:.1} s, then {:.1} s | - | - |",
        get("build_cold_plain_s"),
        get("build_first_embed_s")
    );
}
