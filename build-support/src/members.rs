//! The packages of a workspace, for [`SourceEmbed::workspace`](crate::SourceEmbed::workspace) and
//! for attributing embedded files to their package.
//!
//! `cargo metadata --no-deps` (run with the `CARGO` that runs the build script) is the source of
//! truth. When it fails, the workspace `Cargo.toml`'s `members` (globs expanded, `exclude`
//! honoured) and each member's `[package] name` and `[lib] name` stand in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A package of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// `[package] name`.
    pub(crate) name: String,
    /// The library's crate name, or the package name with `_` for `-`.
    pub(crate) crate_name: String,
    /// The directory of its `Cargo.toml`.
    pub(crate) dir: PathBuf,
}

/// The workspace's members and its root, as `cargo metadata` or the manifests say.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    pub(crate) members: Vec<Member>,
    /// Why `cargo metadata` was not used, when the manifests stood in (worth a build warning).
    pub(crate) fallback: Option<String>,
}

/// The workspace around `ws_root`; `Err` says why neither way found members.
pub(crate) fn find(cargo: Option<&Path>, ws_root: &Path) -> Result<Workspace, String> {
    let metadata = match cargo {
        Some(cargo) => from_metadata(cargo, ws_root),
        None => Err("the CARGO environment variable is not set".to_owned()),
    };
    metadata.or_else(|why| match from_manifests(ws_root) {
        Ok(ws) => Ok(Workspace {
            fallback: Some(why),
            ..ws
        }),
        Err(also) => Err(format!("cargo metadata: {why}; Cargo.toml: {also}")),
    })
}

fn from_metadata(cargo: &Path, ws_root: &Path) -> Result<Workspace, String> {
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(ws_root.join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(stderr.lines().next().unwrap_or("failed").to_owned());
    }
    parse_metadata(&out.stdout)
}

/// The members in `cargo metadata --no-deps --format-version 1` output.
pub(crate) fn parse_metadata(json: &[u8]) -> Result<Workspace, String> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let root = value["workspace_root"]
        .as_str()
        .ok_or("no workspace_root in its output")?;
    let mut members = Vec::new();
    for package in value["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(manifest)) =
            (package["name"].as_str(), package["manifest_path"].as_str())
        else {
            continue;
        };
        let lib = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "lib" || k == "proc-macro"))
            });
        let crate_name = lib
            .and_then(|t| t["name"].as_str())
            .unwrap_or(name)
            .replace('-', "_");
        let dir = Path::new(manifest).parent().unwrap_or(Path::new(""));
        members.push(Member {
            name: name.to_owned(),
            crate_name,
            dir: dir.to_path_buf(),
        });
    }
    Ok(Workspace {
        root: PathBuf::from(root),
        members,
        fallback: None,
    })
}

