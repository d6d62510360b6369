//! The client's side of structured logs (see [`crate::logs`]): a captured log takes the
//! context's trace and user and goes into the buffer; the worker makes the buffered logs
//! envelopes, adding the client's attributes and running `before_send_log`.

use super::queued::QueuedEvent;
use super::{Client, Core};
use crate::context::Context;
use crate::envelope::Envelope;
use crate::hooks::{guarded, inside_sdk};
use crate::logs::{envelope, record_log_drop, Log, LogValue, Pushed, BATCH_SIZE, MAX_LOG_BYTES};
use crate::transport::{DropReason, Worker};
use std::sync::atomic::{AtomicBool, Ordering};

impl Client {
    /// Buffers a log with the trace (and, with `send_default_pii`, the user) of `ctx`; a due
    /// batch is handed to the worker, or sent here in sync mode. False when not buffered.
    pub(crate) fn capture_log(&self, mut log: Log, ctx: &Context) -> bool {
        let core = &self.core;
        let o = &core.options;
        if !self.takes_logs() {
            return false;
        }
        if inside_sdk() {
            // A log from a callback or an SDK thread would feed the worker that made it.
            record_log_drop(
                &core.stats,
                DropReason::EventProcessor,
                log.estimated_bytes(),
            );
            return false;
        }
        let scope = ctx.scope();
        if log.trace_id.is_none() {
            log.trace_id = Some(scope.propagation.trace_id);
            // Only a running transaction makes the context's span a real one.
            if log.span_id.is_none() && scope.running.is_some() {
                log.span_id = Some(scope.propagation.span_id);
            }
        }
        if o.send_default_pii {
            if let Some(user) = &scope.user {
                let fields = [
                    ("user.id", &user.id),
                    ("user.name", &user.username),
                    ("user.email", &user.email),
                    ("user.ip_address", &user.ip_address),
                ];
                for (key, value) in fields {
                    if let Some(value) = value {
                        log.default_attribute(key, value.as_str());
                    }
                }
            }
        }
        drop(scope);
        log.bound();
        let bytes = log.estimated_bytes();
        if bytes > MAX_LOG_BYTES {
            record_log_drop(&core.stats, DropReason::SendError, bytes);
            return false;
        }
        match core.logs.push(log) {
            Pushed::Full { bytes } => {
                record_log_drop(&core.stats, DropReason::QueueOverflow, bytes);
                false
            }
            Pushed::Buffered { due } => {
                if due {
                    self.send_due_logs();
                }
                true
            }
        }
    }

    /// A batch is due: the worker is asked once to send it, or (sync mode) it is sent here.
    fn send_due_logs(&self) {
        match self.background_worker() {
            Some(worker) => {
                if self.core.logs.claim_nudge() && !self.queue_send_buffered(worker, false) {
                    self.core.logs.release_nudge();
                }
            }
            None => {
                for envelope in self.core.take_buffered(false) {
                    // Failures are counted and logged by the transport.
                    let _ = self.core.transport.send(envelope);
                }
            }
        }
    }

    /// Queues a send of what the client buffers; false when the queue has no room for it (a
    /// queued event is never evicted for it).
    pub(super) fn queue_send_buffered(&self, worker: &Worker<QueuedEvent>, all: bool) -> bool {
        worker
            .submit_if_room(QueuedEvent::SendBuffered(all))
            .is_ok()
    }

    /// Logs are on, and the environment is one that sends.
    pub(crate) fn takes_logs(&self) -> bool {
        let o = &self.core.options;
        o.enable_logs && o.environment_included()
    }

    /// Logs are buffered.
    pub(super) fn has_buffered_logs(&self) -> bool {
        self.core.logs.len() > 0
    }
}

impl Core {
    /// Runs a queued [`QueuedEvent::SendBuffered`] on the worker.
    pub(super) fn send_buffered_here(&self, all: bool) {
        self.logs.release_nudge();
        for envelope in self.take_buffered(all) {
            // Failures are counted and logged by the transport.
            let _ = self.transport.send(envelope);
        }
    }

    /// Counts the logs still buffered once shutdown is over (`network_error`: not delivered in
    /// time, as the worker counts what it leaves queued) and lets them go; returns how many.
    pub(super) fn drop_buffered_logs(&self) -> usize {
        let left = self.logs.take();
        for log in &left {
            record_log_drop(&self.stats, DropReason::NetworkError, log.estimated_bytes());
        }
        left.len()
    }

    /// Envelopes of every buffered log, finished: batches of at most [`BATCH_SIZE`], one per
    /// envelope. A batch's JSON is serialized before the next is made, so only one batch is
    /// held twice at a time.
    pub(super) fn log_envelopes(&self) -> Vec<Envelope> {
        if self.logs.len() == 0 {
            return Vec::new();
        }
        let logs = self.logs.take();
        let mut out = Vec::with_capacity(logs.len().div_ceil(BATCH_SIZE));
        let mut batch = Vec::with_capacity(BATCH_SIZE.min(logs.len()));
        for log in logs {
            if let Some(log) = self.finish_log(log) {
                batch.push(log.to_json());
            }
            if batch.len() == BATCH_SIZE {
                out.extend(envelope(std::mem::take(&mut batch), &self.stats));
            }
        }
        if !batch.is_empty() {
            out.extend(envelope(batch, &self.stats));
        }
        out
    }

    /// Adds the client's attributes (those not set) and runs `before_send_log`; `None` (counted)
    /// when the hook drops the log or panics.
    fn finish_log(&self, mut log: Log) -> Option<Log> {
        let o = &self.options;
        log.materialize();
        log.default_attribute("sentry.sdk.name", crate::SDK_NAME);
        log.default_attribute("sentry.sdk.version", crate::SDK_VERSION);
        log.default_attribute("sentry.environment", o.environment_name());
        if let Some(release) = &o.release {
            log.default_attribute("sentry.release", LogValue::from(release));
        }
        if let Some(server) = &self.defaults.server_name {
            log.default_attribute("server.address", LogValue::from(server));
        }
        let Some(hook) = &o.before_send_log else {
            return Some(log);
        };
        let bytes = log.estimated_bytes();
        match guarded(|| hook.before_send_log(log)) {
            Some(Some(mut log)) => {
                log.bound();
                let bytes = log.estimated_bytes();
                if bytes > MAX_LOG_BYTES {
                    record_log_drop(&self.stats, DropReason::SendError, bytes);
                    return None;
                }
                Some(log)
            }
            Some(None) => {
                record_log_drop(&self.stats, DropReason::BeforeSend, bytes);
                None
            }
            None => {
                static LOGGED: AtomicBool = AtomicBool::new(false);
                if !LOGGED.swap(true, Ordering::Relaxed) {
                    log::log!(target: "watchpost", o.log_level, "the Sentry `before_send_log` callback panicked; the log was dropped (logged once)");
                }
                record_log_drop(&self.stats, DropReason::BeforeSend, bytes);
                None
            }
        }
    }
}
