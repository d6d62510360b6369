fn main() {
    let _sources = sentry_core::embed_sources!(sources_file);
}
