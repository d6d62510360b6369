//! Samples, percentiles and the process figures read from `/proc`.

use std::time::{Duration, Instant};

/// Nanoseconds taken by `f`.
pub(crate) fn time_ns(f: impl FnOnce()) -> u64 {
    let start = Instant::now();
    f();
    nanos(start.elapsed())
}

/// A duration in whole nanoseconds, saturating.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The `p`th percentile (0–100, nearest rank) of `samples`; sorts them.
pub(crate) fn percentile(samples: &mut [u64], p: f64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// The median of a few run results (the middle one, or the mean of the two middle ones);
/// infinity (a hang) counts as the largest value.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`), for this process when `pid` is `None`.
pub(crate) fn proc_status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Waits between two timed calls, so the SDK's worker keeps up as it would at a steady rate.
/// Spins instead of sleeping: a thread woken from sleep runs its next call with cold caches
/// and pays the scheduler's wake-up, which made single calls 5–10× slower and very noisy here.
pub(crate) fn pace(interval: Duration) {
    let start = Instant::now();
    while start.elapsed() < interval {
        std::hint::spin_loop();
    }
}
