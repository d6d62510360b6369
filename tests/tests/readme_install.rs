//! The README's install snippets work as written: a fresh crate outside this workspace is made
//! from the `Cargo.toml` lines of the README's "Installation" section and the `build.rs` and
//! `src/main.rs` of its "Quick start" (path dependencies pointed at this checkout), built with
//! cargo, and run.
//!
//! Slow the first time: the fixture shares the target dir of the other fixture tests
//! (`source_fixture`), where the dependencies are compiled once.

#![allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.

use std::fs;
use std::path::Path;
use std::process::Command;

/// The section whose heading starts with `title`, up to the next heading of its level or higher.
fn section(markdown: &str, title: &str) -> String {
    let mut lines = markdown.lines().skip_while(|l| {
        !(l.starts_with("## ") && l.trim_start_matches('#').trim().starts_with(title))
    });
    let heading = lines
        .next()
        .unwrap_or_else(|| panic!("a `{title}` section in README.md"));
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut in_code = false;
    lines
        .take_while(|l| {
            if l.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            let hashes = l.chars().take_while(|c| *c == '#').count();
            in_code || !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fenced blocks of a markdown text: (info string, contents).
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed.starts_with("```") => {
                current = Some((trimmed.trim_start_matches('`').to_owned(), Vec::new()));
            }
            Some((info, body)) if trimmed == "```" => {
                blocks.push((std::mem::take(info), body.join("\n") + "\n"));
                current = None;
            }
            Some((_, body)) => body.push(line),
            None => {}
        }
    }
    blocks
}

/// The block whose first line is the comment `// <name>`, with rustdoc's hidden lines shown.
fn rust_file(blocks: &[(String, String)], name: &str) -> String {
    let (_, body) = blocks
        .iter()
        .find(|(info, body)| info.starts_with("rust") && body.starts_with(&format!("// {name}")))
        .unwrap_or_else(|| panic!("a ```rust block starting with `// {name}`"));
    body.lines()
        .map(|l| match l.trim_start().strip_prefix("# ") {
            Some(hidden) => hidden.to_owned(),
            None if l.trim() == "#" => String::new(),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The README's dependency lines, with every path dependency on one of this workspace's crates
/// pointed at this checkout.
fn manifest(blocks: &[(String, String)], repo: &Path) -> String {
    let toml: String = blocks
        .iter()
        .filter(|(info, _)| info == "toml")
        .map(|(_, body)| body.as_str())
        .collect();
    let mut out = String::from(
        "[package]\nname = \"readme-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n",
    );
    for line in toml.lines() {
        let mut line = line.to_owned();
        for dir in ["sentry-core", "build-support", "sentry-sources-macro"] {
            if let Some(start) = line.find("path = \"") {
                let value_start = start + "path = \"".len();
                let value_end = value_start + line[value_start..].find('"').unwrap();
                if line[value_start..value_end].ends_with(dir) {
                    let abs = repo.join(dir).display().to_string().replace('\\', "/");
                    line.replace_range(value_start..value_end, &abs);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn the_install_snippets_build_and_run_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = fs::read_to_string(repo.join("README.md")).unwrap();
    let mut blocks = code_blocks(&section(&readme, "Installation"));
    blocks.extend(code_blocks(&section(&readme, "Quick start")));
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("readme-app");
    fs::create_dir_all(app.join("src")).unwrap();
    let manifest = manifest(&blocks, repo);
    assert!(manifest.contains("watchpost"), "{manifest}");
    fs::write(app.join("Cargo.toml"), &manifest).unwrap();
    fs::write(app.join("build.rs"), rust_file(&blocks, "build.rs")).unwrap();
    fs::write(app.join("src/main.rs"), rust_file(&blocks, "src/main.rs")).unwrap();
    // The repository's lock pins the same dependency versions, so the build reuses them.
    fs::copy(repo.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-install-target");
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("SENTRY_DSN")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's snippets did not build and run:\n{manifest}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
