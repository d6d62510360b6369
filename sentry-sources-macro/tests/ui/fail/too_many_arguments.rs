fn main() {
    let _sources = watchpost::embed_sources!("a.bin", "b.bin");
}
