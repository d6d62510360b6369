//! Request-mode sessions: what the tower layer keeps per request.

// Request sessions come from the tower layer: without it, nothing here runs.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

use super::aggregate::Outcome;
use super::update::epoch_secs;
use super::EventHealth;
use crate::client::Client;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// One request's session: what the events captured in its context said. Shared by the
/// request's context and the contexts forked from it.
#[derive(Debug, Default)]
pub(crate) struct RequestSession {
    errors: AtomicU64,
    crashed: AtomicBool,
}

impl RequestSession {
    /// Counts an event captured in the request.
    pub(crate) fn record(&self, health: EventHealth) {
        match health {
            EventHealth::Fine => {}
            EventHealth::Errored => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            EventHealth::Crashed => self.crashed.store(true, Ordering::Relaxed),
        }
    }
}

/// Counts the request into the client's aggregates when the response is ready
/// ([`finish`](Self::finish)), or when the request is dropped unanswered.
#[derive(Debug)]
pub(crate) struct RequestSessionGuard {
    session: Arc<RequestSession>,
    client: Arc<Client>,
    started_secs: u64,
    /// Set once counted.
    done: bool,
}

impl RequestSessionGuard {
    /// A session for a request starting now; the session goes into the request's context.
    pub(crate) fn start(client: Arc<Client>) -> (RequestSessionGuard, Arc<RequestSession>) {
        let session = Arc::new(RequestSession::default());
        let guard = RequestSessionGuard {
            session: session.clone(),
            client,
            started_secs: epoch_secs(SystemTime::now()),
            done: false,
        };
        (guard, session)
    }

    /// Counts the request with the response's status (`None`: the service failed without
    /// a response).
    pub(crate) fn finish(mut self, status: Option<u16>) {
        self.count(status.is_none_or(|s| s >= 500));
    }

    fn count(&mut self, failed_response: bool) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let outcome = if self.session.crashed.load(Ordering::Relaxed) {
            Outcome::Crashed
        } else if failed_response || self.session.errors.load(Ordering::Relaxed) > 0 {
            Outcome::Errored
        } else {
            Outcome::Exited
        };
        if let Some(sessions) = self.client.sessions() {
            sessions.record_request(outcome, self.started_secs);
        }
    }
}

impl Drop for RequestSessionGuard {
    /// A request dropped before its response (the client went away) ends as its events say.
    fn drop(&mut self) {
        self.count(false);
    }
}
