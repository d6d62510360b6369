//! What a child process runs: one metric group for one SDK, results printed as `= key value`
//! lines on stdout for the parent to collect.

use crate::peers::{nested, RequestFailed, Sdk, Session};
use crate::stats::{nanos, pace, percentile, proc_status_kb, time_ns};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Depth of the application call stack the captures and panics happen in.
const DEPTH: usize = 8;
/// Events of the burst.
pub(crate) const BURST: usize = 20_000;
/// Captures of the storm.
pub(crate) const STORM: usize = 1_000_000;
/// Stack traces resolved before the error group's second RSS reading.
const RESOLVED: usize = 1_000;
/// Panics against the server that never answers.
const STALLED_PANICS: usize = 3;
/// How long the stalled shutdown is given before it counts as hung.
pub(crate) const SHUTDOWN_CAP: Duration = Duration::from_secs(4);
/// How long the offline cache is given to drain after the burst.
pub(crate) const CACHE_DRAIN: Duration = Duration::from_secs(8);
/// How long each thread captures in the throughput groups.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(2);

/// A metric group, run in a child process of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Group {
    Message,
    Burst,
    /// The burst with our offline cache on (ours only).
    BurstCache,
    Error,
    Panic,
    Stalled,
    Serialize,
    Storm,
    Throughput(usize),
    /// A request-sized trace, sampled (`true`) or not.
    Trace(bool),
    /// One structured log with a format argument.
    Logs,
}

impl Group {
    pub(crate) fn name(self) -> String {
        match self {
            Group::Message => "message".into(),
            Group::Burst => "burst".into(),
            Group::BurstCache => "burst_cache".into(),
            Group::Error => "error".into(),
            Group::Panic => "panic".into(),
            Group::Stalled => "stalled".into(),
            Group::Serialize => "serialize".into(),
            Group::Storm => "storm".into(),
            Group::Throughput(t) => format!("throughput{t}"),
            Group::Trace(true) => "trace_sampled".into(),
            Group::Trace(false) => "trace_unsampled".into(),
            Group::Logs => "logs".into(),
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Group> {
        Some(match s {
            "message" => Group::Message,
            "burst" => Group::Burst,
            "burst_cache" => Group::BurstCache,
            "error" => Group::Error,
            "panic" => Group::Panic,
            "stalled" => Group::Stalled,
            "serialize" => Group::Serialize,
            "storm" => Group::Storm,
            "trace_sampled" => Group::Trace(true),
            "trace_unsampled" => Group::Trace(false),
            "logs" => Group::Logs,
            _ => Group::Throughput(s.strip_prefix("throughput")?.parse().ok()?),
        })
    }
}

fn emit(key: &str, value: impl std::fmt::Display) {
    println!("= {key} {value}");
}

/// Runs `group` for `sdk` against `dsn`, printing the results.
pub(crate) fn run(group: Group, sdk: Sdk, dsn: &str) {
    // A silent hook underneath each SDK's own: the default one would print every caught panic.
    std::panic::set_hook(Box::new(|_| {}));
    match group {
        Group::Message => message(sdk, dsn),
        Group::Burst => burst(sdk, dsn),
        Group::BurstCache => burst_cache(dsn),
        Group::Error => error(sdk, dsn),
        Group::Panic => panic(sdk, dsn),
        Group::Stalled => stalled(sdk, dsn),
        Group::Serialize => {
            // Both SDKs, interleaved in this one process; keys carry the SDK's name.
            let (ours, official) = crate::serialize::measure();
            for (sdk, m) in [(Sdk::Ours, ours), (Sdk::Official, official)] {
                let name = sdk.name();
                emit(&format!("{name}.ns"), m.envelope_ns);
                emit(&format!("{name}.json_ns"), m.json_ns);
                emit(&format!("{name}.clone_ns"), m.clone_ns);
                emit(&format!("{name}.bytes"), m.bytes);
            }
        }
        Group::Storm => storm(sdk, dsn),
        Group::Throughput(threads) => throughput(sdk, dsn, threads),
        Group::Trace(sampled) => trace(sdk, dsn, sampled),
        Group::Logs => logs(sdk, dsn),
    }
}

/// Structured logs written by the logs group: the warm-up and the timed ones.
pub(crate) const LOGS_WRITTEN: usize = 2_200;

/// The caller's cost of a structured log with one format argument (`LOGS_WRITTEN` in all).
fn logs(sdk: Sdk, dsn: &str) {
    let session = Session::init_logs(sdk, dsn);
    let mut n = 0u64;
    paced_samples(200, LOGS_WRITTEN - 200, Duration::from_millis(1), || {
        n += 1;
        session.log_line(n);
    });
    session.flush(Duration::from_secs(10));
}

/// Child spans of the request-sized trace.
pub(crate) const TRACE_SPANS: usize = 10;

/// The caller's cost of a request-sized trace: one transaction, `TRACE_SPANS` child spans.
fn trace(sdk: Sdk, dsn: &str, sampled: bool) {
    let session = Session::init_traced(sdk, dsn, if sampled { 1.0 } else { 0.0 });
    paced_samples(100, 1000, Duration::from_millis(1), || {
        session.trace(TRACE_SPANS)
    });
    session.flush(Duration::from_secs(10));
}

/// Times `n` paced calls of `f` after `warmup` untimed ones; prints p50 and p99.
fn paced_samples(warmup: usize, n: usize, interval: Duration, mut f: impl FnMut()) {
    for _ in 0..warmup {
        f();
        pace(interval);
    }
    let mut samples: Vec<u64> = (0..n)
        .map(|_| {
            let ns = time_ns(&mut f);
            pace(interval);
            ns
        })
        .collect();
    emit("p50_ns", percentile(&mut samples, 50.0));
    emit("p99_ns", percentile(&mut samples, 99.0));
    emit("max_ns", percentile(&mut samples, 100.0));
}

fn message(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, false);
    paced_samples(200, 2000, Duration::from_millis(1), || {
        session.capture_message("order 1234 shipped late")
    });
    session.flush(Duration::from_secs(10));
}

fn burst(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, false);
    let start = Instant::now();
    for _ in 0..BURST {
        session.capture_message("burst event");
    }
    emit("burst_ms", start.elapsed().as_secs_f64() * 1e3);
    // Whatever the SDK kept is delivered before the child exits; the parent counts arrivals.
    session.flush(Duration::from_secs(60));
    drop(session);
}

