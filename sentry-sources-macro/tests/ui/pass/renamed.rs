// The generated code names the runtime only through the path `embed_sources!` was called with.
extern crate watchpost as runtime;

static SOURCES: runtime::SourceTable = runtime::embed_sources!();

fn main() {
    assert!(SOURCES.is_valid());
}
