fn main() {
    let _sources = watchpost::embed_sources!("frontend.bin");
}