/// The burst with `cache_dir` set and a cache big enough for it: events that do not fit the
/// queue go to disk and are resent from there, spaced out.
fn burst_cache(dsn: &str) {
    let dir = tempfile::tempdir().expect("a temporary cache directory");
    let options = watchpost::ClientOptions::new()
        .dsn(dsn)
        .cache_dir(dir.path())
        .cache_max_envelopes(2 * BURST);
    let guard = watchpost::init(options).expect("our SDK accepts the bench options");
    let start = Instant::now();
    for _ in 0..BURST {
        std::hint::black_box(watchpost::capture_message(
            "burst event",
            watchpost::Level::Info,
        ));
    }
    emit("burst_ms", start.elapsed().as_secs_f64() * 1e3);
    watchpost::flush(Duration::from_secs(60));
    let drain = Instant::now();
    while watchpost::stats().cached > 0 && drain.elapsed() < CACHE_DRAIN {
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats = watchpost::stats();
    emit("still_cached", stats.cached);
    emit("dropped", stats.dropped_total());
    emit("drain_s", drain.elapsed().as_secs_f64());
    // Still-cached envelopes stay on disk for a later run; the figure is taken.
    std::mem::forget(guard);
    finish();
}

fn error(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, true);
    let err = RequestFailed::sample();
    let rss = || ["VmRSS", "RssAnon", "RssFile"].map(|f| proc_status_kb(None, f).unwrap_or(0));
    let before = rss();
    let first = time_ns(|| nested(DEPTH, &mut || session.capture_error(&err)));
    // A second error right after the first, from another call site, while the SDK may still be
    // resolving the first one's symbols.
    let second = time_ns(|| nested(DEPTH + 1, &mut || session.capture_error(&err)));
    session.flush(Duration::from_secs(10));
    let after = rss();
    emit("first_ns", first);
    emit("second_ns", second);
    emit("first_rss_kb", after[0].saturating_sub(before[0]));
    emit("first_rss_anon_kb", after[1].saturating_sub(before[1]));
    emit("first_rss_file_kb", after[2].saturating_sub(before[2]));
    if sdk == Sdk::Ours {
        // What the worker's housekeeping gives back after a minute without new addresses.
        watchpost::release_debug_info();
        emit("released_rss_kb", after[0].saturating_sub(rss()[0]));
    }
    paced_samples(50, 500, Duration::from_millis(2), || {
        nested(DEPTH, &mut || session.capture_error(&err))
    });
    // 1,000 stack traces in all, from a handful of call sites (depths), each resolved.
    for i in 0..(RESOLVED - 552) {
        nested(DEPTH + i % 4, &mut || session.capture_error(&err));
        if i % 100 == 99 {
            session.flush(Duration::from_secs(10));
        }
    }
    session.flush(Duration::from_secs(10));
    let resolved = rss();
    emit("rss_1000_kb", resolved[0].saturating_sub(before[0]));
    emit("rss_1000_anon_kb", resolved[1].saturating_sub(before[1]));
}

