static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();

fn main() {
    assert!(SOURCES.is_valid());
    assert_eq!(SOURCES.paths().collect::<Vec<_>>(), ["tests/ui/pass/default.rs"]);
}
