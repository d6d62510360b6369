//! Transactions and spans: timed operations of a trace, sent as one `transaction` event when
//! the transaction finishes and was sampled.

use super::finished::{FinishedTransaction, SpanRecord};
use super::ids::{SpanId, TraceId};
use super::propagation::Dsc;
use super::sampling::{decide, Decision, SamplingContext};
use crate::client::Client;
use crate::context::Context;
use crate::event::now_epoch;
use crate::normalize::bound_value;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Spans a transaction keeps; later ones are dropped and counted in the transaction's data
/// (`dropped_spans`), so a transaction's memory stays bounded.
pub(crate) const MAX_SPANS: usize = 1_000;
/// Characters of a span's operation and of a transaction's name kept.
const MAX_NAME_CHARS: usize = 200;
/// Characters of a span's description kept.
const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// `s` cut to at most `max` characters.
fn capped(mut s: String, max: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
    s
}

/// How a transaction's name was chosen (Sentry's `transaction_info.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionSource {
    /// Chosen by the application.
    Custom,
    /// A route template such as `/users/{id}`: low cardinality.
    Route,
    /// A raw URL path: may hold ids, so Sentry groups it with care.
    Url,
    /// The name of a background task.
    Task,
}

impl TransactionSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TransactionSource::Custom => "custom",
            TransactionSource::Route => "route",
            TransactionSource::Url => "url",
            TransactionSource::Task => "task",
        }
    }
}

/// The status of a span or transaction (Sentry's span status values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanStatus {
    /// Succeeded.
    Ok,
    /// Failed for an unknown reason.
    UnknownError,
    /// The caller's input was invalid (HTTP 400).
    InvalidArgument,
    /// Not authenticated (401).
    Unauthenticated,
    /// Not allowed (403).
    PermissionDenied,
    /// Not found (404).
    NotFound,
    /// Already exists (409).
    AlreadyExists,
    /// Rate limited or out of a resource (429).
    ResourceExhausted,
    /// Cancelled by the caller.
    Cancelled,
    /// A deadline passed (504).
    DeadlineExceeded,
    /// Not implemented (501).
    Unimplemented,
    /// Temporarily unavailable (503).
    Unavailable,
    /// An internal error (500).
    InternalError,
}

impl SpanStatus {
    /// The status for an HTTP response status code.
    pub fn from_http(code: u16) -> SpanStatus {
        match code {
            100..=399 => SpanStatus::Ok,
            400 => SpanStatus::InvalidArgument,
            401 => SpanStatus::Unauthenticated,
            403 => SpanStatus::PermissionDenied,
            404 => SpanStatus::NotFound,
            409 => SpanStatus::AlreadyExists,
            429 => SpanStatus::ResourceExhausted,
            499 => SpanStatus::Cancelled,
            501 => SpanStatus::Unimplemented,
            503 => SpanStatus::Unavailable,
            504 => SpanStatus::DeadlineExceeded,
            500..=599 => SpanStatus::InternalError,
            _ => SpanStatus::UnknownError,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Ok => "ok",
            SpanStatus::UnknownError => "unknown_error",
            SpanStatus::InvalidArgument => "invalid_argument",
            SpanStatus::Unauthenticated => "unauthenticated",
            SpanStatus::PermissionDenied => "permission_denied",
            SpanStatus::NotFound => "not_found",
            SpanStatus::AlreadyExists => "already_exists",
            SpanStatus::ResourceExhausted => "resource_exhausted",
            SpanStatus::Cancelled => "cancelled",
            SpanStatus::DeadlineExceeded => "deadline_exceeded",
            SpanStatus::Unimplemented => "unimplemented",
            SpanStatus::Unavailable => "unavailable",
            SpanStatus::InternalError => "internal_error",
        }
    }
}

/// What a span records until it finishes.
#[derive(Debug, Default)]
struct Record {
    /// A child span's operation and description (empty when the trace is not sampled: nothing
    /// is kept of it).
    op: String,
    description: String,
    status: Option<SpanStatus>,
    data: Map<String, Value>,
    tags: Map<String, Value>,
    finished: bool,
}

