static SOURCES: watchpost::SourceTable = watchpost::embed_sources!("newer.bin");

fn main() {
    let _ = SOURCES.len();
}
