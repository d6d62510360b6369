//! The one error type of this crate.

use std::path::PathBuf;

/// Why embedding failed. Configuration errors name the option that is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A source root does not exist or is not a directory.
    #[error(
        "option `root_source_code_paths` (SourceEmbed::root): `{}` is not a directory: {reason}",
        path.display()
    )]
    MissingRoot {
        /// The root as resolved against `CARGO_MANIFEST_DIR`.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    #[cfg(feature = "embed")]
    /// `source_code_path_pattern` is not a valid glob.
    #[error("option `source_code_path_pattern` (SourceEmbed::pattern): invalid glob `{pattern}`: {source}")]
    InvalidPattern {
        /// The glob as given.
        pattern: String,
        /// What the glob parser said.
        source: glob::PatternError,
    },
    #[cfg(feature = "embed")]
    /// An entry of `source_code_exclude_patterns` is not a valid regex.
    #[error("option `source_code_exclude_patterns` (SourceEmbed::exclude): invalid regex `{pattern}`: {source}")]
    InvalidExclude {
        /// The regex as given.
        pattern: String,
        /// What the regex parser said.
        source: regex::Error,
    },
    /// `SourceEmbed::workspace` found no members.
    #[error("option `SourceEmbed::workspace`: cannot list the workspace members: {reason}")]
    Workspace {
        /// Why `cargo metadata` and the workspace `Cargo.toml` both failed.
        reason: String,
    },
    /// The table file name is empty or leaves `OUT_DIR`.
    #[error("option `file_name` (SourceEmbed::file_name): `{name}` must be a plain file name inside OUT_DIR")]
    InvalidFileName {
        /// The name as given.
        name: String,
    },
    /// An environment variable Cargo sets for build scripts is missing: not run from `build.rs`.
    #[error("environment variable `{var}` is not set: call watchpost-build from a build script (build.rs)")]
    MissingEnv {
        /// The variable's name.
        var: &'static str,
    },
    /// The sources exceed what the table format can address (4 GiB).
    #[error("the source table would exceed 4 GiB; lower `max_total_bytes`")]
    TooLarge,
    /// Writing the table into `OUT_DIR` failed.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
