//! The examples of the README's `Integrations` section are copies of the integrations' doc tests,
//! so they compile and run with `cargo test --doc`.

/// The doc comments that hold the doc tests.
const SOURCES: &[&str] = &[
    include_str!("../../sentry-core/src/integrations/tower/mod.rs"),
    include_str!("../../sentry-core/src/integrations/log.rs"),
    include_str!("../../sentry-core/src/integrations/tracing/mod.rs"),
    include_str!("../../sentry-core/src/integrations/anyhow.rs"),
    include_str!("../../sentry-core/src/feedback.rs"),
];

#[test]
fn every_integration_example_is_a_doc_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let section = ["README.md"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .find_map(|text| integrations_section(&text))
        .expect("an `Integrations` section in README.md");
    let doc_tests: Vec<Vec<String>> = SOURCES.iter().flat_map(|s| doc_code_blocks(s)).collect();
    let blocks = rust_blocks(&section);
    assert!(
        blocks.len() >= 5,
        "expected the examples, found {} blocks",
        blocks.len()
    );
    for block in blocks {
        let lines = significant(block.iter().map(String::as_str));
        let found = doc_tests
            .iter()
            .any(|t| significant(t.iter().map(String::as_str)) == lines);
        assert!(
            found,
            "this example is not a copy of a doc test:\n{}",
            block.join("\n")
        );
    }
}

/// The section whose heading is `Integrations`, up to the next heading of the same level or higher.
fn integrations_section(markdown: &str) -> Option<String> {
    let mut lines = markdown.lines().skip_while(|l| {
        !(l.starts_with('#') && l.trim_start_matches('#').trim() == "Integrations")
    });
    let heading = lines.next()?;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body: Vec<&str> = lines
        .take_while(|l| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
        })
        .collect();
    Some(body.join("\n"))
}

/// The contents of the ```rust blocks of a markdown text.
fn rust_blocks(markdown: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_start().starts_with("```rust") => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some(block) => block.push(line.to_owned()),
        }
    }
    blocks
}

/// The code blocks of the `//!` and `///` comments of a source file, without hidden `# ` lines.
fn doc_code_blocks(source: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in source.lines() {
        let trimmed = line.trim_start();
        let Some(text) = trimmed
            .strip_prefix("//!")
            .or_else(|| trimmed.strip_prefix("///"))
        else {
            continue;
        };
        let text = text.strip_prefix(' ').unwrap_or(text);
        match current.as_mut() {
            None if text.starts_with("```") => current = Some(Vec::new()),
            None => {}
            Some(_) if text.starts_with("```") => blocks.extend(current.take()),
            Some(_) if text == "#" || text.starts_with("# ") => {}
            Some(block) => block.push(text.to_owned()),
        }
    }
    blocks
}

/// Lines that carry code: trimmed, blank lines left out.
fn significant<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    lines.map(str::trim).filter(|l| !l.is_empty()).collect()
}
