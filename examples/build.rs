//! Embeds this crate's sources so events show the lines around each frame.
fn main() {
    watchpost_build::embed_sources();
}
