//! Small time helpers: RFC 3339 timestamps and a cheap jitter source.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The current UTC time as RFC 3339 with microseconds, e.g. `2026-11-25T13:10:50.123456Z`.
pub(crate) fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_micros())
}

/// Formats seconds since the epoch as RFC 3339 UTC.
pub(crate) fn rfc3339(secs: u64, micros: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A number in [0, 1) from a per-thread xorshift generator: enough for backoff jitter and
/// sampling, not for anything secret.
pub(crate) fn jitter() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
            let addr = &t as *const u64 as u64;
            (t ^ addr.rotate_left(32)) | 1
        });
    }
    STATE
        .try_with(|s| {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .unwrap_or(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(
            rfc3339(1_795_000_000, 123_456),
            "2026-11-18T11:06:40.123456Z"
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..10_000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn jitter_is_uniform() {
        // 100,000 draws in 10 buckets: each expects 10,000 (standard deviation 95); the bounds
        // are eight deviations wide, so a constant or a skewed generator fails.
        let mut buckets = [0u32; 10];
        let mut sum = 0.0;
        for _ in 0..100_000 {
            let j = jitter();
            sum += j;
            buckets[(j * 10.0) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!(
                (9_240..=10_760).contains(n),
                "bucket {i}: {n} ({buckets:?})"
            );
        }
        let mean = sum / 100_000.0;
        assert!((0.49..=0.51).contains(&mean), "mean {mean}");
    }
}
