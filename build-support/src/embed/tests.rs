use super::*;
use crate::format::{u32_at, Sections, FILE_ENTRY_LEN, HEADER_LEN};
use std::fs;

mod rerun;

/// A workspace with one member `app` whose `src` holds `files`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &[u8])]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        fs::write(ws.join("Cargo.toml"), "[workspace]\nmembers = [\"app\"]\n").unwrap();
        fs::write(
            ws.join("Cargo.lock"),
            "[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"log\",\n]\n\n\
             [[package]]\nname = \"log\"\nversion = \"0.4.22\"\n",
        )
        .unwrap();
        for (path, contents) in files {
            let path = ws.join("app").join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        fs::create_dir_all(ws.join("target/out")).unwrap();
        Fixture { dir }
    }

    fn env(&self) -> BuildEnv {
        BuildEnv {
            manifest_dir: self.dir.path().join("app"),
            out_dir: self.dir.path().join("target/out"),
            pkg_name: "app".to_owned(),
            pkg_version: "0.1.0".to_owned(),
            cargo: None,
            switch: None,
        }
    }

    /// Runs and returns the summary and the printed lines.
    fn run(&self, embed: SourceEmbed, env: &BuildEnv) -> (Result<Summary, Error>, String) {
        let mut out = Vec::new();
        let result = embed.run(env, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    fn ws(&self) -> String {
        to_slash(self.dir.path())
    }
}

/// The keys in a written table.
fn keys(table: &[u8]) -> Vec<String> {
    let sections = Sections::of(table).unwrap();
    let files = (sections.modules - sections.files) / FILE_ENTRY_LEN;
    let at = |at: usize| u32_at(table, at).unwrap() as usize;
    (0..files)
        .map(|i| {
            let entry = sections.files + i * FILE_ENTRY_LEN;
            let (off, len) = (at(entry), at(entry + 4));
            let start = sections.strings + off;
            String::from_utf8(table[start..start + len].to_vec()).unwrap()
        })
        .collect()
}

/// Each key with the name of the package the table records for it ("" for none).
fn packages(table: &[u8]) -> Vec<(String, String)> {
    let sections = Sections::of(table).unwrap();
    let at = |at: usize| u32_at(table, at).unwrap() as usize;
    let string = |off: usize, len: usize| {
        let start = sections.strings + off;
        String::from_utf8(table[start..start + len].to_vec()).unwrap()
    };
    keys(table)
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let package = at(sections.files + i * FILE_ENTRY_LEN + 20);
            let name = package.checked_sub(1).map_or(String::new(), |p| {
                let entry = sections.packages + p * crate::format::PACKAGE_ENTRY_LEN;
                string(at(entry), at(entry + 4))
            });
            (key, name)
        })
        .collect()
}

#[test]
fn embeds_src_under_workspace_relative_keys() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("src/a/b.rs", b"//\n")]);
    let (summary, _) = fx.run(SourceEmbed::new(), &fx.env());
    let summary = summary.unwrap();
    assert_eq!(summary.files, 2);
    let table = fs::read(&summary.path).unwrap();
    assert_eq!(keys(&table), ["app/src/a/b.rs", "app/src/main.rs"]);
    assert_eq!(
        summary.path,
        fx.dir.path().join("target/out/sentry_sources.bin")
    );
}

#[test]
fn prints_exactly_the_tracking_lines() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let (_, lines) = fx.run(SourceEmbed::new(), &fx.env());
    let ws = fx.ws();
    let expected = format!(
        "cargo:rerun-if-env-changed=SENTRY_EMBED_SOURCES\n\
         cargo:rerun-if-changed={ws}/app/src\n\
         cargo:rerun-if-changed={ws}/Cargo.lock\n"
    );
    assert_eq!(lines, expected);
}

#[test]
fn records_dependencies_from_the_lock_file() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let (summary, _) = fx.run(SourceEmbed::new(), &fx.env());
    assert_eq!(summary.unwrap().modules, 1);
    let (summary, lines) = fx.run(SourceEmbed::new().report_deps(false), &fx.env());
    assert_eq!(summary.unwrap().modules, 0);
    assert!(!lines.contains("Cargo.lock"));
}

