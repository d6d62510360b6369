//! The client: turns captured events into envelopes and hands them to the transport, inline
//! (`SendResult::Sync`) or through the bounded background worker.
//!
//! In background mode an event that does not fit the full queue goes, when the offline cache is
//! on, to a second thread (the spill writer) that finishes it and writes it to disk, so a burst
//! is kept instead of dropped without the caller waiting on the disk.

mod defaults;
mod global;
mod logs;
mod queued;
mod transaction;

use defaults::Defaults;
pub(crate) use global::{build_client, global};
pub use global::{flush, init, stats, ClientGuard};

use queued::{QueuedEvent, Ready, COMPACT_AFTER};

use crate::context::{Context, EventSource};
use crate::envelope::{Envelope, EnvelopeItem};
use crate::error::SendError;
use crate::event::{AttachmentProblem, Event};
use crate::hooks::guarded;
use crate::logs::LogBuffer;
use crate::options::{ClientOptions, QueueOverflowPolicy, SendResult};
use crate::session::{distinct_id, EventHealth, Sessions};
use crate::source_rules::SourceRules;
use crate::stacktrace::{annotate_symbolized, RawStacktrace, ResolveConfig};
use crate::trace::{own_dsc, Dsc, DscSource, TraceId};
use crate::transport::{DropReason, Job, Stats, Transport, TransportStats, Worker, WorkerConfig};
use crate::CaptureOutcome;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// An event on its way out, with the parts that are finished off the caller's thread.
#[derive(Debug)]
pub(crate) struct PendingEvent {
    pub(crate) event: Event,
    /// Raw frames for the last exception, resolved by the worker.
    pub(crate) stack: Option<RawStacktrace>,
    /// The dynamic sampling context a caller sent, passed on in the envelope unchanged.
    pub(crate) dsc: Option<Arc<Dsc>>,
}

/// Everything the capture path and the worker share.
pub(crate) struct Core {
    pub(crate) options: ClientOptions,
    /// The DSN's public key, for dynamic sampling contexts.
    public_key: String,
    transport: Arc<dyn Transport>,
    defaults: Defaults,
    source_rules: SourceRules,
    pub(crate) stats: Arc<Stats>,
    /// Release health, when tracked.
    sessions: Option<Sessions>,
    /// Structured logs waiting to be sent (see [`crate::logs`]).
    logs: LogBuffer,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A configured client. One is installed globally by [`init`]; the testing kit makes others.
#[derive(Debug)]
pub(crate) struct Client {
    core: Arc<Core>,
    /// Sends queued events (background mode) and runs the transport's upkeep.
    worker: Option<Worker<QueuedEvent>>,
    /// Writes events that do not fit the full queue to the offline cache (background mode with
    /// `cache_dir`).
    spill: Option<Worker<QueuedEvent>>,
}

impl Client {
    /// The dynamic sampling context of a trace this SDK started in a context of this client.
    pub(crate) fn own_dsc(&self, trace_id: TraceId, sampled: Option<bool>) -> Dsc {
        self.core.own_dsc(trace_id, sampled)
    }

    /// Builds a client from validated options and a transport.
    pub(crate) fn with_transport(
        options: ClientOptions,
        transport: Arc<dyn Transport>,
        stats: Arc<Stats>,
    ) -> Client {
        let defaults = Defaults::collect(&options);
        let sessions = Sessions::start(&options);
        let source_rules = SourceRules::new(&options);
        let public_key = options
            .dsn
            .as_deref()
            .and_then(|d| d.parse::<crate::Dsn>().ok())
            .map(|d| d.public_key().to_owned())
            .unwrap_or_default();
        let core = Arc::new(Core {
            options,
            public_key,
            transport,
            defaults,
            source_rules,
            stats,
            sessions,
            logs: LogBuffer::default(),
        });
        // In sync mode events are sent inline; a worker runs only for the transport's upkeep
        // (resending the offline cache).
        let needs_worker =
            core.options.send_result == SendResult::Background || core.transport.needs_upkeep();
        let worker = needs_worker.then(|| Self::spawn_worker(&core)).flatten();
        let spill = (worker.is_some()
            && core.options.send_result == SendResult::Background
            && core.transport.can_store())
        .then(|| Self::spawn_spill(&core))
        .flatten();
        let client = Client {
            core,
            worker,
            spill,
        };
        // The session opened now (and the abnormal ends of earlier runs) go out before any
        // update of it.
        if let Some(envelope) = client.sessions().and_then(|s| s.take_due(false)) {
            // Counted by the queue or the transport when it cannot go.
            let _ = client.send_envelope(Uuid::new_v4(), envelope);
        }
        client
    }