fn from_manifests(ws_root: &Path) -> Result<Workspace, String> {
    let manifest = ws_root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    let mut dirs = Vec::new();
    if package_names(&text).is_some() {
        dirs.push(ws_root.to_path_buf());
    }
    let excluded = array(&text, "workspace", "exclude");
    for pattern in array(&text, "workspace", "members") {
        let full = ws_root.join(&pattern).display().to_string();
        let Ok(paths) = glob::glob(&full) else {
            continue;
        };
        for dir in paths.flatten() {
            let rel = dir.strip_prefix(ws_root).unwrap_or(&dir);
            let skip = excluded.iter().any(|e| rel == Path::new(e));
            if !skip && dir.join("Cargo.toml").is_file() && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    let members: Vec<Member> = dirs.into_iter().filter_map(|dir| member_at(&dir)).collect();
    if members.is_empty() {
        return Err(format!("no members found in {}", manifest.display()));
    }
    Ok(Workspace {
        root: ws_root.to_path_buf(),
        members,
        fallback: None,
    })
}

/// The package whose `Cargo.toml` is in `dir`, if it has a `[package]` table.
pub(crate) fn member_at(dir: &Path) -> Option<Member> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let (name, lib) = package_names(&text)?;
    Some(Member {
        crate_name: lib.unwrap_or_else(|| name.clone()).replace('-', "_"),
        name,
        dir: dir.to_path_buf(),
    })
}

/// `[package] name` and `[lib] name` of a manifest.
fn package_names(manifest: &str) -> Option<(String, Option<String>)> {
    let name = string(manifest, "package", "name")?;
    Some((name, string(manifest, "lib", "name")))
}

/// The lines of table `[table]`, up to the next table header.
fn table_lines<'a>(manifest: &'a str, table: &str) -> impl Iterator<Item = &'a str> + 'a {
    let header = format!("[{table}]");
    manifest
        .lines()
        .map(str::trim)
        .skip_while(move |l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
}

/// A `key = "value"` string of `[table]`.
fn string(manifest: &str, table: &str, key: &str) -> Option<String> {
    table_lines(manifest, table).find_map(|line| {
        let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        let value = value.trim().strip_prefix('"')?;
        Some(value[..value.find('"')?].to_owned())
    })
}

/// The strings of a `key = [ ... ]` array of `[table]`, on one line or several.
fn array(manifest: &str, table: &str, key: &str) -> Vec<String> {
    let mut lines = table_lines(manifest, table).skip_while(|l| {
        !l.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
    });
    let Some(first) = lines.next() else {
        return Vec::new();
    };
    let mut text = first.to_owned();
    if !first.contains(']') {
        for line in lines {
            text.push_str(line);
            if line.contains(']') {
                break;
            }
        }
    }
    let inside = text.split_once('[').map_or("", |(_, rest)| rest);
    let inside = inside.split(']').next().unwrap_or("");
    inside
        .split(',')
        .filter_map(|item| {
            let item = item.trim().strip_prefix('"')?;
            Some(item[..item.find('"')?].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn metadata_members_have_their_lib_crate_names() {
        let json = br#"{"packages":[
            {"name":"app","manifest_path":"/ws/app/Cargo.toml","targets":[{"kind":["bin"],"name":"app"}]},
            {"name":"mylib","manifest_path":"/ws/crates/core/Cargo.toml","targets":[{"kind":["lib"],"name":"my_core"}]}
        ],"workspace_root":"/ws"}"#;
        let ws = parse_metadata(json).unwrap();
        assert_eq!(ws.root, Path::new("/ws"));
        let names: Vec<_> = ws
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.crate_name.as_str(), m.dir.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("app", "app", PathBuf::from("/ws/app")),
                ("mylib", "my_core", PathBuf::from("/ws/crates/core"))
            ]
        );
    }

    #[test]
    fn manifests_stand_in_when_metadata_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        fs::write(
            ws.join("Cargo.toml"),
            "[workspace]\nmembers = [\n  \"app\",\n  \"crates/*\",\n]\nexclude = [\"crates/old\"]\n",
        )
        .unwrap();
        for (dir, manifest) in [
            ("app", "[package]\nname = \"app\"\n"),
            (
                "crates/core",
                "[package]\nname = \"mylib\"\n\n[lib]\nname = \"my_core\"\n",
            ),
            ("crates/old", "[package]\nname = \"old\"\n"),
        ] {
            fs::create_dir_all(ws.join(dir)).unwrap();
            fs::write(ws.join(dir).join("Cargo.toml"), manifest).unwrap();
        }
        let found = find(Some(Path::new("/no/such/cargo")), ws).unwrap();
        assert!(found.fallback.is_some());
        let names: Vec<_> = found
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.crate_name.as_str()))
            .collect();
        assert_eq!(names, [("app", "app"), ("mylib", "my_core")]);
    }

    #[test]
    fn no_members_at_all_is_an_error_naming_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(None, dir.path()).unwrap_err();
        assert!(
            err.contains("cargo metadata") && err.contains("Cargo.toml"),
            "{err}"
        );
    }
}
