//! The printed report: the machine, the comparison table, the `ratio` lines, our own figures.

use crate::child::{BURST, CACHE_DRAIN, SHUTDOWN_CAP, STORM};
use crate::fixture::Figures;
use crate::machine::Machine;
use crate::peers::Sdk;
use crate::stats::median;
use crate::Results;
use std::time::Duration;

/// Whether lower or higher is better, and the target ratio.
#[derive(Debug, Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    None,
}

/// How a raw value is shown.
#[derive(Debug, Clone, Copy)]
enum Unit {
    /// Nanoseconds shown as µs.
    Micros,
    /// Nanoseconds shown as ms.
    Millis,
    /// Milliseconds shown as ms.
    MillisRaw,
    /// kB shown as MB.
    Megabytes,
    /// A count.
    Count,
    /// Per second.
    PerSecond,
    /// Bytes.
    Bytes,
    /// Seconds.
    Seconds,
}

impl Unit {
    fn label(self) -> &'static str {
        match self {
            Unit::Micros => "µs",
            Unit::Millis | Unit::MillisRaw => "ms",
            Unit::Megabytes => "MB",
            Unit::Count => "events",
            Unit::PerSecond => "events/s",
            Unit::Bytes => "bytes",
            Unit::Seconds => "s",
        }
    }

    fn show(self, v: f64) -> String {
        if v.is_infinite() {
            return format!("hung (>{} s)", SHUTDOWN_CAP.as_secs());
        }
        if v.is_nan() {
            return "n/a".into();
        }
        match self {
            Unit::Micros => format!("{:.2}", v / 1e3),
            Unit::Millis => format!("{:.1}", v / 1e6),
            Unit::MillisRaw => format!("{v:.1}"),
            Unit::Megabytes => format!("{:.1}", v / 1024.0),
            Unit::Seconds => format!("{v:.1}"),
            Unit::Count | Unit::PerSecond | Unit::Bytes => format!("{v:.0}"),
        }
    }
}

struct Compared {
    metric: &'static str,
    key: &'static str,
    unit: Unit,
    target: Target,
}

const COMPARED: &[Compared] = &[
    Compared {
        metric: "message_p50",
        key: "message.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.5),
    },
    Compared {
        metric: "message_p99",
        key: "message.p99_ns",
        unit: Unit::Micros,
        target: Target::None,
    },
    Compared {
        metric: "burst_delivered",
        key: "burst.delivered",
        unit: Unit::Count,
        target: Target::AtLeast(15.0),
    },
    Compared {
        metric: "delivery_busy8",
        key: "throughput8.delivered_in_window",
        unit: Unit::Count,
        target: Target::AtLeast(1.0),
    },
    Compared {
        metric: "error_stack_p50",
        key: "error.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.1),
    },
    Compared {
        metric: "resolve_rss",
        key: "error.rss_1000_kb",
        unit: Unit::Megabytes,
        target: Target::AtMost(0.2),
    },
    Compared {
        metric: "panic_p50",
        key: "panic.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.1),
    },
    Compared {
        metric: "panic_stalled_max",
        key: "stalled.max_ns",
        unit: Unit::Millis,
        target: Target::AtMost(0.05),
    },
    Compared {
        metric: "serialize",
        key: "serialize.ns",
        unit: Unit::Micros,
        target: Target::AtMost(1.0),
    },
    Compared {
        metric: "trace_sampled",
        key: "trace_sampled.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.5),
    },
    Compared {
        metric: "trace_unsampled",
        key: "trace_unsampled.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.5),
    },
    Compared {
        metric: "log_p50",
        key: "logs.p50_ns",
        unit: Unit::Micros,
        target: Target::AtMost(0.5),
    },
    Compared {
        metric: "binary_size",
        key: "minimal.binary_kb",
        unit: Unit::Megabytes,
        target: Target::AtMost(1.0),
    },
    Compared {
        metric: "build_time",
        key: "minimal.build_s",
        unit: Unit::Seconds,
        target: Target::AtMost(1.0),
    },
    Compared {
        metric: "storm_rss",
        key: "storm.hwm_kb",
        unit: Unit::Megabytes,
        target: Target::AtMost(4.0),
    },
];

