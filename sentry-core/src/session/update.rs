//! The `session` item: one update of one session, in the shape Sentry ingests.

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// A session's status on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Running.
    Ok,
    /// Ended normally.
    Exited,
    /// Ended by an unhandled error.
    Crashed,
    /// Ended without closing (the process was killed).
    Abnormal,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Exited => "exited",
            Status::Crashed => "crashed",
            Status::Abnormal => "abnormal",
        }
    }
}

/// One update of a session.
#[derive(Debug)]
pub(crate) struct Update<'a> {
    pub(crate) sid: Uuid,
    /// The user's distinct id, when known.
    pub(crate) did: Option<&'a str>,
    /// True on the session's first update: Sentry counts the session as started.
    pub(crate) init: bool,
    pub(crate) started: SystemTime,
    pub(crate) status: Status,
    pub(crate) errors: u64,
    /// Seconds the session lasted (a final update).
    pub(crate) duration: Option<f64>,
    pub(crate) release: &'a str,
    pub(crate) environment: &'a str,
}

impl Update<'_> {
    /// The payload of the `session` item.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "sid": self.sid.hyphenated().to_string(),
            "init": self.init,
            "started": timestamp(self.started),
            "timestamp": timestamp(SystemTime::now()),
            "status": self.status.as_str(),
            "attrs": { "release": self.release, "environment": self.environment },
        });
        if self.errors > 0 {
            v["errors"] = self.errors.into();
        }
        if let Some(did) = self.did {
            v["did"] = did.into();
        }
        if let Some(duration) = self.duration.filter(|d| d.is_finite() && *d >= 0.0) {
            v["duration"] = duration.into();
        }
        v
    }
}

/// RFC 3339 with microseconds, as the peers write session times.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::time::rfc3339(d.as_secs(), d.subsec_micros())
}

/// Seconds since the epoch.
pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}
