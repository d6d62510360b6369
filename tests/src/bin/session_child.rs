//! A child process for the release-health tests: one run of a program with application-mode
//! sessions, ended the way the test asks. Run by `tests/tests/sessions.rs`.
//!
//! ```text
//! session_child <how> <dsn> <cache_dir>
//!   ok       captures an info message and exits normally
//!   error    captures two handled errors and exits normally
//!   panic    panics on the main thread (the guard is dropped while unwinding)
//!   hang     prints READY and waits for stdin to close; the test kills it
//! ```

use std::io::Read;
use watchpost::{ClientOptions, Level};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let guard = watchpost::init(
        ClientOptions::new()
            .dsn(arg(1))
            .use_env(false)
            .release("session-child@1.0")
            .environment("test")
            .auto_session_tracking(true)
            .cache_dir(arg(2)),
    )
    .expect("valid options");
    match arg(0).as_str() {
        "ok" => {
            watchpost::capture_message("all is well", Level::Info);
        }
        "error" => {
            watchpost::capture_message("first problem", Level::Error);
            watchpost::capture_error(&std::io::Error::other("second problem"));
        }
        "panic" => panic!("the child panics"),
        "hang" => {
            // Everything queued so far is out before the test kills the process.
            guard.flush(std::time::Duration::from_secs(5));
            println!("READY");
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        }
        other => panic!("unknown mode `{other}`"),
    }
    drop(guard);
}