    fn spawn_worker(core: &Arc<Core>) -> Option<Worker<QueuedEvent>> {
        let o = &core.options;
        let mut config = WorkerConfig {
            capacity: o.queue_capacity,
            max_bytes: o.queue_max_bytes,
            policy: o.queue_overflow_policy,
            debug: o.debug,
            sends: true,
            after_upkeep: None,
            lower_priority: o.lower_thread_priority,
            nap_for: crate::transport::STAY_NAPPING,
        };
        let housekeeping_core = Arc::downgrade(core);
        config.after_upkeep = Some(Arc::new(move || {
            if let Some(core) = housekeeping_core.upgrade() {
                core.housekeeping();
            }
        }));
        let worker_core = core.clone();
        let run = move |q: QueuedEvent| match worker_core.unqueue(q) {
            Ok(Ready::Event(pending)) => {
                worker_core.finish_and_send(pending);
            }
            Ok(Ready::SendBuffered(all)) => worker_core.send_buffered_here(all),
            // Failures are counted and logged by the transport (and by `unqueue`).
            Ok(Ready::Envelope(envelope)) => {
                let _ = worker_core.transport.send(envelope);
            }
            Ok(Ready::Transaction(tx)) => {
                if let Some(envelope) = worker_core.transaction_envelope(*tx) {
                    let _ = worker_core.transport.send(envelope);
                }
            }
            Err(_) => {}
        };
        Self::spawn_thread(core, "sentry-transport", config, run)
    }

    /// The spill writer: its queue is as long as the main one, and it only writes to disk.
    fn spawn_spill(core: &Arc<Core>) -> Option<Worker<QueuedEvent>> {
        let o = &core.options;
        let config = WorkerConfig {
            capacity: o.queue_capacity,
            max_bytes: o.queue_max_bytes,
            policy: QueueOverflowPolicy::DropNewest,
            debug: o.debug,
            sends: false,
            after_upkeep: None,
            lower_priority: o.lower_thread_priority,
            nap_for: crate::transport::STAY_NAPPING,
        };
        let spill_core = core.clone();
        let run = move |q: QueuedEvent| {
            spill_core.store_now(q);
        };
        Self::spawn_thread(core, "sentry-spill", config, run)
    }

    fn spawn_thread(
        core: &Arc<Core>,
        name: &str,
        config: WorkerConfig,
        run: impl Fn(QueuedEvent) + Send + Sync + 'static,
    ) -> Option<Worker<QueuedEvent>> {
        match Worker::spawn(
            name,
            config,
            core.transport.clone(),
            core.stats.clone(),
            run,
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                log::log!(target: "watchpost", core.options.log_level, "could not start the Sentry thread {name} ({e}); working without it");
                None
            }
        }
    }

    pub(crate) fn options(&self) -> &ClientOptions {
        &self.core.options
    }

    /// Release health, when tracked.
    pub(crate) fn sessions(&self) -> Option<&Sessions> {
        self.core.sessions.as_ref()
    }

    pub(crate) fn stats(&self) -> TransportStats {
        self.core.stats.snapshot()
    }

    /// Sends what the client buffers rather than queues one by one, due or not: queued for
    /// the worker in background mode, sent here in sync mode. With logs buffered, the worker
    /// is asked to build and send it all (so `before_send_log` runs there), when its queue has
    /// room for the request. Before a flush and at shutdown.
    fn send_buffered(&self) {
        if let Some(worker) = self.background_worker() {
            if self.has_buffered_logs() && self.queue_send_buffered(worker, true) {
                return;
            }
        }
        for envelope in self.core.take_buffered(true) {
            // Failures are counted by the queue or the transport.
            let _ = self.send_envelope(Uuid::new_v4(), envelope);
        }
    }

