//! The build script's environment, as Cargo sets it.

use super::ENV_SWITCH;
use crate::Error;
use std::path::PathBuf;

/// What Cargo tells a build script through the environment.
#[derive(Debug, Clone)]
pub(crate) struct BuildEnv {
    pub(crate) manifest_dir: PathBuf,
    pub(crate) out_dir: PathBuf,
    pub(crate) pkg_name: String,
    pub(crate) pkg_version: String,
    /// The `cargo` running the build (`CARGO`), for `cargo metadata`.
    pub(crate) cargo: Option<PathBuf>,
    /// The value of [`ENV_SWITCH`], if set.
    pub(crate) switch: Option<String>,
}

impl BuildEnv {
    pub(crate) fn from_env() -> Result<Self, Error> {
        let var =
            |name: &'static str| std::env::var_os(name).ok_or(Error::MissingEnv { var: name });
        Ok(BuildEnv {
            manifest_dir: PathBuf::from(var("CARGO_MANIFEST_DIR")?),
            out_dir: PathBuf::from(var("OUT_DIR")?),
            pkg_name: var("CARGO_PKG_NAME")?.to_string_lossy().into_owned(),
            pkg_version: var("CARGO_PKG_VERSION")?.to_string_lossy().into_owned(),
            cargo: std::env::var_os("CARGO").map(PathBuf::from),
            switch: std::env::var(ENV_SWITCH).ok(),
        })
    }

    pub(crate) fn switched_off(&self) -> bool {
        self.switch.as_deref().is_some_and(|v| {
            ["0", "false", "no", "off"]
                .iter()
                .any(|off| v.trim().eq_ignore_ascii_case(off))
        })
    }
}
