//! Tests on real captures. They run inside `watchpost`, whose frames the full pipeline trims,
//! so most of them look at the untrimmed frames and mark this module in-app by allow list.

use super::*;
use std::hint::black_box;

const THIS_MODULE: &str = "watchpost::stacktrace::tests";

fn allow_this_module() -> Vec<String> {
    vec![THIS_MODULE.to_owned()]
}

fn cfg(allow: &[String]) -> ResolveConfig<'_> {
    ResolveConfig {
        in_app_allow: allow,
        sources: None,
        context_lines: 5,
    }
}

#[inline(never)]
fn level_one() -> RawStacktrace {
    black_box(level_two())
}

#[inline(never)]
fn level_two() -> RawStacktrace {
    black_box(level_three())
}

#[inline(never)]
fn level_three() -> RawStacktrace {
    // `black_box` keeps the optimizer from turning the call into a jump that leaves no frame.
    black_box(RawStacktrace::capture(Some(Location::caller())))
}

/// Untrimmed frames of a capture through `level_one` → `level_two` → `level_three`, annotated.
fn nested_frames() -> Vec<Frame> {
    let allow = allow_this_module();
    let mut frames = level_one().symbolize();
    annotate(&mut frames, &cfg(&allow), None);
    frames
}

/// True when `frame` is the function named `name` (its last path segment): debug info made with
/// `debug = "line-tables-only"` (release test builds here) names functions without their path.
fn is_fn(frame: &Frame, name: &str) -> bool {
    frame.function.as_deref().is_some_and(|f| {
        f == name || (f.ends_with(name) && f[..f.len() - name.len()].ends_with("::"))
    })
}

fn position(frames: &[Frame], name: &str) -> usize {
    let found = frames.iter().position(|f| is_fn(f, name));
    found.unwrap_or_else(|| panic!("no frame {name} in {frames:#?}"))
}

#[test]
fn nested_calls_resolve_caller_to_callee() {
    let frames = nested_frames();
    let one = position(&frames, "level_one");
    let two = position(&frames, "level_two");
    let three = position(&frames, "level_three");
    assert!(one < two && two < three, "{one} {two} {three}");
    let last_in_app = frames.iter().rposition(|f| f.in_app == Some(true));
    assert_eq!(last_in_app, Some(three));
}

#[test]
fn resolved_frames_carry_source_positions() {
    let frames = nested_frames();
    let three = &frames[position(&frames, "level_three")];
    let abs = three.abs_path.as_deref().unwrap_or_default();
    assert!(
        abs.ends_with("sentry-core/src/stacktrace/tests.rs"),
        "{abs}"
    );
    assert!(paths::is_absolute(abs));
    assert_eq!(
        three.filename.as_deref(),
        Some("sentry-core/src/stacktrace/tests.rs")
    );
    assert!(three.lineno.is_some_and(|l| l > 0));
    let addr = three.instruction_addr.as_deref().unwrap_or_default();
    assert!(addr.starts_with("0x") && addr.len() > 2, "{addr}");
}

#[test]
fn function_names_have_no_hash_suffix() {
    let frames = nested_frames();
    for function in frames.iter().filter_map(|f| f.function.as_deref()) {
        let hash = function.rsplit_once("::h").map(|(_, h)| h);
        let hashed =
            hash.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!hashed, "{function}");
    }
    // The mangled name is kept (the standard library's frames always have one).
    let mangled = frames.iter().filter_map(|f| f.raw_function.as_deref());
    assert!(mangled
        .clone()
        .all(|raw| raw.starts_with("_ZN") || raw.starts_with("_R")));
    assert!(mangled.count() > 0);
}

#[test]
fn module_and_package_are_split_from_the_function() {
    let frames = nested_frames();
    let three = &frames[position(&frames, "level_three")];
    assert_eq!(three.module.as_deref(), Some(THIS_MODULE));
    assert_eq!(three.package.as_deref(), Some("watchpost"));
}

#[test]
fn std_and_sdk_frames_are_not_in_app() {
    let frames = nested_frames();
    let packages = ["std", "core", "alloc", "backtrace", "test"];
    let non_app: Vec<_> = frames
        .iter()
        .filter(|f| f.package.as_deref().is_some_and(|p| packages.contains(&p)))
        .collect();
    assert!(!non_app.is_empty());
    assert!(
        non_app.iter().all(|f| f.in_app == Some(false)),
        "{non_app:#?}"
    );
    let capture = position(&frames, "capture");
    assert_eq!(frames[capture].in_app, Some(false));
}

#[test]
fn full_resolution_trims_the_sdk_and_anchors_the_location() {
    let allow = Vec::new();
    let stacktrace = level_one().resolve(&cfg(&allow));
    let frames = &stacktrace.frames;
    // Every frame of this crate sits on the callee side of the test harness, so all are trimmed.
    for frame in frames {
        let package = frame.package.as_deref();
        assert!(
            package != Some("watchpost") && package != Some("backtrace"),
            "{frame:#?}"
        );
    }
    // `level_three`'s frame was trimmed with the rest of the crate, so the location was appended.
    let last = frames.last().cloned().unwrap_or_default();
    assert_eq!(
        last.filename.as_deref(),
        Some("sentry-core/src/stacktrace/tests.rs")
    );
    assert_eq!(last.in_app, Some(true));
    assert_eq!(last.function, None);
}

#[test]
fn the_location_matches_its_resolved_frame() {
    let raw = level_one();
    let mut frames = raw.symbolize();
    let location = raw
        .location
        .as_ref()
        .map(CapturedLocation::anchor)
        .unwrap_or(Anchor {
            file: "",
            line: 0,
            column: 0,
        });
    let root = anchor::anchor_location(&mut frames, &location, None);
    let last = frames.last().cloned().unwrap_or_default();
    assert!(is_fn(&last, "level_three"), "{last:#?}");
    assert_eq!(last.filename.as_deref(), Some(location.file));
    // Cargo passes workspace-relative paths, so the match reveals the workspace root.
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    assert_eq!(root.as_deref(), manifest_dir.strip_suffix("/sentry-core"));
}

#[test]
fn a_second_resolution_is_served_from_the_cache() {
    let raw = level_one();
    let allow = allow_this_module();
    let first = raw.resolve(&cfg(&allow));
    assert!(raw.ips.iter().all(|&ip| symbol::is_cached(ip)));
    assert!(resolve_cache_len() >= raw.ips.len());
    let second = raw.resolve(&cfg(&allow));
    assert_eq!(first, second);
}

#[inline(never)]
fn recurse(depth: usize) -> RawStacktrace {
    if depth == 0 {
        return RawStacktrace::capture(None);
    }
    black_box(recurse(black_box(depth - 1)))
}

#[test]
fn deep_stacks_keep_both_ends_when_resolved() {
    let raw = recurse(400);
    assert!(raw.omitted_frames() > 0);
    let frames = raw.symbolize();
    let recursing = |f: &Frame| is_fn(f, "recurse");
    // The innermost end: the capture inside the recursion.
    let capture = position(&frames, "capture");
    assert!(recursing(&frames[capture - 1]));
    // The outermost end: the test that started the recursion.
    let test = position(&frames, "deep_stacks_keep_both_ends_when_resolved");
    assert!(recursing(&frames[test + 1]));
    assert!(frames.iter().filter(|f| recursing(f)).count() < 130);
}

#[test]
fn no_frames_resolve_to_an_empty_stacktrace() {
    let raw = RawStacktrace {
        ips: Vec::new(),
        omitted: 0,
        location: None,
    };
    assert!(raw.resolve(&cfg(&[])).frames.is_empty());
}