/// Side-by-side figures without a ratio target.
const CONTEXT: &[(&str, &str, Unit)] = &[
    (
        "error: first capture_error in the process",
        "error.first_ns",
        Unit::Millis,
    ),
    (
        "error: a second capture_error right after the first",
        "error.second_ns",
        Unit::Millis,
    ),
    (
        "error: RSS growth from the first capture (after flush)",
        "error.first_rss_kb",
        Unit::Megabytes,
    ),
    (
        "error: of which anonymous memory",
        "error.first_rss_anon_kb",
        Unit::Megabytes,
    ),
    (
        "error: of which file-backed pages",
        "error.first_rss_file_kb",
        Unit::Megabytes,
    ),
    ("error: capture_error p99", "error.p99_ns", Unit::Micros),
    ("logs: structured log p99", "logs.p99_ns", Unit::Micros),
    (
        "logs: logs delivered of the 2,200 written",
        "logs.delivered",
        Unit::Count,
    ),
    ("panic: caught panic p99", "panic.p99_ns", Unit::Micros),
    (
        "stalled server: 1st caught panic",
        "stalled.panic0_ns",
        Unit::Millis,
    ),
    (
        "stalled server: 2nd caught panic (50 ms later)",
        "stalled.panic1_ns",
        Unit::Millis,
    ),
    (
        "stalled server: 3rd caught panic",
        "stalled.panic2_ns",
        Unit::Millis,
    ),
    (
        "stalled server: shutdown (guard drop)",
        "stalled.shutdown_ms",
        Unit::MillisRaw,
    ),
    (
        "burst: time to make 20,000 captures",
        "burst.burst_ms",
        Unit::MillisRaw,
    ),
    (
        "storm: cost per capture against a dead server",
        "storm.per_call_ns",
        Unit::Micros,
    ),
    ("serialize: envelope size", "serialize.bytes", Unit::Bytes),
    (
        "serialize: serde_json::to_vec(&event) alone",
        "serialize.json_ns",
        Unit::Micros,
    ),
    (
        "serialize: cloning the event (not included)",
        "serialize.clone_ns",
        Unit::Micros,
    ),
    (
        "message: mean request body on the wire",
        "message.body_bytes",
        Unit::Bytes,
    ),
    (
        "delivered to the sink, 1 capturing thread",
        "throughput1.events_per_s",
        Unit::PerSecond,
    ),
    (
        "delivered to the sink, 8 capturing threads",
        "throughput8.events_per_s",
        Unit::PerSecond,
    ),
    (
        "message: events delivered of 2,200 sent",
        "message.delivered",
        Unit::Count,
    ),
    (
        "panic: events delivered of 320 panics",
        "panic.delivered",
        Unit::Count,
    ),
];

fn med(results: &Results, key: &str, sdk: Sdk) -> f64 {
    results
        .get(&(key.to_owned(), sdk))
        .and_then(|v| median(v))
        .unwrap_or(f64::NAN)
}

