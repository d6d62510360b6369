static SOURCES: sentry_core::SourceTable = sentry_core::embed_sources!("newer.bin");

fn main() {
    let _ = SOURCES.len();
}
