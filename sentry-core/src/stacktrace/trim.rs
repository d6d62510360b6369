//! Removing the frames nobody wants to see: the SDK's own and the panic machinery at the callee
//! end, the runtime's thread and process start at the caller end.
//!
//! Frames are ordered caller → callee (the last one is where it happened). Read from the innermost
//! frame outwards, a capture looks like `backtrace` internals → `watchpost` (capture, panic hook) → boxed-closure glue
//! → `std::panicking` → `core::panicking::panic_fmt` → the failing code. Everything up to and
//! including the outermost of those SDK and panic frames goes, as long as only standard-library glue
//! sits between them (so a user's frames between two SDK frames, e.g. a handler run by the SDK's tower
//! layer, are kept). Panic machinery is removed wherever it is, since a stack holds at most one panic
//! in progress: a user's own chained panic hook between it and the SDK is removed with it.

use crate::event::Frame;
use std::borrow::Cow;

/// What a frame is, for trimming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `watchpost` or `backtrace`.
    Sdk,
    /// Raising a panic and running its hook.
    PanicMachinery,
    /// Process or thread start, up to the runtime's `__rust_begin_short_backtrace` marker.
    RuntimeStart,
    /// Standard-library glue or a frame without a crate (closure shims, `_Unwind_Backtrace`).
    Glue,
    /// Anything else: the application and its dependencies.
    Other,
}

const SDK_CRATES: &[&str] = &["watchpost", "backtrace"];
const STD_CRATES: &[&str] = &["std", "core", "alloc"];

const PANIC_PREFIXES: &[&str] = &[
    "core::panicking::",
    "std::panicking::begin_panic",
    "std::panicking::panic_handler",
    "std::panicking::rust_panic",
    "std::panicking::panic_with_hook",
    "std::panicking::default_hook",
    "std::panicking::panic_count",
    "std::panic::panic_any",
    "rust_begin_unwind",
    "__rustc::rust_begin_unwind",
];

const RUNTIME_PREFIXES: &[&str] = &["std::rt::lang_start"];

const RUNTIME_NAMES: &[&str] = &[
    "_start",
    "start",
    "__libc_start_main",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "thread_start",
    "_pthread_start",
    "BaseThreadInitThunk",
    "RtlUserThreadStart",
    "mainCRTStartup",
    "__scrt_common_main_seh",
    "invoke_main",
];

fn role(frame: &Frame) -> Role {
    let function = frame.function.as_deref().unwrap_or("");
    let package = frame.package.as_deref();
    // Line-tables-only debug info names functions without their path (`begin_panic<&str>`);
    // the module (from the file) puts it back.
    let qualified: Cow<'_, str> = match &frame.module {
        Some(module) if !function.contains("::") => format!("{module}::{function}").into(),
        _ => function.into(),
    };
    let starts_with_any = |prefixes: &[&str]| prefixes.iter().any(|p| qualified.starts_with(p));
    if starts_with_any(PANIC_PREFIXES) || function.contains("__rust_end_short_backtrace") {
        Role::PanicMachinery
    } else if starts_with_any(RUNTIME_PREFIXES)
        || function.contains("__rust_begin_short_backtrace")
        || (package.is_none() && RUNTIME_NAMES.contains(&function))
        || (package == Some("std") && function.ends_with("thread_start"))
    {
        Role::RuntimeStart
    } else if package.is_some_and(|p| SDK_CRATES.contains(&p)) {
        Role::Sdk
    } else if package.is_none_or(|p| STD_CRATES.contains(&p)) {
        Role::Glue
    } else {
        Role::Other
    }
}

/// True for frames of the standard library (`std`, `core`, `alloc`).
pub(crate) fn is_std_frame(frame: &Frame) -> bool {
    frame
        .package
        .as_deref()
        .is_some_and(|p| STD_CRATES.contains(&p))
}

/// Drops the SDK's and the panic machinery's frames from the callee end (see the module docs).
pub(crate) fn trim_callee_end(frames: &mut Vec<Frame>) {
    let mut cut = None;
    for (i, frame) in frames.iter().enumerate().rev() {
        match role(frame) {
            Role::Sdk | Role::PanicMachinery => cut = Some(i),
            Role::Glue => {}
            Role::RuntimeStart | Role::Other => break,
        }
    }
    if let Some(panic) = frames.iter().position(|f| role(f) == Role::PanicMachinery) {
        cut = Some(cut.map_or(panic, |c| c.min(panic)));
    }
    if let Some(cut) = cut {
        frames.truncate(cut);
    }
}

