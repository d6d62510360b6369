//! Release health: sessions, which fill Sentry's releases page (crash-free sessions and
//! users, adoption).
//!
//! With [`auto_session_tracking`](crate::ClientOptions::auto_session_tracking) on and a
//! release set, the client tracks sessions in one of two [`SessionMode`]s:
//!
//! - **Application** (the default; programs, jobs, CLIs): one session per run of the process,
//!   opened at [`init`](crate::init) and closed when the [`ClientGuard`](crate::ClientGuard)
//!   is dropped. Every error event counts against it; an unhandled one (a panic) marks it
//!   `crashed`. With [`cache_dir`](crate::ClientOptions::cache_dir) set, a run that never
//!   closed its session (killed, aborted, or ended by `std::process::exit` before the guard
//!   was dropped) is reported `abnormal` by the next run.
//! - **Request** (services): every request through the [`tower`](crate::tower) layer is a
//!   session, counted into per-minute aggregates (`sessions` items) that are sent every 60 s
//!   and at flush and shutdown; memory stays bounded whatever the request rate.
//!
//! What counts as an error: an event with an exception, or of level error or fatal, counted
//! when it is captured: after [`filter`](crate::ClientOptions::filter) and `sample_rate`, before
//! `before_send` (which runs later, on the worker, possibly after the request has ended); use
//! `filter` to keep an event out of release health. A session that saw errors ends `exited`
//! with its `errors` count, which Sentry shows as errored (as the Python SDK reports it); a
//! request session also counts as errored when the response was a 5xx.

mod aggregate;
mod application;
mod request;
mod update;

use crate::envelope::{Envelope, EnvelopeItem};
use crate::event::Event;
use crate::options::ClientOptions;
use crate::Level;
use aggregate::Aggregates;
use application::AppSession;
pub(crate) use request::RequestSession;
#[cfg(feature = "tower")]
pub(crate) use request::RequestSessionGuard;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How sessions are tracked (option [`session_mode`](crate::ClientOptions::session_mode)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionMode {
    /// One session per run of the process. The default.
    #[default]
    Application,
    /// One session per request through the tower layer (feature `tower`), sent as per-minute
    /// aggregates. Requests are counted only where the layer runs.
    Request,
}

/// How often request-mode aggregates are sent (as the peers do).
const AGGREGATE_EVERY: Duration = Duration::from_secs(60);

/// What an event means for the session it happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EventHealth {
    /// Not an error.
    Fine,
    /// A handled error.
    Errored,
    /// An unhandled error (a panic).
    Crashed,
}

impl EventHealth {
    /// Reads the event: an exception or level error/fatal is an error; an exception whose
    /// mechanism says `handled: false` a crash.
    pub(crate) fn of(event: &Event) -> EventHealth {
        let values = &event.exception.values;
        if values
            .iter()
            .any(|e| e.mechanism.as_ref().and_then(|m| m.handled) == Some(false))
        {
            EventHealth::Crashed
        } else if !values.is_empty() || event.level >= Level::Error {
            EventHealth::Errored
        } else {
            EventHealth::Fine
        }
    }
}

/// The distinct id of the user an event names (id, else email, else username), as the peers
/// pick it.
pub(crate) fn distinct_id(event: &Event) -> Option<String> {
    let user = event.user.as_ref()?;
    user.id
        .clone()
        .or_else(|| user.email.clone())
        .or_else(|| user.username.clone())
}

/// The client's session tracking: the application session or the request aggregates.
#[derive(Debug)]
pub(crate) struct Sessions {
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    mode: SessionMode,
    release: String,
    environment: String,
    /// The run's session (application mode).
    app: Option<AppSession>,
    /// Updates waiting to be sent: the opening one, abnormal ends of earlier runs.
    pending: Mutex<Vec<serde_json::Value>>,
    aggregates: Mutex<Aggregates>,
    last_aggregate: Mutex<Instant>,
}