    /// Waits until the events captured so far are delivered (or dropped and counted), and the
    /// offline cache, when there is one, is empty; at most `timeout`. False when anything is
    /// still queued or cached at the deadline.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.send_buffered();
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        // The spill writer first: what it writes, the worker's upkeep then resends.
        let spilled = self.spill.as_ref().is_none_or(|s| s.flush(left()));
        let sent = self.worker.as_ref().is_none_or(|w| w.flush(left()));
        let cache_empty = || self.core.stats.cached.load(Ordering::Relaxed) == 0;
        let uncached = match &self.worker {
            Some(w) if self.core.transport.can_store() => w.wait_for(deadline, cache_empty),
            _ => cache_empty(),
        };
        spilled && sent && uncached
    }

    /// Runs the capture pipeline for one event.
    pub(crate) fn capture(
        &self,
        mut event: Event,
        stack: Option<RawStacktrace>,
        ctx: &Context,
        source: EventSource,
    ) -> CaptureOutcome {
        let core = &self.core;
        let opts = &core.options;
        if crate::hooks::inside_sdk() {
            // Bounded first, so that dropping it never recurses into deep user data.
            crate::normalize::bound_event(&mut event);
            return core.refuse_reentrant();
        }
        let scope = ctx.scope();
        scope.apply_to(&mut event, opts.max_breadcrumbs);
        let dsc = scope.propagation.frozen_dsc.clone();
        drop(scope);
        crate::normalize::bound_event(&mut event);
        core.apply_defaults(&mut event);

        if !opts.environment_included() {
            return CaptureOutcome::Excluded {
                environment: opts.environment_name().to_owned(),
            };
        }
        if let Some(filter) = &opts.filter {
            match guarded(|| filter.exclude(&event, source)) {
                Some(false) => {}
                Some(true) => {
                    core.stats
                        .record_drop(DropReason::EventProcessor, "error", 1);
                    return CaptureOutcome::Filtered;
                }
                None => {
                    core.hook_failed("filter");
                    core.stats
                        .record_drop(DropReason::EventProcessor, "error", 1);
                    return CaptureOutcome::Filtered;
                }
            }
        }
        if opts.sample_rate < 1.0 && crate::time::jitter() >= opts.sample_rate {
            core.stats.record_drop(DropReason::SampleRate, "error", 1);
            return CaptureOutcome::SampledOut;
        }

        let event_id = event.event_id;
        let health = match &core.sessions {
            Some(_) => EventHealth::of(&event),
            None => EventHealth::Fine,
        };
        let did = (health != EventHealth::Fine)
            .then(|| distinct_id(&event))
            .flatten();
        let pending = PendingEvent { event, stack, dsc };
        let outcome = match self.background_worker() {
            Some(worker) => {
                let behind = core.stats.queue_depth.load(Ordering::Relaxed) >= COMPACT_AFTER;
                self.enqueue(worker, QueuedEvent::new(pending, behind))
            }
            None => core.finish_and_send(pending),
        };
        if matches!(
            outcome,
            CaptureOutcome::Sent { .. } | CaptureOutcome::Queued { .. }
        ) {
            ctx.set_last_event(event_id, source);
            if health != EventHealth::Fine {
                self.record_session_event(ctx, health, did);
            }
        }
        outcome
    }

    /// Counts an error event against its session: the request's, when it was captured in one,
    /// else the application's (whose update, when due, is sent now).
    fn record_session_event(&self, ctx: &Context, health: EventHealth, did: Option<String>) {
        if let Some(request) = ctx.request_session() {
            request.record(health);
        } else if let Some(update) = self.sessions().and_then(|s| s.record_event(health, did)) {
            // Counted by the queue or the transport when it cannot go.
            let _ = self.send_envelope(Uuid::new_v4(), update);
        }
    }

    /// Sends an envelope that is not an event (user feedback) the way events go: queued for the
    /// worker in background mode (`Ok` once queued; a full queue spills it to the offline cache
    /// or drops and counts it), sent on this thread in sync mode.
    pub(crate) fn send_envelope(
        &self,
        event_id: Uuid,
        envelope: Envelope,
    ) -> Result<(), SendError> {
        let Some(worker) = self.background_worker() else {
            return self.core.transport.send(envelope).map(|_| ());
        };
        match self.enqueue(
            worker,
            QueuedEvent::Envelope(Box::new((event_id, envelope))),
        ) {
            CaptureOutcome::Queued { .. } => Ok(()),
            _ => Err(SendError::QueueFull),
        }
    }

    /// The worker, when events go through it (background mode).
    fn background_worker(&self) -> Option<&Worker<QueuedEvent>> {
        self.worker
            .as_ref()
            .filter(|_| self.core.options.send_result == SendResult::Background)
    }

    /// Queues a job. When the queue is full, this job or the oldest queued one (per the overflow
    /// policy) goes to [`overflow`](Self::overflow); the outcome is this job's.
    fn enqueue(&self, worker: &Worker<QueuedEvent>, job: QueuedEvent) -> CaptureOutcome {
        let event_id = job.event_id();
        match worker.submit(job) {
            Ok(()) => CaptureOutcome::Queued { event_id },
            Err(rejected) if rejected.event_id() == event_id => self.overflow(rejected),
            Err(oldest) => {
                self.overflow(oldest);
                CaptureOutcome::Queued { event_id }
            }
        }
    }

    /// An event that does not fit the full queue: handed to the spill writer when there is
    /// one, else (or when the spill writer's queue is full too) dropped as `queue_overflow`.
    /// Never written here: the capturing thread does no disk I/O, symbol resolution or user
    /// callback.
    fn overflow(&self, mut queued: QueuedEvent) -> CaptureOutcome {
        let event_id = queued.event_id();
        if let Some(spill) = &self.spill {
            match spill.submit(queued) {
                Ok(()) => return CaptureOutcome::Queued { event_id },
                Err(back) => queued = back,
            }
        }
        queued.record_drop(&self.core.stats, DropReason::QueueOverflow);
        CaptureOutcome::QueueFull { event_id }
    }

    /// Drains the spill writer, then the worker, within `shutdown_timeout` in all; what is left
    /// is counted and reported in a last client report (see [`Worker::shutdown`]).
    pub(crate) fn shutdown(&self) -> bool {
        if let Some(sessions) = self.sessions() {
            sessions.close();
        }
        self.send_buffered();
        let deadline = Instant::now() + self.core.options.shutdown_timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let spilled = self.spill.as_ref().is_none_or(|s| s.shutdown(left()));
        let sent = self.worker.as_ref().is_none_or(|w| w.shutdown(left()));
        let logs_sent = self.core.drop_buffered_logs() == 0;
        spilled && sent && logs_sent
    }
}

