//! Whether a transaction is sampled: `traces_sampler`, else the caller's decision, else
//! `traces_sample_rate`, compared with the trace's `sample_rand`.

use super::propagation::{sample_rand, Propagation};
use crate::client::Client;

/// What a `traces_sampler` decides on (see
/// [`ClientOptions::traces_sampler`](crate::ClientOptions::traces_sampler)).
#[derive(Debug, Clone, Copy)]
pub struct SamplingContext<'a> {
    pub(crate) name: &'a str,
    pub(crate) op: &'a str,
    pub(crate) parent_sampled: Option<bool>,
}

impl SamplingContext<'_> {
    /// The transaction's name, such as `GET /users/{id}`.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The transaction's operation, such as `http.server`.
    pub fn op(&self) -> &str {
        self.op
    }

    /// The decision of the service that called this one, when the trace came with one.
    pub fn parent_sampled(&self) -> Option<bool> {
        self.parent_sampled
    }
}

/// The decision for one transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    pub(crate) sampled: bool,
    /// The rate it was decided with.
    pub(crate) sample_rate: f64,
    /// `traces_sample_rate` or `traces_sampler` is set: an unsampled transaction is counted.
    pub(crate) tracing_enabled: bool,
}

/// Decides for a transaction in the trace `p`.
pub(crate) fn decide(
    client: Option<&Client>,
    ctx: &SamplingContext<'_>,
    p: &Propagation,
) -> Decision {
    let off = Decision {
        sampled: false,
        sample_rate: 0.0,
        tracing_enabled: false,
    };
    let Some(options) = client.map(Client::options).filter(|o| o.tracing_enabled()) else {
        return off;
    };
    let rate = if let Some(sampler) = &options.traces_sampler {
        // A panicking sampler samples nothing.
        crate::hooks::guarded(|| sampler(ctx)).unwrap_or(0.0)
    } else {
        match ctx.parent_sampled {
            Some(true) => 1.0,
            Some(false) => 0.0,
            // Set: tracing is enabled and there is no sampler.
            None => options.traces_sample_rate.unwrap_or(0.0),
        }
    };
    let rate = if rate.is_finite() {
        rate.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let rand = p
        .frozen_dsc
        .as_ref()
        .and_then(|dsc| dsc.get("sample_rand")?.parse::<f64>().ok())
        .filter(|r| (0.0..1.0).contains(r))
        .unwrap_or_else(|| sample_rand(p.trace_id));
    Decision {
        sampled: rand < rate,
        sample_rate: rate,
        tracing_enabled: true,
    }
}
