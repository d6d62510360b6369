static SOURCES: sentry_core::SourceTable = sentry_core::embed_sources!();

fn main() {
    let _ = SOURCES.len();
}
