//! `capture_anyhow`: an `anyhow::Error` with its whole chain and, when anyhow captured one, its
//! backtrace. Feature `anyhow`.

use crate::capture::{
    capture_raw, capture_with_source, error_event, CaptureOptions, CaptureOutcome,
};
use crate::context::EventSource;
use crate::event::{Frame, Mechanism, Stacktrace};
use std::backtrace::BacktraceStatus;
use std::panic::Location;

/// Captures an `anyhow::Error`: its chain (root cause first, the outermost context last, as the
/// title) and a stack trace.
///
/// The stack trace is anyhow's own backtrace when it captured one (set `RUST_BACKTRACE=1` or
/// `RUST_LIB_BACKTRACE=1`), read from its text: function, file, line and column per frame,
/// without source lines. Otherwise it is taken here, with this call site as the top frame, as
/// [`capture_error`](crate::capture_error) does.
///
/// ```
/// use anyhow::Context as _;
///
/// fn load() -> anyhow::Result<String> {
///     std::fs::read_to_string("/etc/my-app.toml").context("loading the configuration")
/// }
///
/// if let Err(err) = load() {
///     watchpost::capture_anyhow(&err);
/// }
/// ```
#[track_caller]
pub fn capture_anyhow(err: &anyhow::Error) -> CaptureOutcome {
    capture_anyhow_with(err, CaptureOptions::new())
}

/// [`capture_anyhow`] with per-event options.
#[track_caller]
pub fn capture_anyhow_with(err: &anyhow::Error, options: CaptureOptions) -> CaptureOutcome {
    let location = Location::caller();
    let dyn_err: &(dyn std::error::Error + 'static) = err.as_ref();
    let mut event = error_event(dyn_err, "dyn anyhow::Error");
    options.apply(&mut event);
    let backtrace = err.backtrace();
    let frames = match backtrace.status() {
        BacktraceStatus::Captured => parse_backtrace(&backtrace.to_string()),
        _ => Vec::new(),
    };
    let Some(last) = event.exception.values.last_mut() else {
        return capture_raw(event, Some(location), EventSource::Capture);
    };
    last.mechanism = Some(Mechanism::new("anyhow", true));
    if frames.is_empty() {
        return capture_raw(event, Some(location), EventSource::Capture);
    }
    last.stacktrace = Some(Stacktrace::new(frames));
    capture_with_source(event, None, EventSource::Capture)
}

/// Frames (caller → callee) from the text of a `std::backtrace::Backtrace`, without the
/// backtrace machinery and anyhow on top and the runtime's start below.
pub(crate) fn parse_backtrace(text: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(location) = trimmed.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                set_location(frame, location);
            }
            continue;
        }
        // `  12: my_app::main` starts a frame; an indented name without a number is a frame
        // inlined into the one above.
        let function = match trimmed.split_once(": ") {
            Some((n, f)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => f,
            _ if !trimmed.is_empty() && !frames.is_empty() => trimmed,
            _ => continue,
        };
        frames.push(Frame {
            function: Some(strip_hash(function).to_owned()),
            ..Frame::default()
        });
    }
    frames.reverse();
    if let Some(start) = frames
        .iter()
        .rposition(|f| is_function(f, |n| n.contains("__rust_begin_short_backtrace")))
    {
        frames.drain(..=start);
    }
    while frames
        .first()
        .is_some_and(|f| is_function(f, is_runtime_start))
    {
        frames.remove(0);
    }
    while frames.last().is_some_and(|f| is_function(f, is_machinery)) {
        frames.pop();
    }
    for frame in &mut frames {
        frame.in_app = Some(is_in_app(frame));
    }
    frames
}

fn is_function(frame: &Frame, test: impl Fn(&str) -> bool) -> bool {
    frame.function.as_deref().is_some_and(test)
}

