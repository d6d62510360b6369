//! Request-mode sessions, counted per minute of their start (the `sessions` item's
//! `aggregates`).

// Request sessions come from the tower layer: without it, nothing here runs.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a request session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No error.
    Exited,
    /// An error event, or a 5xx response.
    Errored,
    /// The handler panicked.
    Crashed,
}

/// The most minutes kept between two sends; a request starting in a newer minute once this
/// many are held counts into the newest one, so memory stays bounded even if sending stalls.
const MAX_MINUTES: usize = 60;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    exited: u64,
    errored: u64,
    crashed: u64,
}

/// Counts by the minute requests started in.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    minutes: BTreeMap<u64, Counts>,
}

impl Aggregates {
    /// Counts one request session that started `started_secs` after the epoch.
    pub(crate) fn add(&mut self, started_secs: u64, outcome: Outcome) {
        let mut minute = started_secs - started_secs % 60;
        if !self.minutes.contains_key(&minute) && self.minutes.len() >= MAX_MINUTES {
            if let Some(newest) = self.minutes.keys().next_back() {
                minute = *newest;
            }
        }
        let counts = self.minutes.entry(minute).or_default();
        match outcome {
            Outcome::Exited => counts.exited += 1,
            Outcome::Errored => counts.errored += 1,
            Outcome::Crashed => counts.crashed += 1,
        }
    }

    /// The aggregates counted so far, oldest minute first (zero counts left out, as the peers
    /// do), and a fresh start.
    pub(crate) fn take(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.minutes)
            .into_iter()
            .map(|(minute, c)| {
                let mut entry = Map::new();
                entry.insert("started".into(), crate::time::rfc3339(minute, 0).into());
                for (key, n) in [
                    ("exited", c.exited),
                    ("errored", c.errored),
                    ("crashed", c.crashed),
                ] {
                    if n > 0 {
                        entry.insert(key.into(), n.into());
                    }
                }
                Value::Object(entry)
            })
            .collect()
    }

    /// Minutes held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.minutes.len()
    }
}
