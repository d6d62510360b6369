//! Embeds this crate's sources so events show the lines around each frame.
fn main() {
    sentry_build_support::embed_sources();
}
