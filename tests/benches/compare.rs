//! Side-by-side benchmark of this SDK against the official Rust SDK (`sentry` 0.49.5).
//!
//! ```text
//! cargo bench -p tests --bench compare --features compare
//! ```
//!
//! Both SDKs send over HTTP (ureq) to the same local sink, a real HTTP server on 127.0.0.1 that
//! answers 200 (`watchpost::testing::MockServer`, run by this process). Each SDK installs a
//! global client and a panic hook, so every metric group runs in a child process of its own:
//! this binary re-executes itself with `SENTRY_COMPARE_CHILD="<group> <sdk>"`, the child prints
//! `= key value` lines, and the parent counts what reached the sink, takes the median over the
//! runs and prints a table and one `ratio <metric> <ours / official>` line per metric.
//!
//! Options after `--`: `--runs N` (default 3), `--build-runs N` (clean builds of the minimal
//! application per SDK, default 5), `--skip-minimal` (no minimal-application builds),
//! `--skip-fixture` (no fixture builds),
//! `--fixture-dir DIR` (build the fixture there and keep it, to iterate without rebuilding its
//! dependencies; its first-build figure is then not a cold build),
//! `--only group,group` (metric groups: message, burst, burst_cache, error, panic, stalled, serialize,
//! storm, throughput1, throughput8, trace_sampled, trace_unsampled; and logs, which needs
//! `--features compare-logs`).
//!
//! The design notes and the latest figures are in the README's "Performance" section.

mod compare {
    pub(crate) mod child;
    pub(crate) mod fixture;
    pub(crate) mod machine;
    pub(crate) mod minimal;
    pub(crate) mod peers;
    pub(crate) mod report;
    pub(crate) mod serialize;
    pub(crate) mod sinks;
    pub(crate) mod stats;
}

use compare::{child, fixture, machine, minimal, peers, report, serialize, sinks, stats};

use child::Group;
use peers::Sdk;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use watchpost::testing::MockServer;

/// Set in a child process: `"<group> <sdk>"`.
const CHILD_ENV: &str = "SENTRY_COMPARE_CHILD";
/// The DSN a child sends to.
const DSN_ENV: &str = "SENTRY_COMPARE_DSN";
/// A child that takes longer than this is killed and its group reported as failed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(180);

/// Per-run values: `("group.key", sdk) → one value per run`.
pub(crate) type Results = BTreeMap<(String, Sdk), Vec<f64>>;

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let mut parts = spec.split_whitespace();
        let group = parts.next().and_then(Group::parse);
        let sdk = parts.next().and_then(Sdk::parse);
        let dsn = std::env::var(DSN_ENV).unwrap_or_default();
        match (group, sdk) {
            (Some(group), Some(sdk)) => child::run(group, sdk, &dsn),
            _ => {
                eprintln!("compare: bad {CHILD_ENV}={spec:?}");
                std::process::exit(2);
            }
        }
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and gets a smoke check.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("compare: nothing measured; run `cargo bench -p tests --bench compare --features compare`");
        return;
    }
    let args = Args::parse();
    let started = Instant::now();
    let machine = machine::Machine::detect();
    eprintln!(
        "compare: {} run(s) of each group, one child process per SDK and group",
        args.runs
    );

    let sink = MockServer::start();
    let stalled = sinks::Stalled::start().expect("a loopback listener for the stalled server");
    let mut results = Results::new();
    for run in 0..args.runs {
        // Alternate which SDK goes first, so drift on a noisy machine does not favour one.
        let order = if run % 2 == 0 {
            [Sdk::Ours, Sdk::Official]
        } else {
            [Sdk::Official, Sdk::Ours]
        };
        for group in args.groups() {
            if group == Group::Logs && !cfg!(feature = "compare-logs") {
                eprintln!("  logs: needs `--features compare-logs`; skipped");
                continue;
            }
            let mut sdks = order.to_vec();
            if matches!(group, Group::Panic | Group::Storm) {
                sdks.push(Sdk::Bare);
            }
            if group == Group::BurstCache {
                sdks = vec![Sdk::Ours];
            }
            if group == Group::Serialize {
                // One child measures both SDKs, interleaved.
                sdks = vec![Sdk::Bare];
            }
            for sdk in sdks {
                let dsn = match group {
                    Group::Stalled => stalled.dsn(),
                    Group::Storm => sinks::dead_dsn().expect("a free loopback port"),
                    _ => sink.dsn(),
                };
                eprint!(
                    "  run {}/{} {:<12} {:<9}",
                    run + 1,
                    args.runs,
                    group.name(),
                    if group == Group::Serialize {
                        "both"
                    } else {
                        sdk.name()
                    }
                );
                let t = Instant::now();
                let out = run_child(group, sdk, &dsn);
                // Requests still being answered when the child ended are counted too.
                std::thread::sleep(Duration::from_millis(100));
                let delivered = match group {
                    Group::Logs => logs_delivered(&sink),
                    _ => sink.events().len() as f64,
                };
                let in_window = in_window(&sink, out.as_ref().ok());
                if group == Group::Message {
                    let bodies: Vec<usize> =
                        sink.requests().iter().map(|r| r.raw_body.len()).collect();
                    let mean = bodies.iter().sum::<usize>() as f64 / bodies.len().max(1) as f64;
                    results
                        .entry(("message.body_bytes".into(), sdk))
                        .or_default()
                        .push(mean);
                }
                sink.clear();
                stalled.release();
                eprintln!(" {:>6.1} s", t.elapsed().as_secs_f64());
                record(&mut results, group, sdk, out, delivered);
                if let Some(n) = in_window {
                    results
                        .entry((format!("{}.delivered_in_window", group.name()), sdk))
                        .or_default()
                        .push(n);
                }
            }
        }
    }
    drop(sink);

    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."));
    if !args.skip_minimal {
        eprintln!("compare: minimal application, clean release builds");
        if let Err(e) = minimal::run(&workspace, args.build_runs, &mut results) {
            eprintln!("  minimal application failed: {e}");
        }
    }

    let fixture = if args.skip_fixture {
        None
    } else {
        eprintln!("compare: fixture builds (embedding a generated source tree)");
        Some(fixture::run(&workspace, args.fixture_dir.as_deref()))
    };
    report::print(
        &machine,
        args.runs,
        &results,
        fixture.as_ref(),
        started.elapsed(),
    );
}