#[test]
fn missing_root_fails_naming_the_option() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let (result, lines) = fx.run(SourceEmbed::new().root("nope"), &fx.env());
    let err = result.unwrap_err().to_string();
    assert!(err.contains("root_source_code_paths"), "{err}");
    assert!(
        !lines.contains("rerun-if-changed"),
        "never print a missing path: {lines}"
    );
}

#[test]
fn invalid_exclude_fails_naming_the_option() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let (result, _) = fx.run(SourceEmbed::new().exclude("(unclosed"), &fx.env());
    let err = result.unwrap_err().to_string();
    assert!(err.contains("source_code_exclude_patterns"), "{err}");
}

#[test]
fn file_name_must_stay_in_out_dir() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    for bad in ["", "../x.bin", "a/b.bin"] {
        let (result, _) = fx.run(SourceEmbed::new().file_name(bad), &fx.env());
        assert!(
            matches!(result, Err(Error::InvalidFileName { .. })),
            "{bad}"
        );
    }
}

#[test]
fn secret_file_is_kept_out_by_an_exclude() {
    let fx = Fixture::new(&[
        ("src/main.rs", b"fn main() {}\n"),
        ("src/secret.rs", b"const KEY: &str = \"hunter2\";\n"),
    ]);
    let (summary, _) = fx.run(SourceEmbed::new().exclude(r"(^|/)secret\.rs$"), &fx.env());
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(keys(&table), ["app/src/main.rs"]);
    assert!(!table.windows(7).any(|w| w == b"hunter2"));
}

#[test]
fn env_switch_writes_an_empty_but_valid_table() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let mut env = fx.env();
    env.switch = Some("0".to_owned());
    let (summary, lines) = fx.run(SourceEmbed::new().report_deps(false), &env);
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(table.len(), HEADER_LEN + fx.ws().len());
    assert!(keys(&table).is_empty());
    assert_eq!(lines, "cargo:rerun-if-env-changed=SENTRY_EMBED_SOURCES\n");
}

#[test]
fn oversized_file_is_skipped_with_a_warning() {
    let big = vec![b'/'; 2000];
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("src/big.rs", &big)]);
    let (summary, lines) = fx.run(SourceEmbed::new().max_file_bytes(1000), &fx.env());
    let summary = summary.unwrap();
    assert_eq!((summary.files, summary.skipped), (1, 1));
    assert!(
        lines.contains("cargo:warning=watchpost-build: skipped files over max_file_bytes (1000 bytes): app/src/big.rs (2000 bytes)"),
        "{lines}"
    );
}

#[test]
fn total_cap_stops_embedding_with_a_warning() {
    let fx = Fixture::new(&[("src/a.rs", b"// 10 bytes"), ("src/b.rs", b"// 10 bytes")]);
    let (summary, lines) = fx.run(SourceEmbed::new().max_total_bytes(15), &fx.env());
    let summary = summary.unwrap();
    assert_eq!((summary.files, summary.skipped), (1, 1));
    assert!(
        lines.contains("max_total_bytes (15 bytes) reached"),
        "{lines}"
    );
    assert!(lines.contains("app/src/b.rs"), "{lines}");
}

#[test]
fn non_utf8_file_is_skipped_with_a_warning() {
    let fx = Fixture::new(&[
        ("src/main.rs", b"fn main() {}\n"),
        ("src/latin1.rs", b"// caf\xe9\n"),
    ]);
    let (summary, lines) = fx.run(SourceEmbed::new(), &fx.env());
    assert_eq!(summary.unwrap().files, 1);
    assert!(lines.contains("app/src/latin1.rs: not UTF-8"), "{lines}");
}

#[test]
fn root_outside_the_workspace_keeps_absolute_keys() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("shared.rs"), "pub fn s() {}\n").unwrap();
    let embed = SourceEmbed::new().root(outside.path());
    let (summary, _) = fx.run(embed, &fx.env());
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(
        keys(&table),
        [
            format!("{}/shared.rs", to_slash(outside.path())),
            "app/src/main.rs".to_owned()
        ]
    );
}