fn runs(results: &Results, key: &str, sdk: Sdk, unit: Unit) -> String {
    let values = results
        .get(&(key.to_owned(), sdk))
        .map(Vec::as_slice)
        .unwrap_or_default();
    values
        .iter()
        .map(|v| unit.show(*v))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn print(
    machine: &Machine,
    n_runs: usize,
    results: &Results,
    fixture: Option<&Result<Figures, String>>,
    took: Duration,
) {
    println!();
    println!(
        "watchpost {} vs sentry 0.49.5 (official), medians of {n_runs} run(s)",
        watchpost::SDK_VERSION
    );
    println!("{machine}");
    println!("sink: HTTP on 127.0.0.1 answering 200 (watchpost::testing::MockServer); release build with line tables");
    println!();
    println!("| metric | unit | ours | official | ours / official | target | verdict | ours per run | official per run |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut ratio_lines = Vec::new();
    for c in COMPARED {
        let (ours, official) = (
            med(results, c.key, Sdk::Ours),
            med(results, c.key, Sdk::Official),
        );
        let ratio = ours / official;
        let (target, verdict) = match c.target {
            Target::AtMost(t) => (format!("≤ {t}"), if ratio <= t { "met" } else { "MISSED" }),
            Target::AtLeast(t) => (format!("≥ {t}"), if ratio >= t { "met" } else { "MISSED" }),
            Target::None => ("-".into(), "-"),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.metric,
            c.unit.label(),
            c.unit.show(ours),
            c.unit.show(official),
            show_ratio(ratio),
            target,
            verdict,
            runs(results, c.key, Sdk::Ours, c.unit),
            runs(results, c.key, Sdk::Official, c.unit),
        );
        ratio_lines.push(format!("ratio {} {}", c.metric, show_ratio(ratio)));
    }
    println!();
    println!("| also measured | unit | ours | official | no SDK |");
    println!("|---|---|---|---|---|");
    let bare = |key: &str, unit: Unit| {
        let v = med(results, key, Sdk::Bare);
        if v.is_nan() {
            "-".into()
        } else {
            unit.show(v)
        }
    };
    println!(
        "| panic: caught panic p50 | µs | {} | {} | {} |",
        Unit::Micros.show(med(results, "panic.p50_ns", Sdk::Ours)),
        Unit::Micros.show(med(results, "panic.p50_ns", Sdk::Official)),
        bare("panic.p50_ns", Unit::Micros)
    );
    println!(
        "| storm: peak RSS (VmHWM) of the process | MB | {} | {} | {} |",
        Unit::Megabytes.show(med(results, "storm.hwm_kb", Sdk::Ours)),
        Unit::Megabytes.show(med(results, "storm.hwm_kb", Sdk::Official)),
        bare("storm.hwm_kb", Unit::Megabytes)
    );
    for (label, key, unit) in CONTEXT {
        println!(
            "| {label} | {} | {} | {} | - |",
            unit.label(),
            unit.show(med(results, key, Sdk::Ours)),
            unit.show(med(results, key, Sdk::Official))
        );
    }

    let released = med(results, "error.released_rss_kb", Sdk::Ours);
    if !released.is_nan() {
        println!(
            "| error (ours): RSS given back by `release_debug_info()` (the worker does it after 60 s without new addresses) | MB | {} | - | - |",
            Unit::Megabytes.show(released)
        );
    }

    let cached_delivered = med(results, "burst_cache.delivered", Sdk::Ours);
    if !cached_delivered.is_nan() {
        let still = med(results, "burst_cache.still_cached", Sdk::Ours);
        let dropped = med(results, "burst_cache.dropped", Sdk::Ours);
        println!(
            "| burst with `cache_dir` (ours): delivered within {} s of the burst / still on disk / dropped | events | {cached_delivered:.0} / {still:.0} / {dropped:.0} | - | - |",
            CACHE_DRAIN.as_secs()
        );
        println!(
            "| burst with `cache_dir` (ours): time to make 20,000 captures | ms | {:.1} | - | - |",
            med(results, "burst_cache.burst_ms", Sdk::Ours)
        );
        let official = med(results, "burst.delivered", Sdk::Official);
        ratio_lines.push(format!(
            "ratio burst_delivered_cache {}",
            show_ratio(cached_delivered / official)
        ));
        ratio_lines.push(format!(
            "burst_cache accounted {:.1}% (delivered {cached_delivered:.0} + on disk {still:.0} of {BURST})",
            100.0 * (cached_delivered + still) / BURST as f64
        ));
    }

    if let Some(fixture) = fixture {
        println!();
        match fixture {
            Ok(f) => crate::fixture::print(f),
            Err(why) => println!("fixture: FAILED: {why}"),
        }
    }
    if let Some(line) = per_run_ratios(results, "serialize", "serialize.ns") {
        ratio_lines.push(line);
    }
    println!();
    for line in &ratio_lines {
        println!("{line}");
    }
    let (ours, official) = (
        med(results, "burst.delivered", Sdk::Ours),
        med(results, "burst.delivered", Sdk::Official),
    );
    println!("burst_delivered ours {ours:.0}/{BURST} official {official:.0}/{BURST} (storm: {STORM} captures)");
    println!();
    println!("bench took {:.0} s", took.as_secs_f64());
}

/// `ratio <metric> per run: r1 r2 ...`, each run's ours / official, for a metric whose two
/// SDKs are measured in the same run (in the same process for `serialize`).
fn per_run_ratios(results: &Results, metric: &str, key: &str) -> Option<String> {
    let ours = results.get(&(key.to_owned(), Sdk::Ours))?;
    let official = results.get(&(key.to_owned(), Sdk::Official))?;
    let ratios: Vec<String> = ours
        .iter()
        .zip(official)
        .map(|(o, f)| show_ratio(o / f))
        .collect();
    Some(format!("ratio {metric} per run: {}", ratios.join(" ")))
}

fn show_ratio(r: f64) -> String {
    if r.is_nan() {
        "n/a".into()
    } else if r == 0.0 || r.is_infinite() {
        format!("{r}")
    } else if r < 0.01 {
        format!("{r:.5}")
    } else {
        format!("{r:.3}")
    }
}