impl Sessions {
    /// The tracking `options` ask for; `None` when off. Without a release Sentry cannot use
    /// sessions: tracking stays off and a warning is logged.
    pub(crate) fn start(options: &ClientOptions) -> Option<Sessions> {
        if !options.auto_session_tracking {
            return None;
        }
        let Some(release) = options.release.clone().filter(|r| !r.is_empty()) else {
            log::log!(target: "watchpost", options.log_level, "auto_session_tracking is on but no release is set; Sentry needs a release for sessions, so none are sent");
            return None;
        };
        let environment = options.environment_name().to_owned();
        let mut pending = Vec::new();
        let app = match options.session_mode {
            SessionMode::Application => {
                let marker_dir = options.cache_dir.as_ref().map(|d| d.join("sessions"));
                if let Some(dir) = &marker_dir {
                    pending.extend(application::abnormal_ends(dir, options.log_level));
                }
                let app = AppSession::open(&release, &environment, marker_dir, options.log_level);
                pending.push(app.opening_update());
                Some(app)
            }
            SessionMode::Request => None,
        };
        Some(Sessions {
            mode: options.session_mode,
            release,
            environment,
            app,
            pending: Mutex::new(pending),
            aggregates: Mutex::new(Aggregates::default()),
            last_aggregate: Mutex::new(Instant::now()),
        })
    }

    /// The mode sessions are tracked in.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn mode(&self) -> SessionMode {
        self.mode
    }

    /// Counts an event that was sent or queued outside any request session; returns the
    /// update to send now when the application session changed (its first error, a crash).
    pub(crate) fn record_event(
        &self,
        health: EventHealth,
        did: Option<String>,
    ) -> Option<Envelope> {
        let update = self.app.as_ref()?.record(health, did)?;
        envelope_of(vec![update])
    }

    /// Counts a finished request session into the aggregates.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    fn record_request(&self, outcome: aggregate::Outcome, started_secs: u64) {
        lock(&self.aggregates).add(started_secs, outcome);
    }

    /// The envelope of what is waiting: updates always; aggregates when 60 s have passed since
    /// the last ones, or (`all`) now.
    pub(crate) fn take_due(&self, all: bool) -> Option<Envelope> {
        let updates = std::mem::take(&mut *lock(&self.pending));
        if let Some(app) = &self.app {
            // A crashed run's marker goes once its update is on its way.
            app.forget_marker_if_ended();
        }
        let aggregates = {
            let mut last = lock(&self.last_aggregate);
            if all || last.elapsed() >= AGGREGATE_EVERY {
                *last = Instant::now();
                lock(&self.aggregates).take()
            } else {
                Vec::new()
            }
        };
        let mut envelope = envelope_of(updates).unwrap_or_else(new_envelope);
        if !aggregates.is_empty() {
            let payload = serde_json::json!({
                "attrs": { "release": self.release, "environment": self.environment },
                "aggregates": aggregates,
            });
            match EnvelopeItem::json("sessions", &payload) {
                Ok(item) => envelope.add_item(item),
                Err(_) => return None,
            }
        }
        (!envelope.items().is_empty()).then_some(envelope)
    }

    /// Closes the application session (`exited`, unless it crashed) at shutdown: its last
    /// update joins what is waiting.
    pub(crate) fn close(&self) {
        if let Some(update) = self.app.as_ref().and_then(AppSession::close) {
            lock(&self.pending).push(update);
        }
    }
}

fn new_envelope() -> Envelope {
    Envelope::from_sdk(None)
}

/// An envelope of `session` items, one per update; `None` when there are none.
fn envelope_of(updates: Vec<serde_json::Value>) -> Option<Envelope> {
    if updates.is_empty() {
        return None;
    }
    let mut envelope = new_envelope();
    for update in updates {
        if let Ok(item) = EnvelopeItem::json("session", &update) {
            envelope.add_item(item);
        }
    }
    Some(envelope)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
