//! How much memory resolving stack traces costs: resident memory before the first stack trace,
//! after it, and after 1,000 more from a handful of call sites.
//!
//! ```text
//! cargo run --release -p watchpost --features test --example resolve_memory
//! ```
//!
//! The binary links tokio, hyper and axum and runs a server, so its debug info is that of a
//! typical service rather than of a small test program. Each line gives the figures of
//! `/proc/self/status` in kB (`VmRSS`, `VmHWM`, `RssAnon`, `RssFile`); Linux only.

use std::error::Error;
use std::fmt;
use watchpost::testing::EventCapture;

#[derive(Debug)]
struct Failed(usize);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {} failed", self.0)
    }
}

impl Error for Failed {}

#[inline(never)]
fn site_a(i: usize) {
    watchpost::capture_error(&Failed(i));
}

#[inline(never)]
fn site_b(i: usize) {
    watchpost::capture_error(&Failed(i));
}

#[inline(never)]
fn site_c(i: usize) {
    nested(3, i);
}

#[inline(never)]
fn nested(depth: usize, i: usize) {
    if std::hint::black_box(depth) == 0 {
        watchpost::capture_error(&Failed(i));
    } else {
        nested(depth - 1, i);
    }
}

#[inline(never)]
fn site_d(i: usize) {
    let parsed: Result<u16, _> = std::hint::black_box("port").parse();
    if let Err(e) = parsed {
        watchpost::capture_error(&e);
    } else {
        site_a(i);
    }
}

#[inline(never)]
fn site_e(i: usize) {
    std::thread::scope(|s| {
        s.spawn(|| site_b(i));
    });
}

const SITES: [fn(usize); 5] = [site_a, site_b, site_c, site_d, site_e];

/// The `/proc/self/status` fields, in kB, in the order printed.
fn memory() -> [u64; 4] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    ["VmRSS:", "VmHWM:", "RssAnon:", "RssFile:"].map(|field| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    })
}

fn report(stage: &str, base: [u64; 4]) {
    let now = memory();
    println!(
        "{stage:<22} rss {:>7} hwm {:>7} anon {:>7} file {:>7}   growth rss {:>7} anon {:>7} file {:>7}",
        now[0],
        now[1],
        now[2],
        now[3],
        now[0].saturating_sub(base[0]),
        now[2].saturating_sub(base[2]),
        now[3].saturating_sub(base[3]),
    );
}

/// A small axum service on a loopback port, so the binary carries a service's code.
fn start_service() -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.spawn(async {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        if let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await {
            let _ = axum::serve(listener, app).await;
        }
    });
    runtime
}

fn main() {
    let _runtime = start_service();
    let capture = EventCapture::new();
    // One event without a stack trace first, so the baseline includes the client's own memory.
    capture.run(|| watchpost::capture_message("warm up", watchpost::Level::Info));
    capture.take_events();
    let base = memory();
    report("before", base);

    capture.run(|| site_c(0));
    let events = capture.take_events();
    report("after 1 stack trace", base);
    if let Some(frame) = events
        .first()
        .and_then(|e| e.exception.values.first())
        .and_then(|x| x.stacktrace.as_ref())
        .and_then(|s| s.frames.iter().rev().find(|f| f.lineno.is_some()))
    {
        println!(
            "  top frame: {} at {}:{}",
            frame.function.as_deref().unwrap_or("?"),
            frame.abs_path.as_deref().unwrap_or("?"),
            frame.lineno.unwrap_or(0)
        );
    }

    for i in 1..=1000 {
        capture.run(|| SITES[i % SITES.len()](i));
        capture.take_events();
    }
    report("after 1,000 more", base);

    watchpost::release_debug_info();
    report("after release", base);
}
