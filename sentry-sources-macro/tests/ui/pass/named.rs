fn main() {
    let other = sentry_core::embed_sources!("other.bin");
    assert!(other.is_valid() && other.is_empty());
    let with_comma = sentry_core::embed_sources!("other.bin",);
    assert!(with_comma.is_empty());
}
