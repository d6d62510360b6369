//! A child process for the hostile-data tests: captures what would once have killed its
//! process (a stack overflow aborts the whole process, so the test watches from outside).
//! Run by `tests/tests/hostile_data.rs`; prints `RESULT <json>` when done.
//!
//! ```text
//! hostile_child deep-extra <dsn> <depth>   an extra (and a scope extra) nested <depth> levels
//! ```

use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;
use watchpost::{CaptureOptions, ClientOptions, Level};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let result = match arg(0).as_str() {
        "deep-extra" => deep_extra(&arg(1), arg(2).parse().unwrap_or(0)),
        other => Err(format!("unknown mode `{other}`")),
    };
    match result {
        Ok(v) => {
            println!("RESULT {v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hostile_child: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A JSON array nested `depth` levels deep, built without recursion.
fn deep(depth: usize) -> Value {
    let mut v = Value::Null;
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// Captures one event whose extra (per event and in the scope) is `depth` levels deep, in
/// background mode (the worker thread serializes it), and flushes.
fn deep_extra(dsn: &str, depth: usize) -> Result<Value, String> {
    let guard =
        watchpost::init(ClientOptions::new().dsn(dsn).use_env(false)).map_err(|e| e.to_string())?;
    watchpost::configure_scope(|scope| scope.set_extra("scope_deep", deep(depth)));
    let outcome = watchpost::capture_message_with(
        "deep extra",
        Level::Error,
        CaptureOptions::new().extra("deep", deep(depth)),
    );
    let flushed = guard.flush(Duration::from_secs(30));
    let stats = guard.stats();
    if !flushed {
        return Err("the flush timed out".into());
    }
    Ok(json!({
        "event_id": outcome.event_id().map(|u| u.simple().to_string()),
        "sent": stats.sent,
        "dropped": stats.dropped_total(),
    }))
}
