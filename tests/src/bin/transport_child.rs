//! A child process for the transport tests: what they need measured or killed in a process of
//! its own (peak memory, SIGKILL mid-run). Run by `tests/tests/transport_storm.rs` and
//! `tests/tests/offline_cache.rs`; prints `RESULT <json>` when done.
//!
//! ```text
//! transport_child storm <dsn> <threads> <captures per thread> <queue capacity>
//! transport_child queue-memory <dsn> <events> [repeat]
//! transport_child offline-write <dsn> <cache dir> <events>
//! transport_child offline-drain <dsn> <cache dir> <timeout seconds>
//! transport_child capture-one <dsn>          (reads SENTRY_* from the environment; exits at EOF on stdin)
//! transport_child exit-under-load <dsn> <events> <busy threads>
//! ```

use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchpost::{CaptureOutcome, ClientOptions, Level, TransportStats};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize| arg(i).parse::<u64>().unwrap_or(0);
    let result = match arg(0).as_str() {
        "storm" => storm(&arg(1), num(2), num(3), num(4) as usize),
        "queue-memory" => queue_memory(&arg(1), num(2), arg(3) == "repeat"),
        "offline-write" => offline_write(&arg(1), &arg(2), num(3)),
        "offline-drain" => offline_drain(&arg(1), &arg(2), num(3)),
        "capture-one" => capture_one(&arg(1)),
        "exit-under-load" => exit_under_load(&arg(1), num(2), num(3)),
        other => Err(format!("unknown mode `{other}`")),
    };
    match result {
        Ok(v) => {
            println!("RESULT {v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("transport_child: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `VmHWM` (peak resident set) and `VmRSS` of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn stats_json(s: &TransportStats) -> Value {
    let dropped: serde_json::Map<String, Value> = s
        .dropped
        .iter()
        .map(|((reason, category), n)| (format!("{}/{category}", reason.as_str()), json!(n)))
        .collect();
    json!({
        "sent": s.sent,
        "retried": s.retried,
        "queue_depth": s.queue_depth,
        "cached": s.cached,
        "dropped_total": s.dropped_total(),
        "dropped": dropped,
    })
}

fn init(options: ClientOptions) -> Result<watchpost::ClientGuard, String> {
    watchpost::init(options.use_env(false)).map_err(|e| e.to_string())
}

/// `threads` threads capture `per_thread` events each against a server that never answers,
/// then flush. Reports what each capture call returned, the counters, peak memory and time.
fn storm(dsn: &str, threads: u64, per_thread: u64, capacity: usize) -> Result<Value, String> {
    let guard = init(
        ClientOptions::new()
            .dsn(dsn)
            .queue_capacity(capacity)
            .http_timeout(Duration::from_millis(500))
            .send_max_attempts(2)
            .shutdown_timeout(Duration::from_secs(5)),
    )?;
    let queued = Arc::new(AtomicU64::new(0));
    let full = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let (hwm_before, _) = memory_kib();
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (queued, full, other) = (queued.clone(), full.clone(), other.clone());
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let outcome =
                        watchpost::capture_message(format!("storm {t}/{i}"), Level::Error);
                    let counter = match outcome {
                        CaptureOutcome::Queued { .. } => &queued,
                        CaptureOutcome::QueueFull { .. } => &full,
                        _ => &other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| "a capture thread panicked".to_owned())?;
    }
    let capture_ms = start.elapsed().as_millis() as u64;
    let flushed = guard.flush(Duration::from_secs(60));
    let flush_ms = start.elapsed().as_millis() as u64 - capture_ms;
    let stats = guard.stats();
    let (hwm, rss) = memory_kib();
    Ok(json!({
        "captured": threads * per_thread,
        "queued": queued.load(Ordering::Relaxed),
        "queue_full": full.load(Ordering::Relaxed),
        "other": other.load(Ordering::Relaxed),
        "flushed": flushed,
        "capture_ms": capture_ms,
        "flush_ms": flush_ms,
        "hwm_before_kib": hwm_before,
        "hwm_kib": hwm,
        "rss_kib": rss,
        "stats": stats_json(&stats),
    }))
}

/// Fills a queue of `events` while the worker is stuck on a server that never answers, and
/// reports the resident memory that cost.
/// Queues `events` events behind one the worker hangs on: distinct messages, or the same one
/// again (`repeat`). Reports what the queue costs in resident memory.
fn queue_memory(dsn: &str, events: u64, repeat: bool) -> Result<Value, String> {
    let guard = init(
        ClientOptions::new()
            .dsn(dsn)
            .queue_capacity(events as usize)
            .http_timeout(Duration::from_secs(120))
            .send_max_attempts(1)
            .shutdown_timeout(Duration::from_millis(100)),
    )?;
    // The worker takes this one and hangs on it.
    watchpost::capture_message("warm-up", Level::Error);
    let deadline = Instant::now() + Duration::from_secs(10);
    while guard.stats().queue_depth > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (_, before) = memory_kib();
    let mut queued = 0u64;
    for i in 0..events {
        let message = if repeat {
            "the same again".to_owned()
        } else {
            format!("queued {i}")
        };
        if let CaptureOutcome::Queued { .. } = watchpost::capture_message(message, Level::Error) {
            queued += 1;
        }
    }
    let (hwm, after) = memory_kib();
    let depth = guard.stats().queue_depth;
    Ok(json!({
        "queued": queued,
        "queue_depth": depth,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "hwm_kib": hwm,
        "bytes_per_event": (after.saturating_sub(before) * 1024) / queued.max(1),
    }))
}

/// Captures `events` events with the offline cache on, printing `captured <n> <event id>`
/// after each, then waits to be killed.
fn offline_write(dsn: &str, cache_dir: &str, events: u64) -> Result<Value, String> {
    let _guard = init(
        ClientOptions::new()
            .dsn(dsn)
            .cache_dir(cache_dir)
            .cache_max_envelopes(10_000)
            .send_max_attempts(1)
            .connect_timeout(Duration::from_millis(200)),
    )?;
    let mut out = std::io::stdout().lock();
    for i in 0..events {
        let outcome = watchpost::capture_message(format!("offline {i}"), Level::Error);
        let id = outcome
            .event_id()
            .map(|u| u.simple().to_string())
            .unwrap_or_default();
        let _ = writeln!(out, "captured {i} {id}");
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = writeln!(out, "done");
    let _ = out.flush();
    std::thread::sleep(Duration::from_secs(600));
    Ok(json!({}))
}

/// Starts with the cache of an earlier run and waits until it has been sent (or the timeout).
fn offline_drain(dsn: &str, cache_dir: &str, timeout_s: u64) -> Result<Value, String> {
    let start = Instant::now();
    let guard = init(
        ClientOptions::new()
            .dsn(dsn)
            .cache_dir(cache_dir)
            .cache_max_envelopes(10_000),
    )?;
    let initial = guard.stats().cached;
    let drained = guard.flush(Duration::from_secs(timeout_s));
    // The final counters: the cache's file is removed a moment before its send is counted, so
    // read them once the worker has stopped.
    let stats = guard.close();
    if !drained {
        return Err(format!("the cache did not drain: {}", stats_json(&stats)));
    }
    Ok(
        json!({ "initial_cached": initial, "elapsed_ms": start.elapsed().as_millis() as u64, "stats": stats_json(&stats) }),
    )
}

/// Captures one event with the options `init` completes from the environment.
fn capture_one(dsn: &str) -> Result<Value, String> {
    let guard = watchpost::init(ClientOptions::new().dsn(dsn)).map_err(|e| e.to_string())?;
    watchpost::capture_message("one event", Level::Info);
    let flushed = guard.flush(Duration::from_secs(10));
    // Spotlight copies go out on a thread of their own: the test closes stdin once it has seen
    // what it waits for.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    Ok(json!({ "flushed": flushed, "stats": stats_json(&guard.stats()) }))
}

/// The README's setup under full CPU load: `busy` threads spin at the application's priority
/// while `events` are captured and `main` ends (the guard is dropped with the default
/// `shutdown_timeout` and `lower_thread_priority`). Reports the final counters.
fn exit_under_load(dsn: &str, events: u64, busy: u64) -> Result<Value, String> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinning = Arc::new(AtomicU64::new(0));
    for _ in 0..busy {
        let (stop, spinning) = (stop.clone(), spinning.clone());
        std::thread::spawn(move || {
            spinning.fetch_add(1, Ordering::SeqCst);
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        });
    }
    while spinning.load(Ordering::SeqCst) < busy {
        std::thread::yield_now();
    }
    let guard = init(ClientOptions::new().dsn(dsn))?;
    for i in 0..events {
        watchpost::capture_message(format!("before exit {i}"), Level::Error);
    }
    // The end of `main`: the guard goes, with every CPU still busy.
    let stats = guard.close();
    stop.store(true, Ordering::Relaxed);
    Ok(json!({ "stats": stats_json(&stats) }))
}