/// What a transaction collects from its spans.
#[derive(Debug, Default)]
struct Collected {
    spans: Vec<SpanRecord>,
    dropped_spans: usize,
    measurements: Map<String, Value>,
}

struct Shared {
    client: Option<Arc<Client>>,
    context: Context,
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    decision: Decision,
    dsc: Option<Arc<Dsc>>,
    name: String,
    source: TransactionSource,
    op: String,
    start: f64,
    record: Mutex<Record>,
    collected: Mutex<Collected>,
}

/// A transaction: the root span of a trace's work in this service (a request, a job). Start it
/// with [`start_transaction`], add [child spans](Transaction::start_child), and
/// [`finish`](Transaction::finish) it: if it was sampled (`traces_sample_rate` /
/// `traces_sampler`), it is sent with its spans. While it runs, it is the span of the context
/// it was started in: errors captured there name it in `contexts.trace`, and
/// [`outgoing_headers`](super::outgoing_headers) pass it (and the sampling decision) on.
///
/// Dropping a transaction without finishing it sends nothing.
///
/// ```
/// use watchpost::trace::{start_transaction, SpanStatus, TransactionContext};
///
/// let tx = start_transaction(TransactionContext::new("nightly-import", "task"));
/// let span = tx.start_child("db.query", "SELECT * FROM orders");
/// span.set_data("rows", 42);
/// span.finish();
/// tx.set_status(SpanStatus::Ok);
/// tx.finish();
/// ```
#[derive(Clone)]
pub struct Transaction {
    shared: Arc<Shared>,
}

/// A child span of a [`Transaction`].
pub struct Span {
    tx: Arc<Shared>,
    span_id: SpanId,
    parent_span_id: SpanId,
    start: f64,
    record: Mutex<Record>,
}

/// What a new transaction is: its name, operation and where the name came from.
#[derive(Debug, Clone)]
pub struct TransactionContext {
    name: String,
    op: String,
    source: TransactionSource,
}

impl TransactionContext {
    /// A transaction named `name` (e.g. `GET /users/{id}`, `nightly-import`) doing `op` (e.g.
    /// `http.server`, `task`), in the trace of the current context.
    pub fn new(name: impl Into<String>, op: impl Into<String>) -> Self {
        TransactionContext {
            name: capped(name.into(), MAX_NAME_CHARS),
            op: capped(op.into(), MAX_NAME_CHARS),
            source: TransactionSource::Custom,
        }
    }

    /// Says where the name came from; default [`TransactionSource::Custom`].
    #[must_use]
    pub fn source(mut self, source: TransactionSource) -> Self {
        self.source = source;
        self
    }
}

/// Starts a transaction in the current context's trace, and makes it that context's span (see
/// [`Transaction`]). Whether it is sampled is decided now: by the `traces_sampler`, else by the
/// caller's decision when the trace came with one, else by `traces_sample_rate`. Without
/// either option, or without a client, nothing is ever sent.
pub fn start_transaction(ctx: TransactionContext) -> Transaction {
    let context = Context::current();
    let client = context.client();
    let scope = context.scope();
    let p = &scope.propagation;
    let sampling = SamplingContext {
        name: &ctx.name,
        op: &ctx.op,
        parent_sampled: p.sampled,
    };
    let decision = decide(client.as_deref(), &sampling, p);
    let shared = Arc::new(Shared {
        client,
        context: context.clone(),
        trace_id: p.trace_id,
        span_id: SpanId::random(),
        parent_span_id: p.parent_span_id,
        decision,
        dsc: p.frozen_dsc.clone(),
        name: ctx.name,
        source: ctx.source,
        op: ctx.op,
        start: now_epoch(),
        record: Mutex::default(),
        collected: Mutex::default(),
    });
    drop(scope);
    let (span_id, sampled) = (shared.span_id, decision.sampled);
    let tx = Transaction { shared };
    context.update_scope(|s| {
        s.propagation.span_id = span_id;
        s.propagation.sampled = Some(sampled);
        s.running = Some(RunningTransaction(Arc::downgrade(&tx.shared)));
    });
    tx
}

