//! The trace a context's events belong to (what Sentry calls the propagation context), and the
//! dynamic sampling context that travels with it.

use super::headers::{self, Parent};
use super::ids::{SpanId, TraceId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `sentry-` entries of a dynamic sampling context, keys without the prefix.
pub(crate) type Dsc = BTreeMap<String, String>;

/// The trace of a context: a new one for each request or task, or the one an incoming request
/// continued. Every event captured in the context carries it in `contexts.trace`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Propagation {
    pub(crate) trace_id: TraceId,
    /// This context's own span: the parent of the spans it starts and of outgoing requests.
    pub(crate) span_id: SpanId,
    /// The caller's span, when the trace was continued from an incoming request.
    pub(crate) parent_span_id: Option<SpanId>,
    /// The sampling decision made upstream, if any.
    pub(crate) sampled: Option<bool>,
    /// The caller's dynamic sampling context (its `sentry-` baggage), passed on unchanged; `None`
    /// when this SDK started the trace (then it builds its own, see [`own_dsc`]).
    pub(crate) frozen_dsc: Option<Arc<Dsc>>,
}

impl Default for Propagation {
    /// A new trace.
    fn default() -> Self {
        Propagation {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            sampled: None,
            frozen_dsc: None,
        }
    }
}

impl Propagation {
    /// The trace an incoming request asks to continue (`sentry-trace`, else `traceparent`,
    /// with `baggage`), or a new one when it names none (or a malformed one).
    pub(crate) fn from_incoming(
        sentry_trace: Option<&str>,
        traceparent: Option<&str>,
        baggage: Option<&str>,
    ) -> Propagation {
        let parent = sentry_trace
            .and_then(headers::parse_sentry_trace)
            .or_else(|| traceparent.and_then(headers::parse_traceparent));
        let Some(Parent {
            trace_id,
            span_id,
            sampled,
        }) = parent
        else {
            return Propagation::default();
        };
        // The caller's sampling context is kept only when it is about this trace.
        let frozen_dsc = baggage
            .map(headers::parse_baggage)
            .filter(|dsc| !dsc.is_empty())
            .filter(|dsc| {
                dsc.get("trace_id")
                    .is_none_or(|t| t.eq_ignore_ascii_case(&trace_id.to_string()))
            })
            .map(Arc::new);
        Propagation {
            trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(span_id),
            sampled,
            frozen_dsc,
        }
    }

    /// `contexts.trace` for an event of this context.
    pub(crate) fn trace_context(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("trace_id".into(), self.trace_id.to_string().into());
        fields.insert("span_id".into(), self.span_id.to_string().into());
        if let Some(parent) = self.parent_span_id {
            fields.insert("parent_span_id".into(), parent.to_string().into());
        }
        fields
    }
}

/// What the dynamic sampling context of a trace this SDK started is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DscSource<'a> {
    pub(crate) trace_id: TraceId,
    pub(crate) public_key: &'a str,
    pub(crate) release: Option<&'a str>,
    pub(crate) environment: Option<&'a str>,
    pub(crate) sampled: Option<bool>,
}

/// The dynamic sampling context of a trace this SDK started. `sample_rand` comes from the trace
/// id's random bits, so every event and outgoing request of the trace carries the same one.
pub(crate) fn own_dsc(source: DscSource<'_>) -> Dsc {
    let mut dsc = Dsc::new();
    dsc.insert("trace_id".into(), source.trace_id.to_string());
    dsc.insert("public_key".into(), source.public_key.to_owned());
    if let Some(release) = source.release {
        dsc.insert("release".into(), release.to_owned());
    }
    if let Some(environment) = source.environment {
        dsc.insert("environment".into(), environment.to_owned());
    }
    if let Some(sampled) = source.sampled {
        dsc.insert("sampled".into(), sampled.to_string());
    }
    dsc.insert(
        "sample_rand".into(),
        format!("{:.6}", sample_rand(source.trace_id)),
    );
    dsc
}

/// A number in [0, 1) taken from the trace id (its last 53 bits).
pub(crate) fn sample_rand(trace_id: TraceId) -> f64 {
    let hex = trace_id.to_string();
    let low = u64::from_str_radix(&hex[16..], 16).unwrap_or(0) & ((1 << 53) - 1);
    // Truncated, not rounded, to six decimals: never 1.0.
    ((low as f64 / (1u64 << 53) as f64) * 1e6).floor() / 1e6
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    const TRACE: &str = "771a43a4192642f0b136d5159a501700";

    #[test]
    fn an_incoming_trace_is_continued_with_a_span_of_our_own() {
        let p = Propagation::from_incoming(
            Some(&format!("{TRACE}-b7ad6b7169203331-1")),
            None,
            Some(&format!(
                "sentry-trace_id={TRACE},sentry-public_key=up,sentry-sample_rate=0.5,vendor=x"
            )),
        );
        assert_eq!(p.trace_id.to_string(), TRACE);
        assert_eq!(p.parent_span_id.unwrap().to_string(), "b7ad6b7169203331");
        assert_ne!(p.span_id.to_string(), "b7ad6b7169203331");
        assert_eq!(p.sampled, Some(true));
        let dsc = p.frozen_dsc.unwrap();
        assert_eq!(dsc["public_key"], "up");
        assert_eq!(dsc["sample_rate"], "0.5");
        assert!(!dsc.contains_key("vendor"));
    }

    #[test]
    fn traceparent_is_used_when_there_is_no_sentry_trace() {
        let p = Propagation::from_incoming(
            None,
            Some(&format!("00-{TRACE}-b7ad6b7169203331-00")),
            None,
        );
        assert_eq!(
            (p.trace_id.to_string(), p.sampled),
            (TRACE.to_owned(), Some(false))
        );
        assert_eq!(p.frozen_dsc, None);
    }

    #[test]
    fn a_malformed_or_missing_header_starts_a_new_trace() {
        let a = Propagation::from_incoming(Some("garbage"), None, Some("sentry-trace_id=x"));
        let b = Propagation::from_incoming(None, None, None);
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!((a.parent_span_id, a.frozen_dsc), (None, None));
    }

    #[test]
    fn baggage_about_another_trace_is_not_passed_on() {
        let p = Propagation::from_incoming(
            Some(&format!("{TRACE}-b7ad6b7169203331")),
            None,
            Some("sentry-trace_id=00000000000000000000000000000001,sentry-public_key=up"),
        );
        assert_eq!(p.frozen_dsc, None);
    }

    #[test]
    fn our_own_dsc_names_the_trace_and_a_stable_sample_rand() {
        let source = DscSource {
            trace_id: TRACE.parse().unwrap(),
            public_key: "key",
            release: Some("app@1"),
            environment: Some("production"),
            sampled: None,
        };
        let dsc = own_dsc(source);
        assert_eq!(dsc["trace_id"], TRACE);
        assert_eq!(dsc["public_key"], "key");
        assert_eq!(dsc["release"], "app@1");
        assert!(!dsc.contains_key("sampled"));
        let rand: f64 = dsc["sample_rand"].parse().unwrap();
        assert!((0.0..1.0).contains(&rand));
        assert_eq!(own_dsc(source)["sample_rand"], dsc["sample_rand"]);
    }

    #[test]
    fn sample_rand_is_spread_over_the_unit_interval() {
        let n = 10_000;
        let below_half = (0..n)
            .filter(|_| sample_rand(TraceId::random()) < 0.5)
            .count();
        // A constant would give 0 or n; a fair split is n/2 ± 4 standard deviations (200).
        assert!((4_800..=5_200).contains(&below_half), "{below_half}");
    }
}