#[inline(never)]
fn caught_panic(i: usize) {
    let result = std::panic::catch_unwind(|| {
        nested(DEPTH, &mut || {
            if std::hint::black_box(i) != usize::MAX {
                panic!("index out of range: {i}");
            }
        })
    });
    std::hint::black_box(result.is_err());
}

fn panic(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, true);
    let mut i = 0;
    paced_samples(20, 300, Duration::from_millis(2), || {
        i += 1;
        caught_panic(i);
    });
    session.flush(Duration::from_secs(10));
}

fn stalled(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, true);
    let mut worst = 0;
    for i in 0..STALLED_PANICS {
        let ns = time_ns(|| caught_panic(i));
        emit(&format!("panic{i}_ns"), ns);
        worst = worst.max(ns);
        pace(Duration::from_millis(50));
    }
    emit("max_ns", worst);
    // Shutting down with a request in flight: dropped on a thread, given SHUTDOWN_CAP.
    let guard = session.into_guard();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        drop(guard);
        let _ = tx.send(());
    });
    match rx.recv_timeout(SHUTDOWN_CAP) {
        Ok(()) => emit("shutdown_ms", start.elapsed().as_secs_f64() * 1e3),
        Err(_) => emit("shutdown_ms", "hung"),
    }
    finish();
}

fn storm(sdk: Sdk, dsn: &str) {
    let session = Session::init(sdk, dsn, false);
    let start = Instant::now();
    for _ in 0..STORM {
        session.capture_message("storm event");
    }
    emit("per_call_ns", nanos(start.elapsed()) / STORM as u64);
    emit("hwm_kb", proc_status_kb(None, "VmHWM").unwrap_or(0));
    // The dead server would make a graceful shutdown wait for retries; the figure is taken.
    std::mem::forget(session);
    finish();
}

fn throughput(sdk: Sdk, dsn: &str, threads: usize) {
    let session = Session::init(sdk, dsn, false);
    let start = Instant::now();
    let captured: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while start.elapsed() < THROUGHPUT_WINDOW {
                        session.capture_message("throughput event");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    // The parent counts what reached the sink by the end of the capture loop.
    emit("window_end_unix_ms", unix_ms(std::time::SystemTime::now()));
    session.flush(Duration::from_secs(60));
    emit("captured", captured);
    emit("elapsed_ms", start.elapsed().as_secs_f64() * 1e3);
    drop(session);
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Ends the child at once, leaving SDK threads that may be stuck on the network.
fn finish() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(0)
}
