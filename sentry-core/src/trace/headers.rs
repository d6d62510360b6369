//! The trace headers on the wire: `sentry-trace`, W3C `traceparent` and `baggage`.
//!
//! `sentry-trace: <trace id>-<span id>[-<sampled: 1 or 0>]`;
//! `traceparent: 00-<trace id>-<span id>-<flags>` (flag bit 0: sampled);
//! `baggage: key=value,key=value;property,...` with percent-encoded values, of which the
//! `sentry-` entries are the dynamic sampling context.

use super::ids::{SpanId, TraceId};
use std::collections::BTreeMap;

/// The most bytes of a `baggage` header that are read (the W3C limit is 8,192).
const MAX_BAGGAGE: usize = 8192;
/// The most `sentry-` entries kept from a `baggage` header.
const MAX_ENTRIES: usize = 64;

/// What an incoming `sentry-trace` or `traceparent` header says: the trace, the caller's span,
/// and the caller's sampling decision when it made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parent {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) sampled: Option<bool>,
}

/// Reads a `sentry-trace` value; `None` when it is malformed.
pub(crate) fn parse_sentry_trace(value: &str) -> Option<Parent> {
    let mut parts = value.trim().split('-');
    let trace_id = parts.next()?.parse().ok()?;
    let span_id = parts.next()?.parse().ok()?;
    let sampled = match parts.next() {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Parent {
        trace_id,
        span_id,
        sampled,
    })
}

/// Reads a W3C `traceparent` value (version `00`, or a later one read the same way); `None`
/// when it is malformed.
pub(crate) fn parse_traceparent(value: &str) -> Option<Parent> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    if version.len() != 2 || version.eq_ignore_ascii_case("ff") {
        return None;
    }
    let trace_id = parts.next()?.parse().ok()?;
    let span_id = parts.next()?.parse().ok()?;
    let flags = u8::from_str_radix(parts.next()?.get(..2)?, 16).ok()?;
    if version == "00" && parts.next().is_some() {
        return None;
    }
    Some(Parent {
        trace_id,
        span_id,
        sampled: Some(flags & 1 == 1),
    })
}

/// The `sentry-trace` value for `span_id` in `trace_id`.
pub(crate) fn sentry_trace(trace_id: TraceId, span_id: SpanId, sampled: Option<bool>) -> String {
    match sampled {
        Some(true) => format!("{trace_id}-{span_id}-1"),
        Some(false) => format!("{trace_id}-{span_id}-0"),
        None => format!("{trace_id}-{span_id}"),
    }
}

/// The `traceparent` value; an undecided sampling is sent as not sampled.
pub(crate) fn traceparent(trace_id: TraceId, span_id: SpanId, sampled: Option<bool>) -> String {
    let flags = if sampled == Some(true) { "01" } else { "00" };
    format!("00-{trace_id}-{span_id}-{flags}")
}

/// The `sentry-` entries of a `baggage` value, keys without the prefix, values decoded.
/// Entries of other vendors and malformed entries are skipped; an oversized header is read
/// only up to [`MAX_BAGGAGE`] bytes.
pub(crate) fn parse_baggage(value: &str) -> BTreeMap<String, String> {
    let mut end = value.len().min(MAX_BAGGAGE);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut entries = BTreeMap::new();
    for member in value[..end].split(',') {
        // `key=value;property`: properties are not part of the value.
        let member = member.split(';').next().unwrap_or_default();
        let Some((key, val)) = member.split_once('=') else {
            continue;
        };
        let Some(key) = key.trim().strip_prefix("sentry-") else {
            continue;
        };
        if key.is_empty() || entries.len() >= MAX_ENTRIES {
            continue;
        }
        let val = percent_encoding::percent_decode_str(val.trim()).decode_utf8_lossy();
        entries.insert(key.to_owned(), val.into_owned());
    }
    entries
}

/// The `baggage` value of `sentry-` entries, values percent-encoded.
pub(crate) fn baggage(entries: &BTreeMap<String, String>) -> String {
    /// Everything but unreserved characters is encoded: safe in any header value.
    const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    entries
        .iter()
        .map(|(k, v)| {
            format!(
                "sentry-{k}={}",
                percent_encoding::utf8_percent_encode(v, ENCODE)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    const TRACE: &str = "771a43a4192642f0b136d5159a501700";
    const SPAN: &str = "b7ad6b7169203331";

    #[test]
    fn sentry_trace_reads_with_and_without_a_decision() {
        let p = parse_sentry_trace(&format!("{TRACE}-{SPAN}-1")).unwrap();
        assert_eq!(p.trace_id.to_string(), TRACE);
        assert_eq!(p.span_id.to_string(), SPAN);
        assert_eq!(p.sampled, Some(true));
        assert_eq!(
            parse_sentry_trace(&format!(" {TRACE}-{SPAN}-0 "))
                .unwrap()
                .sampled,
            Some(false)
        );
        assert_eq!(
            parse_sentry_trace(&format!("{TRACE}-{SPAN}"))
                .unwrap()
                .sampled,
            None
        );
        for bad in [
            "",
            "-",
            &format!("{TRACE}-{SPAN}-2"),
            &format!("{TRACE}-x"),
            &format!("{TRACE}-{SPAN}-1-1"),
        ] {
            assert_eq!(parse_sentry_trace(bad), None, "{bad}");
        }
        let back = sentry_trace(p.trace_id, p.span_id, p.sampled);
        assert_eq!(back, format!("{TRACE}-{SPAN}-1"));
    }

    #[test]
    fn traceparent_reads_the_sampled_flag() {
        let p = parse_traceparent(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
        assert_eq!(
            (p.trace_id.to_string(), p.sampled),
            (TRACE.to_owned(), Some(true))
        );
        assert_eq!(
            parse_traceparent(&format!("00-{TRACE}-{SPAN}-00"))
                .unwrap()
                .sampled,
            Some(false)
        );
        assert_eq!(parse_traceparent(&format!("ff-{TRACE}-{SPAN}-01")), None);
        assert_eq!(
            parse_traceparent(&format!("00-{TRACE}-{SPAN}-01-extra")),
            None
        );
        assert!(parse_traceparent(&format!("01-{TRACE}-{SPAN}-01-future")).is_some());
        assert_eq!(
            traceparent(p.trace_id, p.span_id, Some(true)),
            format!("00-{TRACE}-{SPAN}-01")
        );
    }

    #[test]
    fn baggage_keeps_decoded_sentry_entries_only() {
        let b = parse_baggage(
            "other=1, sentry-trace_id=abc,sentry-release=app%401.0 ;prop=x,sentry-environment=prod,junk,sentry-=x",
        );
        assert_eq!(b.len(), 3);
        assert_eq!(b["release"], "app@1.0");
        assert_eq!(b["environment"], "prod");
        let out = baggage(&b);
        assert_eq!(
            out,
            "sentry-environment=prod,sentry-release=app%401.0,sentry-trace_id=abc"
        );
        assert_eq!(parse_baggage(&out), b);
    }

    #[test]
    fn an_oversized_baggage_is_read_up_to_the_limit() {
        let mut value = String::from("sentry-trace_id=abc,");
        value.push_str(&"é".repeat(10_000));
        let b = parse_baggage(&value);
        assert_eq!(b["trace_id"], "abc");
        let many: String = (0..1_000).map(|i| format!("sentry-k{i}=v,")).collect();
        assert!(parse_baggage(&many).len() <= MAX_ENTRIES);
    }
}
