static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();

fn main() {
    let _ = SOURCES.len();
}
