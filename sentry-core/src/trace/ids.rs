//! Trace and span ids: random, shown and parsed as lowercase hex.

use std::fmt;
use std::str::FromStr;

/// A trace id: 16 bytes, written as 32 lowercase hex digits. Every event of one request or
/// task carries the same one in `contexts.trace.trace_id`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

/// A span id: 8 bytes, written as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

/// A trace or span id that is not hex of the right length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not {digits} hex digits")]
pub struct InvalidId {
    digits: usize,
}

impl TraceId {
    /// A random trace id.
    pub fn random() -> Self {
        TraceId(*uuid::Uuid::new_v4().as_bytes())
    }
}

impl SpanId {
    /// A random span id.
    pub fn random() -> Self {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let mut id = [0; 8];
        id.copy_from_slice(&bytes[8..]);
        SpanId(id)
    }
}

/// Writes `bytes` as lowercase hex.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Reads exactly `N` bytes of hex (either case); all zeros is not a valid id.
fn read_hex<const N: usize>(s: &str) -> Result<[u8; N], InvalidId> {
    let invalid = InvalidId { digits: 2 * N };
    if s.len() != 2 * N || !s.is_ascii() {
        return Err(invalid);
    }
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| invalid.clone())?;
    }
    if out.iter().all(|b| *b == 0) {
        return Err(invalid);
    }
    Ok(out)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        read_hex(s).map(TraceId)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl FromStr for SpanId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        read_hex(s).map(SpanId)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_hex() {
        let t = TraceId::random();
        assert_eq!(t.to_string().len(), 32);
        assert_eq!(t.to_string().parse::<TraceId>().unwrap(), t);
        let s = SpanId::random();
        assert_eq!(s.to_string().len(), 16);
        assert_eq!(s.to_string().parse::<SpanId>().unwrap(), s);
        assert_ne!(TraceId::random(), t);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "abc",
            "0000000000000000",
            "zz00000000000001",
            "é000000000000001",
        ] {
            assert!(bad.parse::<SpanId>().is_err(), "{bad}");
        }
        assert!("4BF92F3577B34DA6A3CE929D0E0E4736"
            .parse::<TraceId>()
            .is_ok());
        assert!("00000000000000000000000000000000"
            .parse::<TraceId>()
            .is_err());
    }
}