/// The transaction running in the current context (started there, or in the context it was
/// forked from), to add spans to; `None` when there is none.
///
/// ```
/// use watchpost::trace::{current_transaction, start_transaction, TransactionContext};
/// let tx = start_transaction(TransactionContext::new("job", "task"));
/// let span = current_transaction().map(|tx| tx.start_child("http.client", "GET /prices"));
/// # drop(span);
/// tx.finish();
/// assert!(current_transaction().is_none());
/// ```
pub fn current_transaction() -> Option<Transaction> {
    let shared = Context::current().scope().running.as_ref()?.0.upgrade()?;
    // A finished one is not running any more, even while someone still holds it.
    let finished = lock(&shared.record).finished;
    (!finished).then_some(Transaction { shared })
}

/// A scope's link to the transaction running in its context: weak, so that a transaction
/// dropped unfinished (a request whose client went away) frees itself and its context.
#[derive(Clone)]
pub(crate) struct RunningTransaction(Weak<Shared>);

impl RunningTransaction {
    fn is(&self, span_id: SpanId) -> bool {
        self.0.upgrade().is_some_and(|s| s.span_id == span_id)
    }
}

impl std::fmt::Debug for RunningTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunningTransaction")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data: a panic while it was held leaves it usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Transaction {
    /// True when it will be sent when it finishes.
    pub fn is_sampled(&self) -> bool {
        self.shared.decision.sampled
    }

    /// Its trace.
    pub fn trace_id(&self) -> TraceId {
        self.shared.trace_id
    }

    /// Its span id.
    pub fn span_id(&self) -> SpanId {
        self.shared.span_id
    }

    /// Sets its status (for an HTTP server, [`SpanStatus::from_http`] of the response).
    pub fn set_status(&self, status: SpanStatus) {
        lock(&self.shared.record).status = Some(status);
    }

    /// Sets a data value (bounded in depth and size like event data).
    pub fn set_data(&self, key: impl Into<String>, value: impl Into<Value>) {
        lock(&self.shared.record)
            .data
            .insert(key.into(), bound_value(value.into()));
    }

    /// Sets a tag.
    pub fn set_tag(&self, key: impl Into<String>, value: impl Into<String>) {
        lock(&self.shared.record)
            .tags
            .insert(key.into(), Value::String(value.into()));
    }

    /// Records a measurement, such as `("db.calls", 12.0, "none")`.
    pub fn set_measurement(&self, name: impl Into<String>, value: f64, unit: &str) {
        lock(&self.shared.collected)
            .measurements
            .insert(name.into(), json!({ "value": value, "unit": unit }));
    }

    /// Starts a child span of this transaction.
    pub fn start_child(&self, op: impl Into<String>, description: impl Into<String>) -> Span {
        Span::new(&self.shared, self.shared.span_id, op, description)
    }

    /// Finishes it: sends it with its finished spans when it was sampled (counted as
    /// `sample_rate` when it was not), and ends its being the span of its context. A second
    /// call does nothing.
    pub fn finish(&self) {
        let s = &*self.shared;
        let record = {
            let mut r = lock(&s.record);
            if r.finished {
                return;
            }
            let taken = std::mem::take(&mut *r);
            r.finished = true;
            taken
        };
        let Some(client) = &s.client else { return };
        if !s.decision.sampled {
            // Nothing was recorded and nothing refers to this span: the context keeps its
            // decision (passed on downstream) and the weak link dies with the transaction.
            if s.decision.tracing_enabled {
                client.record_unsampled_transaction();
            }
            return;
        }
        // Errors captured in the context from now on belong to the trace, not to this span.
        let span_id = s.span_id;
        s.context.update_scope(|scope| {
            if scope.propagation.span_id == span_id {
                scope.propagation.span_id = SpanId::random();
            }
            if scope.running.as_ref().is_none_or(|t| t.is(span_id)) {
                scope.running = None;
            }
        });
        let collected = std::mem::take(&mut *lock(&s.collected));
        let dsc = s.dsc.as_deref().cloned().unwrap_or_else(|| {
            let mut dsc = client.own_dsc(s.trace_id, Some(true));
            dsc.insert("transaction".into(), s.name.clone());
            dsc.insert("sample_rate".into(), s.decision.sample_rate.to_string());
            dsc
        });
        client.send_transaction(FinishedTransaction {
            event_id: uuid::Uuid::new_v4(),
            name: s.name.clone(),
            source: s.source,
            op: s.op.clone(),
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            start: s.start,
            end: now_epoch(),
            status: record.status.unwrap_or(SpanStatus::Ok),
            data: record.data,
            tags: record.tags,
            measurements: collected.measurements,
            spans: collected.spans,
            dropped_spans: collected.dropped_spans,
            dsc,
            scope: s.context.scope(),
        });
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("name", &self.shared.name)
            .field("trace_id", &self.shared.trace_id)
            .field("span_id", &self.shared.span_id)
            .field("sampled", &self.shared.decision.sampled)
            .finish_non_exhaustive()
    }
}

