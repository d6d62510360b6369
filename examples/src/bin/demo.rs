//! The demo (placeholder until the embedded receiver lands).
fn main() {}
