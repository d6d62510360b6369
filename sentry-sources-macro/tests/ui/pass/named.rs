fn main() {
    let other = watchpost::embed_sources!("other.bin");
    assert!(other.is_valid() && other.is_empty());
    let with_comma = watchpost::embed_sources!("other.bin",);
    assert!(with_comma.is_empty());
}
