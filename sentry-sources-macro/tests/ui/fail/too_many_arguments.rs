fn main() {
    let _sources = sentry_core::embed_sources!("a.bin", "b.bin");
}
