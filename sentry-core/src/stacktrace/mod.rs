//! Stack traces: a cheap raw capture on the caller's thread, symbol resolution later on the worker.
//!
//! [`RawStacktrace::capture`] records only instruction pointers (a few microseconds) and the
//! [`Location`] of the panic or `#[track_caller]` call when there is one. [`RawStacktrace::resolve`]
//! then, off the hot path:
//! 1. resolves each address to its functions, inlined ones included, through a process-wide cache
//!    ([`symbol`]; on Linux from the executable's debug info one compilation unit at a time,
//!    `debuginfo`), and orders the frames caller → callee as Sentry wants (the last frame is where
//!    it happened);
//! 2. trims the SDK's own frames, the panic machinery and the runtime's start frames ([`trim`]);
//! 3. makes the location the last frame, adding one when debug info is missing ([`anchor`]);
//! 4. fills `filename` ([`paths`]), `in_app` ([`in_app`]) and source context from the embedded
//!    [`SourceTable`], whose recorded packages also give the exact `package`, module prefix and
//!    `in_app` of the application's frames (before trimming, and again for the location's frame).

mod anchor;
#[cfg(target_os = "linux")]
mod debuginfo;
mod in_app;
mod names;
mod paths;
mod raw;
mod symbol;
mod trim;

#[cfg(test)]
mod tests;

use crate::event::{Frame, Stacktrace};
use crate::source_context::SourceTable;
use anchor::Anchor;
use std::borrow::Cow;
use std::panic::Location;
use std::sync::OnceLock;

pub(crate) use paths::push_module_path;
pub(crate) use symbol::{release_if_idle, RELEASE_AFTER};

/// Frees the debug info loaded to resolve stack traces to functions and lines.
///
/// The first stack trace resolved in a process loads what resolving needs: on Linux, the
/// executable mapped read-only and an index of its compilation units (a few megabytes, mostly
/// file-backed pages); elsewhere, or when the debug info is in a form that needs it, the
/// `backtrace` crate's copy of the whole debug info (tens of megabytes for a large binary). The
/// background worker releases it by itself after a minute without a new address to resolve; call
/// this to release it sooner, for example after a burst of errors. Addresses already resolved
/// stay cached; the next new address loads the debug info again, on the worker, never on the
/// capturing thread.
///
/// ```
/// watchpost::release_debug_info();
/// ```
pub fn release_debug_info() {
    symbol::release();
}

/// Settings for turning raw frames into protocol frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResolveConfig<'a> {
    /// Crate or module prefixes that count as in-app, besides the workspace's crates.
    pub(crate) in_app_allow: &'a [String],
    /// Embedded sources for context lines, if any.
    pub(crate) sources: Option<&'a SourceTable>,
    /// Lines of context above and below.
    pub(crate) context_lines: usize,
}

/// A stack captured without resolving symbols, plus the call-site location when known.
#[derive(Debug, Clone)]
pub(crate) struct RawStacktrace {
    /// Instruction pointers, innermost first.
    ips: Vec<usize>,
    /// Frames left out of the middle of a very deep stack.
    omitted: usize,
    location: Option<CapturedLocation>,
}

/// Where it happened, kept with the raw stack until it is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CapturedLocation {
    /// Borrowed for `'static` locations (no allocation), copied otherwise.
    file: Cow<'static, str>,
    line: u32,
    column: u32,
}

impl CapturedLocation {
    fn anchor(&self) -> Anchor<'_> {
        Anchor {
            file: &self.file,
            line: self.line,
            column: self.column,
        }
    }
}