#[test]
fn unchanged_table_is_not_rewritten() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let (summary, _) = fx.run(SourceEmbed::new(), &fx.env());
    let path = summary.unwrap().path;
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fx.run(SourceEmbed::new(), &fx.env()).0.unwrap();
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
}

#[test]
fn overlapping_roots_embed_each_file_once() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("src/a/b.rs", b"//\n")]);
    let (summary, _) = fx.run(SourceEmbed::new().root("src").root("src/a"), &fx.env());
    let summary = summary.unwrap();
    assert_eq!((summary.files, summary.raw_bytes), (2, 16));
}

#[test]
fn a_root_adds_to_the_crate_src() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("gen/x.rs", b"//\n")]);
    let (summary, lines) = fx.run(SourceEmbed::new().root("gen"), &fx.env());
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(keys(&table), ["app/gen/x.rs", "app/src/main.rs"]);
    assert!(!lines.contains("warning"), "{lines}");
}

#[test]
fn leaving_out_the_crate_src_warns() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("gen/x.rs", b"//\n")]);
    let embed = SourceEmbed::new().no_default_root().root("gen");
    let (summary, lines) = fx.run(embed, &fx.env());
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(keys(&table), ["app/gen/x.rs"]);
    assert!(
        lines.contains("cargo:warning=watchpost-build: the crate's own `app/src` is not embedded"),
        "{lines}"
    );
    // A root that covers `src` is fine.
    let (_, lines) = fx.run(SourceEmbed::new().no_default_root().root("."), &fx.env());
    assert!(!lines.contains("is not embedded"), "{lines}");
}

#[test]
fn a_root_without_matching_files_warns() {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n"), ("docs/x.md", b"#\n")]);
    let (_, lines) = fx.run(SourceEmbed::new().root("docs"), &fx.env());
    assert!(
        lines.contains("cargo:warning=watchpost-build: root `app/docs` holds no file"),
        "{lines}"
    );
    let (_, lines) = fx.run(SourceEmbed::new().pattern("**/*.txt"), &fx.env());
    assert!(
        lines.contains("root `app/src` holds no file that source_code_path_pattern `**/*.txt`"),
        "{lines}"
    );
}

/// A workspace: `app` and a member in `crates/core` whose package is `mylib`.
fn two_members() -> Fixture {
    let fx = Fixture::new(&[("src/main.rs", b"fn main() {}\n")]);
    let ws = fx.dir.path();
    fs::write(
        ws.join("Cargo.toml"),
        "[workspace]\nmembers = [\"app\", \"crates/*\"]\n",
    )
    .unwrap();
    fs::write(ws.join("app/Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
    fs::create_dir_all(ws.join("crates/core/src")).unwrap();
    fs::write(
        ws.join("crates/core/Cargo.toml"),
        "[package]\nname = \"mylib\"\n",
    )
    .unwrap();
    fs::write(ws.join("crates/core/src/lib.rs"), "pub fn f() {}\n").unwrap();
    fx
}

#[test]
fn workspace_embeds_every_member_with_its_package() {
    let fx = two_members();
    let (summary, lines) = fx.run(SourceEmbed::workspace(), &fx.env());
    // No `CARGO` here: the manifests stand in, with a warning.
    assert!(
        lines.contains("members read from the workspace Cargo.toml"),
        "{lines}"
    );
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(
        packages(&table),
        [
            ("app/src/main.rs".to_owned(), "app".to_owned()),
            ("crates/core/src/lib.rs".to_owned(), "mylib".to_owned())
        ]
    );
    let ws = fx.ws();
    assert!(
        lines.contains(&format!("cargo:rerun-if-changed={ws}/Cargo.toml\n")),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("cargo:rerun-if-changed={ws}/crates/core/src\n")),
        "{lines}"
    );
}

#[test]
fn a_root_in_another_member_is_attributed_to_that_member() {
    let fx = two_members();
    let (summary, _) = fx.run(SourceEmbed::new().root("../crates/core/src"), &fx.env());
    let table = fs::read(summary.unwrap().path).unwrap();
    assert_eq!(
        packages(&table),
        [
            ("app/src/main.rs".to_owned(), "app".to_owned()),
            ("crates/core/src/lib.rs".to_owned(), "mylib".to_owned())
        ]
    );
}
