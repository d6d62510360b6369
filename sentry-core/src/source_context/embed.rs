//! `embed_sources!` and the compile-time check of the table format it generates.

/// Expands to a [`SourceTable`](crate::SourceTable) (usable in a `static` or `const`) holding the
/// source table that `watchpost-build` wrote into `OUT_DIR`.
///
/// `embed_sources!()` reads the default table (`sentry_sources.bin`); `embed_sources!("name.bin")`
/// reads one written with `SourceEmbed::new().file_name("name.bin")`. When the build script step
/// is missing, compilation fails with one error that says what to add; when the table was written
/// by a `watchpost-build` of another table format than this crate reads, compilation fails
/// with a message naming the versions to align.
///
/// The macro works under any name the dependency is given in `Cargo.toml`
/// (`sentry = { package = "watchpost", .. }` then `sentry::embed_sources!()`).
///
/// ```ignore
/// // build.rs: watchpost_build::embed_sources();
/// static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();
/// ```
#[macro_export]
macro_rules! embed_sources {
    ($($args:tt)*) => {
        $crate::__private::embed_sources_impl!($crate; $($args)*)
    };
}

/// The version of this crate, in the messages below.
macro_rules! this_crate {
    () => {
        concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"))
    };
}

const NEWER: &str = concat!(
    "embed_sources!: the source table in OUT_DIR has a newer format than ",
    this_crate!(),
    " reads. Align the versions: use watchpost-build ",
    env!("CARGO_PKG_VERSION"),
    " in [build-dependencies] (the release of ",
    this_crate!(),
    "), or upgrade ",
    env!("CARGO_PKG_NAME"),
    " in [dependencies] to the release of your watchpost-build."
);

const OLDER: &str = concat!(
    "embed_sources!: the source table in OUT_DIR has an older format than ",
    this_crate!(),
    " reads. Align the versions: upgrade watchpost-build in [build-dependencies] to ",
    env!("CARGO_PKG_VERSION"),
    " (the release of ",
    this_crate!(),
    ")."
);

const NOT_A_TABLE: &str = "embed_sources!: the file in OUT_DIR is not a source table written \
     by watchpost-build (it does not start with the table's magic bytes)";

/// Fails compilation (when evaluated in a constant, as `embed_sources!` does) unless `table` is
/// of the format this crate reads. Used by the code `embed_sources!` generates.
#[doc(hidden)]
pub const fn check_table_format(table: &[u8]) {
    use watchpost_build::format::{version_of, VERSION};
    match version_of(table) {
        Some(version) if version == VERSION => {}
        Some(version) if version > VERSION => panic!("{}", NEWER),
        Some(_) => panic!("{}", OLDER),
        None => panic!("{}", NOT_A_TABLE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_helper_of_this_release_writes_what_this_crate_reads() {
        // The messages name this crate's version as watchpost-build's: they are released
        // together.
        assert_eq!(
            watchpost_build::format::CRATE_VERSION,
            env!("CARGO_PKG_VERSION")
        );
        let table = watchpost_build::TableWriter::new().finish().unwrap();
        check_table_format(&table);
    }

    #[test]
    fn other_formats_fail_the_check() {
        let mut table = watchpost_build::TableWriter::new().finish().unwrap();
        table[8] = table[8].wrapping_add(1);
        let newer = std::panic::catch_unwind(|| check_table_format(&table));
        assert!(newer.is_err());
        assert!(std::panic::catch_unwind(|| check_table_format(b"not a table")).is_err());
    }
}