/// Drops process and thread start frames from the caller end, up to and including the innermost
/// of them, and the standard-library glue right after it (so a thread starts at its closure and
/// the main thread at the application's `main`).
pub(crate) fn trim_caller_end(frames: &mut Vec<Frame>) {
    let mut last_start = None;
    for (i, frame) in frames.iter().enumerate() {
        match role(frame) {
            Role::RuntimeStart => last_start = Some(i),
            Role::Glue => {}
            Role::Sdk | Role::PanicMachinery | Role::Other => break,
        }
    }
    let Some(mut end) = last_start.map(|i| i + 1) else {
        return;
    };
    while end + 1 < frames.len() && role(&frames[end]) == Role::Glue {
        end += 1;
    }
    frames.drain(..end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::names::FunctionName;

    /// Frames caller → callee from demangled function names.
    fn frames(functions: &[&str]) -> Vec<Frame> {
        functions
            .iter()
            .map(|function| {
                let name = FunctionName::parse(function);
                Frame {
                    function: Some(name.function),
                    module: name.module,
                    package: name.package,
                    ..Frame::default()
                }
            })
            .collect()
    }

    fn names(frames: &[Frame]) -> Vec<&str> {
        frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect()
    }

    const MAIN_THREAD_START: &[&str] = &[
        "_start",
        "__libc_start_main",
        "__libc_start_call_main",
        "main",
        "std::rt::lang_start_internal",
        "std::panicking::try",
        "std::rt::lang_start::{{closure}}",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "core::ops::function::FnOnce::call_once",
    ];

    const PANIC_END: &[&str] = &[
        "core::panicking::panic_fmt",
        "rust_begin_unwind",
        "std::sys::backtrace::__rust_end_short_backtrace",
        "std::panicking::begin_panic_handler::{{closure}}",
        "std::panicking::rust_panic_with_hook",
        "<alloc::boxed::Box<F,A> as core::ops::function::Fn<Args>>::call",
        "watchpost::integrations::panic::panic_hook",
        "watchpost::stacktrace::RawStacktrace::capture",
        "watchpost::stacktrace::raw::capture_ips",
        "backtrace::backtrace::trace_unsynchronized",
        "_Unwind_Backtrace",
        "backtrace::backtrace::libunwind::trace::trace_fn",
    ];

    fn stack(parts: &[&[&str]]) -> Vec<Frame> {
        frames(&parts.concat())
    }

    #[test]
    fn sdk_frames_are_trimmed_at_the_callee_end() {
        let mut f = stack(&[
            &["my_app::main", "my_app::run"],
            &[
                "watchpost::capture_error",
                "watchpost::stacktrace::RawStacktrace::capture",
            ],
            &PANIC_END[8..],
        ]);
        trim_callee_end(&mut f);
        assert_eq!(names(&f), ["my_app::main", "my_app::run"]);
    }

    #[test]
    fn panic_machinery_is_trimmed_at_the_callee_end() {
        let mut f = stack(&[
            &["my_app::main", "my_app::run", "core::result::unwrap_failed"],
            PANIC_END,
        ]);
        trim_callee_end(&mut f);
        assert_eq!(
            names(&f),
            ["my_app::main", "my_app::run", "core::result::unwrap_failed"]
        );
    }

    #[test]
    fn a_chained_user_panic_hook_goes_with_the_panic_machinery() {
        let mut f = stack(&[
            &["my_app::main", "my_app::run"],
            &PANIC_END[..5],
            &["my_app::install_hook::{{closure}}"],
            &PANIC_END[5..],
        ]);
        trim_callee_end(&mut f);
        assert_eq!(names(&f), ["my_app::main", "my_app::run"]);
    }

    #[test]
    fn user_frames_between_sdk_frames_are_kept() {
        let mut f = stack(&[
            &[
                "my_app::main",
                "<watchpost::integrations::tower::Service<S> as tower_service::Service>::call",
            ],
            &["my_app::handler", "watchpost::capture_error"],
            &PANIC_END[8..],
        ]);
        trim_callee_end(&mut f);
        assert_eq!(
            names(&f),
            [
                "my_app::main",
                "<watchpost::integrations::tower::Service<S> as tower_service::Service>::call",
                "my_app::handler"
            ]
        );
    }

    #[test]
    fn catch_unwind_frames_are_not_panic_machinery() {
        let mut f = stack(&[&[
            "my_app::main",
            "std::panicking::try",
            "std::panic::catch_unwind",
            "my_app::run",
        ]]);
        trim_callee_end(&mut f);
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn runtime_start_is_trimmed_at_the_caller_end_keeping_main() {
        let mut f = stack(&[MAIN_THREAD_START, &["my_app::main", "my_app::run"]]);
        trim_caller_end(&mut f);
        assert_eq!(names(&f), ["my_app::main", "my_app::run"]);
    }

    #[test]
    fn thread_start_is_trimmed_at_the_caller_end() {
        let mut f = stack(&[&[
            "clone3",
            "start_thread",
            "std::sys::pal::unix::thread::Thread::new::thread_start",
            "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
            "std::thread::Builder::spawn_unchecked_::{{closure}}",
            "std::sys::backtrace::__rust_begin_short_backtrace",
            "my_app::worker::{{closure}}",
            "my_app::work",
        ]]);
        trim_caller_end(&mut f);
        assert_eq!(names(&f), ["my_app::worker::{{closure}}", "my_app::work"]);
    }

    #[test]
    fn functions_named_without_their_path_are_recognized_by_module() {
        // As line-tables-only debug info names them: the module comes from the file.
        let short = |function: &str, module: &str| Frame {
            function: Some(function.to_owned()),
            package: module.split("::").next().map(str::to_owned),
            module: Some(module.to_owned()),
            ..Frame::default()
        };
        let mut f = vec![
            short("lang_start<()>", "std::rt"),
            short("main", "my_app"),
            short("start", "my_app::server"),
            short("begin_panic<&str>", "std::panicking"),
            short("capture", "watchpost::stacktrace"),
        ];
        trim_callee_end(&mut f);
        trim_caller_end(&mut f);
        assert_eq!(names(&f), ["main", "start"]);
    }

    #[test]
    fn stacks_without_runtime_frames_are_left_alone() {
        let mut f = stack(&[&["main", "my_app::run"]]);
        trim_caller_end(&mut f);
        trim_callee_end(&mut f);
        assert_eq!(names(&f), ["main", "my_app::run"]);
    }

    #[test]
    fn a_whole_capture_is_trimmed_at_both_ends() {
        let mut f = stack(&[
            MAIN_THREAD_START,
            &["my_app::main", "my_app::run"],
            PANIC_END,
        ]);
        trim_callee_end(&mut f);
        trim_caller_end(&mut f);
        assert_eq!(names(&f), ["my_app::main", "my_app::run"]);
    }
}
