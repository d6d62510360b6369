fn main() {
    let _sources = watchpost::embed_sources!("../sentry_sources.bin");
}