impl Span {
    fn new(
        tx: &Arc<Shared>,
        parent: SpanId,
        op: impl Into<String>,
        description: impl Into<String>,
    ) -> Span {
        let mut record = Record::default();
        // An unsampled span keeps nothing: no allocation, no clock reading.
        let start = if tx.decision.sampled {
            record.op = capped(op.into(), MAX_NAME_CHARS);
            record.description = capped(description.into(), MAX_DESCRIPTION_CHARS);
            now_epoch()
        } else {
            0.0
        };
        Span {
            tx: tx.clone(),
            span_id: SpanId::random(),
            parent_span_id: parent,
            start,
            record: Mutex::new(record),
        }
    }

    /// Its span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// Its trace.
    pub fn trace_id(&self) -> TraceId {
        self.tx.trace_id
    }

    /// Sets its status.
    pub fn set_status(&self, status: SpanStatus) {
        lock(&self.record).status = Some(status);
    }

    /// Sets a data value (bounded in depth and size like event data).
    pub fn set_data(&self, key: impl Into<String>, value: impl Into<Value>) {
        lock(&self.record)
            .data
            .insert(key.into(), bound_value(value.into()));
    }

    /// Sets a tag.
    pub fn set_tag(&self, key: impl Into<String>, value: impl Into<String>) {
        lock(&self.record)
            .tags
            .insert(key.into(), Value::String(value.into()));
    }

    /// Starts a child span of this span.
    pub fn start_child(&self, op: impl Into<String>, description: impl Into<String>) -> Span {
        Span::new(&self.tx, self.span_id, op, description)
    }

    /// Finishes it: it becomes part of its transaction (if the transaction has not finished
    /// yet and holds fewer than 1,000 spans). A second call does nothing.
    pub fn finish(&self) {
        let record = {
            let mut r = lock(&self.record);
            if r.finished {
                return;
            }
            let taken = std::mem::take(&mut *r);
            r.finished = true;
            taken
        };
        if !self.tx.decision.sampled {
            return;
        }
        let span = SpanRecord {
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            op: record.op,
            description: record.description,
            start: self.start,
            end: now_epoch(),
            status: record.status.unwrap_or(SpanStatus::Ok),
            data: record.data,
            tags: record.tags,
        };
        let mut collected = lock(&self.tx.collected);
        if collected.spans.len() < MAX_SPANS {
            collected.spans.push(span);
        } else {
            collected.dropped_spans += 1;
        }
    }
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span")
            .field("span_id", &self.span_id)
            .finish_non_exhaustive()
    }
}
