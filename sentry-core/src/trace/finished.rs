//! A finished, sampled transaction on its way out: plain records until the worker (or, in
//! sync mode, the sending thread) turns it into the `transaction` event.

use super::ids::{SpanId, TraceId};
use super::propagation::Dsc;
use super::transaction::{SpanStatus, TransactionSource};
use crate::scope::Scope;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use uuid::Uuid;

/// A finished child span.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) op: String,
    pub(crate) description: String,
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) status: SpanStatus,
    pub(crate) data: Map<String, Value>,
    pub(crate) tags: Map<String, Value>,
}

/// A finished transaction and what it carries.
#[derive(Debug)]
pub(crate) struct FinishedTransaction {
    pub(crate) event_id: Uuid,
    pub(crate) name: String,
    pub(crate) source: TransactionSource,
    pub(crate) op: String,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: Option<SpanId>,
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) status: SpanStatus,
    pub(crate) data: Map<String, Value>,
    pub(crate) tags: Map<String, Value>,
    pub(crate) measurements: Map<String, Value>,
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) dropped_spans: usize,
    /// The envelope's dynamic sampling context.
    pub(crate) dsc: Dsc,
    /// The scope of the context it ran in: user, tags, request, contexts.
    pub(crate) scope: Arc<Scope>,
}

impl FinishedTransaction {
    /// What it is charged against the queue's memory budget: about what it holds.
    pub(crate) fn bytes(&self) -> usize {
        1024 + self.spans.len() * 256
    }

    /// The transaction event's own fields (the client's defaults go under them).
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut trace = json!({
            "type": "trace",
            "trace_id": self.trace_id.to_string(),
            "span_id": self.span_id.to_string(),
            "op": self.op,
            "status": self.status.as_str(),
        });
        if let Some(parent) = self.parent_span_id {
            trace["parent_span_id"] = parent.to_string().into();
        }
        let mut data = self.data.clone();
        if self.dropped_spans > 0 {
            data.insert("dropped_spans".into(), self.dropped_spans.into());
        }
        if !data.is_empty() {
            trace["data"] = Value::Object(data);
        }
        let spans: Vec<Value> = self.spans.iter().map(|s| self.span_json(s)).collect();
        let mut event = Map::new();
        event.insert("type".into(), "transaction".into());
        event.insert("event_id".into(), self.event_id.simple().to_string().into());
        event.insert("platform".into(), "native".into());
        event.insert("transaction".into(), self.name.clone().into());
        event.insert(
            "transaction_info".into(),
            json!({ "source": self.source.as_str() }),
        );
        event.insert("start_timestamp".into(), self.start.into());
        event.insert("timestamp".into(), self.end.into());
        event.insert("contexts".into(), json!({ "trace": trace }));
        event.insert("spans".into(), Value::Array(spans));
        if !self.tags.is_empty() {
            event.insert("tags".into(), Value::Object(self.tags.clone()));
        }
        if !self.measurements.is_empty() {
            event.insert(
                "measurements".into(),
                Value::Object(self.measurements.clone()),
            );
        }
        event
    }

    fn span_json(&self, s: &SpanRecord) -> Value {
        let mut span = json!({
            "trace_id": self.trace_id.to_string(),
            "span_id": s.span_id.to_string(),
            "parent_span_id": s.parent_span_id.to_string(),
            "op": s.op,
            "description": s.description,
            "start_timestamp": s.start,
            "timestamp": s.end,
            "status": s.status.as_str(),
        });
        if !s.data.is_empty() {
            span["data"] = Value::Object(s.data.clone());
        }
        if !s.tags.is_empty() {
            span["tags"] = Value::Object(s.tags.clone());
        }
        span
    }
}
