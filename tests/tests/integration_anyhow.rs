//! `capture_anyhow`: the chain, the mechanism and a stack trace that reaches the application.

use anyhow::Context as _;
use watchpost::testing::with_captured_events;

fn read_config() -> anyhow::Result<String> {
    let err = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    Err(err)
        .context("reading /etc/shop.toml")
        .context("starting the shop")
}

#[test]
fn the_chain_is_root_cause_first_with_the_outer_context_as_title() {
    let (_, events) = with_captured_events(|| {
        if let Err(err) = read_config() {
            watchpost::capture_anyhow(&err);
        }
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    let values: Vec<_> = e
        .exception
        .values
        .iter()
        .map(|x| x.value.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(
        values,
        [
            "no such file",
            "reading /etc/shop.toml",
            "starting the shop"
        ]
    );
    let last = e.exception.values.last().expect("exceptions");
    let mechanism = last.mechanism.as_ref().expect("mechanism");
    assert_eq!(
        (mechanism.ty.as_str(), mechanism.handled),
        ("anyhow", Some(true))
    );
    // anyhow's backtrace (RUST_BACKTRACE set) or the one taken at the call: either way the
    // application's frames are there.
    let frames = &last.stacktrace.as_ref().expect("a stack trace").frames;
    assert!(
        frames.iter().any(|f| f
            .filename
            .as_deref()
            .is_some_and(|p| p.ends_with("integration_anyhow.rs"))),
        "{frames:#?}"
    );
}

#[test]
fn per_event_options_apply() {
    let (_, events) = with_captured_events(|| {
        let err = anyhow::anyhow!("quota exceeded");
        watchpost::capture_anyhow_with(
            &err,
            watchpost::CaptureOptions::new().tag("tenant", "acme"),
        );
    });
    assert_eq!(events[0].tags["tenant"], "acme");
    assert_eq!(events[0].title(), "Error: quota exceeded");
}

static SOURCES: watchpost::SourceTable = watchpost::embed_sources!();

#[test]
fn frames_of_anyhows_own_backtrace_get_source_lines_package_and_in_app() {
    // anyhow takes its own backtrace when this is set (read once, at the first error).
    std::env::set_var("RUST_LIB_BACKTRACE", "1");
    let options = watchpost::ClientOptions::new().source_table(SOURCES);
    let (_, events) = watchpost::testing::with_captured_events_options(options, || {
        let err = read_config().unwrap_err();
        assert_eq!(
            err.backtrace().status(),
            std::backtrace::BacktraceStatus::Captured
        );
        watchpost::capture_anyhow(&err);
    });
    let frames = &events[0]
        .exception
        .values
        .last()
        .unwrap()
        .stacktrace
        .as_ref()
        .unwrap()
        .frames;
    let ours = frames
        .iter()
        .find(|f| {
            f.function
                .as_deref()
                .is_some_and(|n| n.ends_with("read_config"))
        })
        .unwrap_or_else(|| panic!("{frames:#?}"));
    // The standard library prints `./tests/integration_anyhow.rs`: made absolute, then found.
    assert!(
        ours.abs_path.as_deref().is_some_and(|p| p.starts_with('/')),
        "{ours:#?}"
    );
    assert_eq!(ours.in_app, Some(true));
    assert!(
        ours.context_line
            .as_deref()
            .is_some_and(|l| l.contains(".context(\"reading")),
        "{ours:#?}"
    );
}
