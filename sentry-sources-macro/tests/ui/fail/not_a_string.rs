fn main() {
    let _sources = watchpost::embed_sources!(sources_file);
}