impl Core {
    /// The sending worker's housekeeping, after each upkeep (at least every 5 s): debug info
    /// not used for a while is released, and buffered items that are due are sent.
    fn housekeeping(&self) {
        crate::stacktrace::release_if_idle(crate::stacktrace::RELEASE_AFTER);
        for envelope in self.take_buffered(false) {
            // Failures are counted and logged by the transport.
            let _ = self.transport.send(envelope);
        }
    }

    /// Envelopes of the items the client buffers rather than queues one by one: those that are
    /// due, or (`all`) everything buffered.
    fn take_buffered(&self, all: bool) -> Vec<Envelope> {
        let mut envelopes = self.log_envelopes();
        envelopes.extend(self.sessions.as_ref().and_then(|s| s.take_due(all)));
        envelopes
    }

    fn apply_defaults(&self, event: &mut Event) {
        let o = &self.options;
        let d = &self.defaults;
        if event.environment.is_none() {
            event.environment = Some(o.environment_name().to_owned());
        }
        if event.release.is_none() {
            event.release.clone_from(&o.release);
        }
        if event.server_name.is_none() {
            event.server_name.clone_from(&d.server_name);
        }
        for (k, v) in &o.tags {
            event.tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    /// The bulky defaults (contexts, SDK info, modules), added by [`finish`](Self::finish) off
    /// the caller's thread so a queued event stays small.
    fn apply_bulky_defaults(&self, event: &mut Event) {
        let d = &self.defaults;
        for (k, v) in &d.contexts.0 {
            event
                .contexts
                .0
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if event.sdk.is_none() {
            event.sdk = Some(d.sdk.clone());
        }
        if event.modules.is_empty() && !d.modules.is_empty() {
            event.modules.clone_from(&d.modules);
        }
    }

    /// A capture from inside the SDK (a callback, or an SDK thread): counted, logged once per
    /// process, never fed back.
    fn refuse_reentrant(&self) -> CaptureOutcome {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        self.stats
            .record_drop(DropReason::EventProcessor, "error", 1);
        if !LOGGED.swap(true, Ordering::Relaxed) {
            log::log!(target: "watchpost", self.options.log_level, "an event was captured inside a Sentry callback or on a Sentry thread; it was dropped (such events would loop)");
        }
        CaptureOutcome::Reentrant
    }

    fn hook_failed(&self, hook: &str) {
        log::log!(target: "watchpost", self.options.log_level, "the Sentry `{hook}` callback panicked; the event was dropped");
    }

    /// A queued job made ready; the error (counted) if an event's JSON does not read back.
    fn unqueue(&self, queued: QueuedEvent) -> Result<Ready, serde_json::Error> {
        queued.into_ready().inspect_err(|e| {
            self.stats
                .record_drop(DropReason::InternalSdkError, "error", 1);
            log::log!(target: "watchpost", self.options.log_level, "a queued Sentry event could not be read back ({e}); it was dropped");
        })
    }

    /// Finishes an event and writes it to the offline cache without sending it (the worker's
    /// upkeep resends it). Dropped as `queue_overflow` when it cannot be written.
    fn store_now(&self, queued: QueuedEvent) -> CaptureOutcome {
        let event_id = queued.event_id();
        let category = queued.category();
        let envelope = match self.unqueue(queued) {
            Ok(Ready::Event(pending)) => match self.finish_with_dsc(pending) {
                Ok((event, dsc)) => self.event_envelope(&event, dsc).ok(),
                Err(dropped) => return dropped,
            },
            Ok(Ready::Envelope(envelope)) => Some(envelope),
            Ok(Ready::Transaction(tx)) => self.transaction_envelope(*tx),
            // Only the sending worker is asked to send buffered items.
            Ok(Ready::SendBuffered(_)) => return CaptureOutcome::Queued { event_id },
            Err(e) => {
                return CaptureOutcome::Failed {
                    event_id,
                    error: SendError::serialize(e),
                }
            }
        };
        match envelope.map(|e| self.transport.store(e)) {
            Some(Ok(())) => return CaptureOutcome::Queued { event_id },
            Some(Err(envelope)) => self
                .stats
                .record_envelope_drop(&envelope, DropReason::QueueOverflow),
            None => self
                .stats
                .record_drop(DropReason::QueueOverflow, category, 1),
        }
        CaptureOutcome::QueueFull { event_id }
    }

    /// Resolves the stack, runs `before_send`, sends, runs `after_send`. On the worker in
    /// background mode, on the caller in sync mode.
    pub(crate) fn finish_and_send(&self, pending: PendingEvent) -> CaptureOutcome {
        let (event, dsc) = match self.finish_with_dsc(pending) {
            Ok(finished) => finished,
            Err(dropped) => return dropped,
        };
        let event_id = event.event_id;
        let outcome = match self.event_envelope(&event, dsc) {
            Ok(envelope) => match self.transport.send(envelope) {
                Ok(sent) => CaptureOutcome::Sent {
                    event_id,
                    server_id: sent.server_id,
                },
                Err(error) => CaptureOutcome::Failed { event_id, error },
            },
            Err(e) => {
                self.stats
                    .record_drop(DropReason::InternalSdkError, "error", 1);
                CaptureOutcome::Failed {
                    event_id,
                    error: SendError::serialize(e),
                }
            }
        };
        if let Some(hook) = &self.options.after_send {
            if guarded(|| hook.after_send(&event, &outcome)).is_none() {
                self.hook_failed("after_send");
            }
        }
        outcome
    }

    /// Resolves the stack and runs `before_send`; the outcome instead when the event is dropped.
    /// [`finish`](Self::finish), keeping the caller's dynamic sampling context for the envelope.
    fn finish_with_dsc(
        &self,
        mut pending: PendingEvent,
    ) -> Result<(Event, Option<Arc<Dsc>>), CaptureOutcome> {
        let dsc = pending.dsc.take();
        self.finish(pending).map(|event| (event, dsc))
    }

    /// The envelope of a finished event, with the dynamic sampling context of its trace in the
    /// `trace` header: the caller's (`frozen`), or this SDK's own for the trace named in the
    /// event's `contexts.trace`.
    fn event_envelope(
        &self,
        event: &Event,
        frozen: Option<Arc<Dsc>>,
    ) -> Result<Envelope, serde_json::Error> {
        let mut envelope = Envelope::from_event(event)?;
        // The limit holds for all of an event's attachments together, too (as Relay's does).
        let limit = self.options.max_attachment_size;
        let mut total = 0usize;
        for attachment in &event.attachments {
            let loaded = attachment.load(limit).and_then(|data| {
                total += data.len();
                if total > limit {
                    total -= data.len();
                    Err(AttachmentProblem::TooLarge)
                } else {
                    Ok(data)
                }
            });
            match loaded {
                Ok(data) => {
                    let mut item = EnvelopeItem::new("attachment", data);
                    for (key, value) in attachment.item_headers() {
                        item = item.with_header(key, value);
                    }
                    envelope.add_item(item);
                }
                Err(problem) => {
                    let reason = match problem {
                        AttachmentProblem::TooLarge => DropReason::SendError,
                        AttachmentProblem::Unreadable => DropReason::InternalSdkError,
                    };
                    self.stats.record_drop(reason, "attachment", 1);
                    log::log!(target: "watchpost", self.options.log_level, "the attachment `{}` was left out ({problem:?})", attachment.filename());
                }
            }
        }
        let dsc = match frozen {
            Some(dsc) => Some(Dsc::clone(&dsc)),
            None => event
                .contexts
                .get("trace")
                .and_then(|t| t.get("trace_id")?.as_str()?.parse().ok())
                .map(|trace_id| {
                    own_dsc(DscSource {
                        trace_id,
                        public_key: &self.public_key,
                        release: event.release.as_deref(),
                        environment: event.environment.as_deref(),
                        sampled: None,
                    })
                }),
        };
        if let Some(dsc) = dsc {
            envelope.set_header("trace", serde_json::to_value(dsc)?);
        }
        Ok(envelope)
    }

    /// The dynamic sampling context of a trace this SDK started, for this client's options.
    pub(crate) fn own_dsc(&self, trace_id: TraceId, sampled: Option<bool>) -> Dsc {
        own_dsc(DscSource {
            trace_id,
            public_key: &self.public_key,
            release: self.options.release.as_deref(),
            environment: Some(self.options.environment_name()),
            sampled,
        })
    }

    fn finish(&self, pending: PendingEvent) -> Result<Event, CaptureOutcome> {
        let PendingEvent {
            mut event, stack, ..
        } = pending;
        self.apply_bulky_defaults(&mut event);
        let o = &self.options;
        let cfg = ResolveConfig {
            in_app_allow: &o.in_app_module_allow_list,
            sources: o
                .source_table
                .as_ref()
                .filter(|_| o.enable_source_code_context),
            context_lines: o.context_lines,
        };
        // Stack traces that came symbolized (anyhow's backtrace, an application's own event).
        for exception in &mut event.exception.values {
            if let Some(trace) = &mut exception.stacktrace {
                annotate_symbolized(trace, &cfg);
                self.source_rules.apply(trace);
            }
        }
        if let Some(raw) = stack {
            let mut trace = raw.resolve(&cfg);
            self.source_rules.apply(&mut trace);
            if !trace.frames.is_empty() {
                if let Some(exc) = event.exception.values.last_mut() {
                    exc.stacktrace = Some(trace);
                }
            }
        }
        if let Some(hook) = &self.options.before_send {
            match guarded(|| hook.before_send(event)) {
                Some(Some(e)) => event = e,
                Some(None) => {
                    self.stats.record_drop(DropReason::BeforeSend, "error", 1);
                    return Err(CaptureOutcome::DroppedByBeforeSend);
                }
                None => {
                    self.hook_failed("before_send");
                    self.stats.record_drop(DropReason::BeforeSend, "error", 1);
                    return Err(CaptureOutcome::DroppedByBeforeSend);
                }
            }
        }
        crate::normalize::normalize_or_drop(&mut event, &self.stats)?;
        Ok(event)
    }
}