/// Structured logs the sink received: the `item_count` of every `log` item.
fn logs_delivered(sink: &MockServer) -> f64 {
    sink.envelopes()
        .iter()
        .flat_map(|e| e.items().to_vec())
        .filter(|i| i.ty() == "log")
        .filter_map(|i| i.headers().get("item_count")?.as_u64())
        .sum::<u64>() as f64
}

/// Events the sink had received when the child's capture loop ended (`window_end_unix_ms`),
/// for the groups that report it.
fn in_window(sink: &MockServer, figures: Option<&Vec<(String, f64)>>) -> Option<f64> {
    let end_ms = figures?
        .iter()
        .find(|(k, _)| k == "window_end_unix_ms")
        .map(|(_, v)| *v)?;
    let events = sink
        .requests()
        .iter()
        .filter(|r| child::unix_ms(r.received_at) <= end_ms)
        .filter_map(|r| r.envelope.as_ref())
        .filter(|e| e.event().is_some())
        .count();
    Some(events as f64)
}

/// Adds a child's figures, and the events the sink received, to the results.
fn record(
    results: &mut Results,
    group: Group,
    sdk: Sdk,
    out: Result<Vec<(String, f64)>, String>,
    delivered: f64,
) {
    let name = group.name();
    let figures = match out {
        Ok(figures) => figures,
        Err(why) => {
            eprintln!("    {name} {} failed: {why}", sdk.name());
            return;
        }
    };
    // A key may name the SDK it is about (`ours.ns`), when one child measured both.
    let mut push = |key: &str, value: f64| {
        let (sdk, key) = match key
            .split_once('.')
            .and_then(|(s, k)| Some((Sdk::parse(s)?, k)))
        {
            Some((named, key)) => (named, key),
            None => (sdk, key),
        };
        results
            .entry((format!("{name}.{key}"), sdk))
            .or_default()
            .push(value)
    };
    for (key, value) in &figures {
        push(key, *value);
    }
    push("delivered", delivered);
    if let Group::Throughput(_) = group {
        let elapsed = figures
            .iter()
            .find(|(k, _)| k == "elapsed_ms")
            .map_or(f64::NAN, |(_, v)| *v);
        push("events_per_s", delivered / (elapsed / 1e3));
    }
}

/// Runs one group for one SDK in a child process and parses what it printed.
fn run_child(group: Group, sdk: Sdk, dsn: &str) -> Result<Vec<(String, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .env(CHILD_ENV, format!("{} {}", group.name(), sdk.name()))
        .env(DSN_ENV, dsn)
        .env_remove("SENTRY_DSN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawning: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no result within {CHILD_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("waiting: {e}")),
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("exited with {status}"));
    }
    Ok(parse_results(&text))
}

/// The `= key value` lines of a child's output; `hung` reads as infinity.
pub(crate) fn parse_results(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.strip_prefix("= ")?.split_whitespace();
            let key = parts.next()?.to_owned();
            let value = match parts.next()? {
                "hung" => f64::INFINITY,
                v => v.parse().ok()?,
            };
            Some((key, value))
        })
        .collect()
}

/// Command-line options (after `--`); Cargo's own `--bench` flag is ignored.
#[derive(Debug)]
struct Args {
    runs: usize,
    build_runs: usize,
    skip_minimal: bool,
    skip_fixture: bool,
    fixture_dir: Option<PathBuf>,
    only: Option<Vec<Group>>,
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            runs: 3,
            build_runs: 5,
            skip_minimal: false,
            skip_fixture: false,
            fixture_dir: None,
            only: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--runs" => {
                    args.runs = it
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n > 0)
                        .unwrap_or(3)
                }
                "--build-runs" => {
                    args.build_runs = it
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n > 0)
                        .unwrap_or(5)
                }
                "--skip-minimal" => args.skip_minimal = true,
                "--skip-fixture" => args.skip_fixture = true,
                "--fixture-dir" => args.fixture_dir = it.next().map(PathBuf::from),
                "--only" => {
                    args.only = it
                        .next()
                        .map(|list| list.split(',').filter_map(Group::parse).collect())
                }
                _ => {}
            }
        }
        args
    }

    fn groups(&self) -> Vec<Group> {
        self.only.clone().unwrap_or_else(|| {
            vec![
                Group::Message,
                Group::Burst,
                Group::BurstCache,
                Group::Error,
                Group::Panic,
                Group::Stalled,
                Group::Serialize,
                Group::Storm,
                Group::Throughput(1),
                Group::Throughput(8),
                Group::Trace(true),
                Group::Trace(false),
            ]
        })
    }
}
