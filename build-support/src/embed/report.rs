//! What the build script tells Cargo: `cargo:` lines and the warnings about skipped files.

use super::SourceEmbed;
use std::io::Write;

/// Writes `cargo:` lines. Errors writing stdout are ignored: a build script whose stdout is
/// gone cannot report anything, and Cargo then fails the build itself.
pub(crate) struct CargoLines<'a> {
    pub(crate) out: &'a mut dyn Write,
}

impl CargoLines<'_> {
    pub(crate) fn line(&mut self, line: &str) {
        let _ = writeln!(self.out, "cargo:{line}");
    }

    pub(crate) fn warning(&mut self, message: &str) {
        // A warning is one line; Cargo would show the rest as plain build-script output.
        let message = message.replace(['\n', '\r'], " ");
        self.line(&format!("warning=watchpost-build: {message}"));
    }
}

/// Files left out, by reason, for the build warnings.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    pub(crate) too_large: Vec<String>,
    pub(crate) over_total: Vec<String>,
    pub(crate) unreadable: Vec<String>,
}

impl Skipped {
    /// Prints one warning per reason (naming a few files); returns the number skipped.
    pub(crate) fn report(self, options: &SourceEmbed, cargo: &mut CargoLines<'_>) -> usize {
        let groups = [
            (
                format!(
                    "skipped files over max_file_bytes ({} bytes)",
                    options.max_file_bytes
                ),
                &self.too_large,
            ),
            (
                format!(
                    "max_total_bytes ({} bytes) reached; raise it or add exclude patterns. Skipped",
                    options.max_total_bytes
                ),
                &self.over_total,
            ),
            (
                "skipped files that cannot be read as UTF-8".to_owned(),
                &self.unreadable,
            ),
        ];
        for (what, files) in groups.iter().filter(|(_, files)| !files.is_empty()) {
            const SHOWN: usize = 5;
            let mut list = files
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if files.len() > SHOWN {
                list.push_str(&format!(" and {} more", files.len() - SHOWN));
            }
            cargo.warning(&format!("{what}: {list}"));
        }
        self.too_large.len() + self.over_total.len() + self.unreadable.len()
    }
}