/// `path:line:col` or `path:line`.
fn set_location(frame: &mut Frame, location: &str) {
    let mut parts = location.rsplitn(3, ':');
    let (last, middle, rest) = (parts.next(), parts.next(), parts.next());
    let (file, line, col) = match (
        last.and_then(|s| s.parse().ok()),
        middle.and_then(|s| s.parse().ok()),
        rest,
    ) {
        (Some(col), Some(line), Some(file)) => (file, Some(line), Some(col)),
        (Some(line), _, _) => (
            location.rsplit_once(':').map_or(location, |(f, _)| f),
            Some(line),
            None,
        ),
        _ => (location, None, None),
    };
    frame.abs_path = Some(file.to_owned());
    frame.filename = Some(file.to_owned());
    frame.lineno = line;
    frame.colno = col;
}

fn strip_hash(function: &str) -> &str {
    match function.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => function,
    }
}

/// Frames of the capture itself: `std::backtrace`, anyhow's constructors and conversions.
fn is_machinery(function: &str) -> bool {
    function.starts_with("std::backtrace")
        || function.starts_with("anyhow::")
        || function.starts_with("<anyhow::")
        || function.contains(" as anyhow::")
        || function.starts_with("<T as core::convert::Into<U>>::into")
}

fn is_runtime_start(function: &str) -> bool {
    [
        "_start",
        "__libc_start_main",
        "__libc_start_call_main",
        "main",
        "std::rt::",
        "core::ops::function::",
    ]
    .iter()
    .any(|p| {
        if p.ends_with("::") {
            function.starts_with(p)
        } else {
            function == *p
        }
    }) || function.starts_with("std::rt::lang_start")
}

fn is_in_app(frame: &Frame) -> bool {
    let library_fn = frame.function.as_deref().is_some_and(|f| {
        let f = f.trim_start_matches('<');
        ["std::", "core::", "alloc::", "watchpost::"]
            .iter()
            .any(|p| f.starts_with(p))
    });
    let library_file = frame.abs_path.as_deref().is_some_and(|p| {
        p.starts_with("/rustc/")
            || p.contains("/.cargo/registry/")
            || p.contains("/.cargo/git/")
            || p.contains("/rustlib/")
    });
    !library_fn && !library_file
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/abc/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1: std::backtrace::Backtrace::create
             at /rustc/abc/library/std/src/backtrace.rs:331:13
   2: anyhow::error::<impl anyhow::Error>::msg
             at /home/u/.cargo/registry/src/index.crates.io-1/anyhow-1.0.105/src/error.rs:83:36
   3: my_app::db::load
             at ./src/db.rs:10:5
      my_app::db::load_inner
             at ./src/db.rs:20:9
   4: my_app::main::h0123456789abcdef
             at ./src/main.rs:3:5
   5: core::ops::function::FnOnce::call_once
             at /rustc/abc/library/core/src/ops/function.rs:250:5
   6: std::sys::backtrace::__rust_begin_short_backtrace
             at /rustc/abc/library/std/src/sys/backtrace.rs:152:18
   7: std::rt::lang_start_internal
   8: main
   9: __libc_start_main
  10: _start";

    #[test]
    fn backtrace_text_becomes_app_frames_caller_first() {
        let frames = parse_backtrace(TEXT);
        let names: Vec<_> = frames
            .iter()
            .map(|f| f.function.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["my_app::main", "my_app::db::load_inner", "my_app::db::load"]
        );
        let top = frames.last().expect("frames");
        assert_eq!(top.filename.as_deref(), Some("./src/db.rs"));
        assert_eq!((top.lineno, top.colno), (Some(10), Some(5)));
        assert!(frames.iter().all(|f| f.in_app == Some(true)));
    }

    #[test]
    fn a_real_backtrace_parses() {
        #[inline(never)]
        fn here() -> String {
            std::backtrace::Backtrace::force_capture().to_string()
        }
        let frames = parse_backtrace(&here());
        assert!(!frames.is_empty());
        assert!(frames.iter().all(|f| f.function.is_some()));
    }
}