impl RawStacktrace {
    /// Bytes it holds besides itself: its box and its instruction pointers.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.ips.capacity() * std::mem::size_of::<usize>()
    }

    /// Captures the current stack (instruction pointers only). `location` is where it happened, when
    /// known: a panic's location or a `#[track_caller]` capture call's caller.
    #[inline(never)]
    pub(crate) fn capture(location: Option<&'static Location<'static>>) -> Self {
        let location = location.map(|l| CapturedLocation {
            file: Cow::Borrowed(l.file()),
            line: l.line(),
            column: l.column(),
        });
        Self::capture_with(location)
    }

    /// Like [`capture`](Self::capture), for a location that is not `'static`, such as
    /// `PanicHookInfo::location()`; copies the file name.
    #[inline(never)]
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn capture_at(location: Option<&Location<'_>>) -> Self {
        let location = location.map(|l| CapturedLocation {
            file: Cow::Owned(l.file().to_owned()),
            line: l.line(),
            column: l.column(),
        });
        Self::capture_with(location)
    }

    #[inline(never)]
    fn capture_with(location: Option<CapturedLocation>) -> Self {
        let raw::Ips { ips, omitted } = raw::capture_ips();
        RawStacktrace {
            ips,
            omitted,
            location,
        }
    }

    /// How many frames were left out between the two ends of a very deep stack (for the
    /// protocol's `frames_omitted`, which [`Stacktrace`] does not carry yet).
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "for `frames_omitted`, not in the protocol type yet"
        )
    )]
    pub(crate) fn omitted_frames(&self) -> usize {
        self.omitted
    }

    /// Resolves symbols and builds the protocol stack trace (caller → callee). Slow the first time
    /// in a process (debug info is loaded); run it on the worker, not the caller's thread.
    pub(crate) fn resolve(&self, cfg: &ResolveConfig<'_>) -> Stacktrace {
        let mut frames = self.symbolize();
        // Before trimming, which tells the application from the standard library by crate.
        if let Some(sources) = cfg.sources {
            for frame in &mut frames {
                sources.attribute(frame);
            }
        }
        trim::trim_callee_end(&mut frames);
        trim::trim_caller_end(&mut frames);
        let mut root = WORKSPACE_ROOT.get().map(String::as_str);
        if let Some(location) = &self.location {
            if let Some(learned) = anchor::anchor_location(&mut frames, &location.anchor(), root) {
                root = Some(WORKSPACE_ROOT.get_or_init(|| learned).as_str());
            }
        }
        annotate(&mut frames, cfg, root);
        Stacktrace::new(frames)
    }

    /// All frames, inlined ones included, caller → callee; nothing trimmed.
    fn symbolize(&self) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(self.ips.len() + self.ips.len() / 2);
        for (&ip, symbols) in self.ips.iter().zip(symbol::symbols_for(&self.ips)) {
            // Within one address the symbols come innermost first, like the addresses themselves.
            frames.extend(symbols.iter().map(|s| s.to_frame(ip)));
        }
        frames.reverse();
        frames
    }
}

/// How many resolved addresses the process-wide symbol cache holds.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "a diagnostic for tests and benchmarks")
)]
pub(crate) fn resolve_cache_len() -> usize {
    symbol::cache_len()
}

/// The application's workspace root, learned from the first location that matched a resolved
/// frame. Fixed at build time, so the first answer stays right for the whole process.
static WORKSPACE_ROOT: OnceLock<String> = OnceLock::new();

/// Finishes frames that came already symbolized (an `anyhow::Error`'s own backtrace, or an
/// event built by the application): a path the standard library printed relative to the working
/// directory (`./svc/src/main.rs`) is made absolute, then the frames get their package,
/// module, `in_app` and source context as resolved frames do.
pub(crate) fn annotate_symbolized(trace: &mut Stacktrace, cfg: &ResolveConfig<'_>) {
    let cwd = std::env::current_dir().ok();
    for frame in &mut trace.frames {
        if frame.context_line.is_some() {
            continue;
        }
        if let (Some(path), Some(cwd)) = (frame.abs_path.as_deref(), cwd.as_deref()) {
            if let Some(absolute) = paths::absolute_from_cwd(path, cwd) {
                frame.abs_path = Some(absolute);
                frame.filename = None;
            }
        }
    }
    let root = WORKSPACE_ROOT.get().map(String::as_str);
    if let Some(sources) = cfg.sources {
        for frame in &mut trace.frames {
            sources.attribute(frame);
        }
    }
    annotate(&mut trace.frames, cfg, root);
}

/// Fills `filename`, `in_app` and source context.
fn annotate(frames: &mut [Frame], cfg: &ResolveConfig<'_>, workspace_root: Option<&str>) {
    for frame in frames {
        if frame.filename.is_none() {
            frame.filename = frame
                .abs_path
                .as_deref()
                .map(|abs| paths::display_filename(abs, workspace_root));
        }
        frame.in_app = Some(in_app::is_in_app(frame, cfg.in_app_allow));
        if let Some(sources) = cfg.sources {
            // Again: the frame made from the location has a file only now.
            sources.attribute(frame);
            if frame.filename.is_some() || frame.abs_path.is_some() {
                sources.apply_to_frame(frame, cfg.context_lines);
            }
        }
    }
}
