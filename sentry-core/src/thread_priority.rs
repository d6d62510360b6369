//! The SDK's own threads yield to the application's when the CPU is busy.
//!
//! The worker wakes up for every event and then resolves symbols, serializes and sends on a CPU
//! the application may need. Measured with both vCPUs of the bench machine busy, a capturing
//! thread's `capture_error` went from 35 µs to 350 µs at the median when the worker ran at the
//! application's priority: the woken worker took the capturing thread's CPU. On Linux the
//! SDK's threads therefore run [`STEPS`] nice steps below the thread that started them
//! (option `lower_thread_priority`, on by default). Elsewhere nothing changes: the nice value is
//! per thread only on Linux, and setting it elsewhere would slow the whole process.

/// How many nice steps below its parent an SDK thread runs (capped at 19, the lowest).
pub(crate) const STEPS: i32 = 10;

/// Spawns an SDK thread named `name` (marked as the SDK's, see [`crate::hooks::on_sdk_thread`])
/// that runs `f`, [`STEPS`] below the calling thread's
/// priority when `lower` (option `lower_thread_priority`).
pub(crate) fn spawn<T: Send + 'static>(
    name: &str,
    lower: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    let parent = if lower { current_nice() } else { None };
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            crate::hooks::mark_sdk_thread();
            lower_current_thread(parent);
            f()
        })
}

/// The calling thread's nice value, when it can be read (Linux only).
pub(crate) fn current_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Lowers the calling thread's priority to `parent` + [`STEPS`] (capped at 19), where `parent`
/// is the nice value of the thread that spawned it. Best effort: a refusal (a seccomp filter,
/// say) only means the thread keeps its priority.
fn lower_current_thread(parent: Option<i32>) {
    #[cfg(target_os = "linux")]
    if let Some(parent) = parent {
        let target = parent.saturating_add(STEPS).min(19);
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), target);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn a_lowered_thread_runs_steps_below_its_parent_and_the_parent_is_untouched() {
        let parent = current_nice().unwrap();
        let lowered = spawn("t", true, current_nice).unwrap().join().unwrap();
        assert_eq!(lowered, Some((parent + STEPS).min(19)));
        let kept = spawn("t", false, current_nice).unwrap().join().unwrap();
        assert_eq!(kept, Some(parent));
        assert_eq!(current_nice(), Some(parent));
    }
}
