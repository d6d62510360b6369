//! Spotlight (option `spotlight`, env `SENTRY_SPOTLIGHT`): a copy of every envelope for the
//! local development UI.
//!
//! Copies go through a small queue of their own to a thread of their own, so a missing or slow
//! sidecar never delays or fails the real send. Copies that do not fit the queue are dropped;
//! the first failure is logged at the configured level, later ones at debug level until a copy
//! gets through again.

use super::debug_log;
use super::http::{HttpClient, HttpRequest, UreqClient};
use crate::envelope::Envelope;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::Duration;

/// The default sidecar URL.
pub(crate) const DEFAULT_URL: &str = "http://localhost:8969/stream";
/// Copies waiting for the sidecar at most.
const QUEUE: usize = 64;

/// The sender side of the Spotlight thread. Dropping it ends the thread once its queue is empty.
#[derive(Debug)]
pub(crate) struct Spotlight {
    tx: SyncSender<Vec<u8>>,
    debug: bool,
}

impl Spotlight {
    /// Starts the thread that posts copies to `url`. `None` (logged) if it cannot start.
    /// `lower_priority`: run it below the calling thread's priority (option
    /// `lower_thread_priority`).
    pub(crate) fn start(
        url: &str,
        log_level: log::Level,
        debug: bool,
        lower_priority: bool,
    ) -> Option<Spotlight> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let shown = url.to_owned();
        let url = url.to_owned();
        let client = UreqClient::new(Duration::from_secs(2), Duration::from_millis(500), 2);
        let spawned = crate::thread_priority::spawn(
            "sentry-spotlight",
            lower_priority,
            move || {
                let headers = [("Content-Type", "application/x-sentry-envelope".to_owned())];
                let mut failing = false;
                for body in rx {
                    let request = HttpRequest {
                        url: &url,
                        headers: &headers,
                        body: &body,
                    };
                    let problem = match client.post(&request) {
                        Ok(resp) if (200..300).contains(&resp.status) => None,
                        Ok(resp) => Some(format!("it answered {}", resp.status)),
                        Err(e) => Some(super::error_chain(&e)),
                    };
                    match problem {
                        None => failing = false,
                        Some(p) => {
                            let level = if failing {
                                log::Level::Debug
                            } else {
                                log_level
                            };
                            log::log!(target: "watchpost", level, "could not send a copy to Spotlight at {url}: {p}");
                            failing = true;
                        }
                    }
                }
            },
        );
        match spawned {
            Ok(_) => {
                debug_log!(debug, "Spotlight: sending copies to {shown}");
                Some(Spotlight { tx, debug })
            }
            Err(e) => {
                log::log!(target: "watchpost", log_level, "could not start the Spotlight thread ({e}); Spotlight is off");
                None
            }
        }
    }

    /// Queues a copy of the envelope; never waits.
    pub(crate) fn copy(&self, envelope: &Envelope) {
        match self.tx.try_send(envelope.to_bytes()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                debug_log!(self.debug, "Spotlight queue full: copy dropped")
            }
            Err(TrySendError::Disconnected(_)) => {
                debug_log!(self.debug, "Spotlight thread gone: copy dropped")
            }
        }
    }
}
