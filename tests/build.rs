//! Embeds the test crate's own sources, so end-to-end tests can check source context at a server.
fn main() {
    watchpost_build::SourceEmbed::new()
        .root("src")
        .root("tests")
        .embed();
}
