//! Which roots to walk and which packages their files belong to.

use super::report::CargoLines;
use super::{BuildEnv, SourceEmbed};
use crate::format::Package;
use crate::members::{self, Member};
use crate::paths::{normalize, table_key, workspace_root};
use crate::Error;
use std::path::{Path, PathBuf};

/// The roots to walk, the packages to record and the workspace root keys are relative to.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) ws_root: PathBuf,
    pub(crate) roots: Vec<PathBuf>,
    pub(crate) packages: Vec<Package>,
}

impl Plan {
    /// Resolves the options' roots, checking the explicit ones before anything is printed for
    /// them, and warns when the crate's own `src` is not among them.
    pub(crate) fn new(
        options: &SourceEmbed,
        env: &BuildEnv,
        cargo: &mut CargoLines<'_>,
    ) -> Result<Plan, Error> {
        let manifest_dir = &env.manifest_dir;
        let mut ws_root = workspace_root(manifest_dir);
        let mut members = Vec::new();
        if options.workspace {
            let ws = members::find(env.cargo.as_deref(), &ws_root)
                .map_err(|reason| Error::Workspace { reason })?;
            if let Some(why) = &ws.fallback {
                cargo.warning(&format!(
                    "workspace(): `cargo metadata` failed ({why}); members read from the \
                     workspace Cargo.toml instead"
                ));
            }
            ws_root = normalize(&ws.root);
            members = ws.members;
            cargo.line(&format!(
                "rerun-if-changed={}",
                ws_root.join("Cargo.toml").display()
            ));
        }
        let own = members::member_at(manifest_dir).unwrap_or_else(|| Member {
            name: env.pkg_name.clone(),
            crate_name: env.pkg_name.replace('-', "_"),
            dir: manifest_dir.clone(),
        });

        let mut plan = Plan {
            ws_root,
            roots: Vec::new(),
            packages: Vec::new(),
        };
        let own_src = normalize(&manifest_dir.join("src"));
        if options.default_root {
            if own_src.is_dir() {
                plan.add_root(own_src.clone());
            }
            for member in &members {
                let src = normalize(&member.dir.join("src"));
                if src.is_dir() {
                    plan.add_root(src);
                }
            }
        }
        for root in &options.roots {
            let path = normalize(&manifest_dir.join(root));
            check_root(&path)?;
            plan.add_root(path);
        }

        plan.add_package(&own);
        for member in &members {
            plan.add_package(member);
        }
        for root in plan.roots.clone() {
            if let Some(member) = package_above(&root, &plan.ws_root) {
                plan.add_package(&member);
            }
        }

        if own_src.is_dir() && !plan.roots.iter().any(|r| own_src.starts_with(r)) {
            cargo.warning(&format!(
                "the crate's own `{}` is not embedded (no_default_root() and no root covering \
                 it): its frames get no source context",
                table_key(&own_src, &plan.ws_root)
            ));
        }
        Ok(plan)
    }

    fn add_root(&mut self, path: PathBuf) {
        if !self.roots.contains(&path) {
            self.roots.push(path);
        }
    }

    fn add_package(&mut self, member: &Member) {
        let package = Package {
            name: member.name.clone(),
            crate_name: member.crate_name.clone(),
            dir: table_key(&normalize(&member.dir), &self.ws_root),
        };
        if !self.packages.iter().any(|p| p.name == package.name) {
            self.packages.push(package);
        }
    }
}

/// An explicit root must be an existing directory.
fn check_root(path: &Path) -> Result<(), Error> {
    let reason = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => "it is a file".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(Error::MissingRoot {
        path: path.to_path_buf(),
        reason,
    })
}

/// The package whose directory holds `root`: the nearest `Cargo.toml` with a `[package]` at or
/// above it, up to the workspace root.
fn package_above(root: &Path, ws_root: &Path) -> Option<Member> {
    for dir in root.ancestors() {
        if let Some(member) = members::member_at(dir) {
            return Some(member);
        }
        if dir == ws_root {
            break;
        }
    }
    None
}
