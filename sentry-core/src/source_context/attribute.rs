//! Exact crate attribution: the package, module prefix and `in_app` of frames whose code the table
//! embeds.
//!
//! The table records, for every embedded file, the package it belongs to (see
//! `watchpost_build::format`). A frame is attributed when its file is in the table, or, when
//! it has no file (no debug info), when its crate name from the symbol is a recorded package's.
//! Either way the answer comes from Cargo's own metadata, never from a directory's name: a member
//! in `crates/core` whose package is `mylib` is `mylib`, not the standard library's `core`.

use super::table::PackageInfo;
use super::SourceTable;
use crate::event::Frame;

impl SourceTable {
    /// Sets `package` (the package's name), the module's crate prefix and `in_app: true` on a
    /// frame of an embedded package. Returns whether it did; other frames are left as they are.
    pub(crate) fn attribute(&self, frame: &mut Frame) -> bool {
        let Some(table) = self.table() else {
            return false;
        };
        let has_path = frame.filename.is_some() || frame.abs_path.is_some();
        let by_file = has_path
            .then(|| self.find_file(&table, frame))
            .flatten()
            .and_then(|i| Some((table.package_of_file(i)?, table.path(i)?)));
        if let Some((package, key)) = by_file {
            let prefixed = frame
                .module
                .as_deref()
                .is_some_and(|m| first_segment(m) == package.crate_name);
            if !prefixed {
                frame.module = Some(module_of(&package, key));
            }
            set_package(frame, &package);
            return true;
        }
        // Without a file only the symbol's crate is known (`debug = false`); a frame with a file
        // the table does not hold is some other copy of the crate (a registry version).
        if has_path {
            return false;
        }
        let crate_name = frame.module.as_deref().map(first_segment);
        match crate_name.and_then(|name| table.package_by_crate(name)) {
            Some(package) => {
                set_package(frame, &package);
                true
            }
            None => false,
        }
    }
}

fn set_package(frame: &mut Frame, package: &PackageInfo) {
    if frame.package.as_deref() != Some(package.name) {
        frame.package = Some(package.name.to_owned());
    }
    frame.in_app = Some(true);
}

fn first_segment(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// The module a file of `package` defines: the crate name, then the file's path below the
/// package's `src/` (`src/db/pool.rs` → `my_lib::db::pool`; `lib.rs`, `main.rs` and `mod.rs` add
/// nothing).
pub(crate) fn module_of(package: &PackageInfo, key: &str) -> String {
    let mut module = package.crate_name.to_owned();
    let below_dir = if package.dir.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(package.dir)
            .and_then(|rest| rest.strip_prefix('/'))
    };
    let Some(file) = below_dir
        .and_then(|rest| rest.strip_prefix("src/"))
        .and_then(|rest| rest.strip_suffix(".rs"))
    else {
        return module;
    };
    crate::stacktrace::push_module_path(&mut module, file);
    module
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYLIB: PackageInfo = PackageInfo {
        name: "my-lib",
        crate_name: "my_lib",
        dir: "crates/core",
    };

    #[test]
    fn modules_follow_the_file_below_the_package_src() {
        assert_eq!(module_of(&MYLIB, "crates/core/src/lib.rs"), "my_lib");
        assert_eq!(module_of(&MYLIB, "crates/core/src/db/mod.rs"), "my_lib::db");
        assert_eq!(
            module_of(&MYLIB, "crates/core/src/db/pool.rs"),
            "my_lib::db::pool"
        );
        let root = PackageInfo { dir: "", ..MYLIB };
        assert_eq!(module_of(&root, "src/bin/tool.rs"), "my_lib::bin::tool");
        assert_eq!(module_of(&root, "build.rs"), "my_lib");
    }
}
