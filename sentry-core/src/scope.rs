//! The scope: tags, user, extra, breadcrumbs and fingerprint that apply to events of one context.

use crate::event::{Attachment, Breadcrumb, Contexts, Event, Level, Request, User};
use crate::normalize::{bound_map, bound_value, bound_values};
use crate::trace::{Propagation, RunningTransaction, TraceId};
use std::collections::{BTreeMap, VecDeque};

/// Breadcrumbs a scope keeps when no client says otherwise (`max_breadcrumbs`).
pub(crate) const DEFAULT_MAX_BREADCRUMBS: usize = 100;

/// Data merged into every event captured in a context.
///
/// Change the current one with [`set_tags_context`](crate::set_tags_context) and friends,
/// or temporarily with [`with_scope`](crate::with_scope).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) extra: BTreeMap<String, serde_json::Value>,
    pub(crate) user: Option<User>,
    pub(crate) breadcrumbs: VecDeque<Breadcrumb>,
    pub(crate) fingerprint: Vec<String>,
    pub(crate) level: Option<Level>,
    pub(crate) transaction: Option<String>,
    pub(crate) request: Option<Request>,
    pub(crate) contexts: Contexts,
    /// The trace events of this scope belong to.
    pub(crate) propagation: Propagation,
    /// Files sent with every event of this scope.
    pub(crate) attachments: Vec<Attachment>,
    /// The transaction running in this scope's context, if any. Weak: the transaction holds
    /// its context, and whoever started it owns it.
    pub(crate) running: Option<RunningTransaction>,
}

impl Scope {
    /// Sets a tag.
    pub fn set_tag(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.tags.insert(key.into(), value.into());
    }

    /// Removes a tag.
    pub fn remove_tag(&mut self, key: &str) {
        self.tags.remove(key);
    }

    /// Sets an extra value. Nesting deeper than events keep is cut off here, so the scope
    /// never holds (or clones) unboundedly deep data.
    pub fn set_extra(&mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        self.extra.insert(key.into(), bound_value(value.into()));
    }

    /// Sets (or clears) the user (its other fields bounded in depth, as extra values are).
    pub fn set_user(&mut self, user: Option<User>) {
        self.user = user.map(|mut u| {
            bound_values(&mut u.other);
            u
        });
    }

    /// Overrides the fingerprint of events from this scope.
    pub fn set_fingerprint<I, S>(&mut self, parts: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fingerprint = parts.into_iter().map(Into::into).collect();
    }

    /// Overrides the level of events from this scope.
    pub fn set_level(&mut self, level: Option<Level>) {
        self.level = level;
    }

    /// Sets the transaction name (e.g. the route).
    pub fn set_transaction(&mut self, name: Option<String>) {
        self.transaction = name;
    }

    /// Sets the HTTP request of events from this scope (used by the web integration).
    pub fn set_request(&mut self, request: Option<Request>) {
        self.request = request.map(|mut r| {
            r.data = r.data.map(bound_value);
            r
        });
    }

    /// Sets a context object (`type` is added for you), bounded in depth.
    pub fn set_context(&mut self, key: &str, fields: serde_json::Map<String, serde_json::Value>) {
        self.contexts.insert(key, key, bound_map(fields));
    }

    /// Adds a breadcrumb; beyond the client's `max_breadcrumbs` (100 when no client is
    /// configured) the oldest is dropped (a ring buffer). Its data is bounded in depth.
    pub fn add_breadcrumb(&mut self, crumb: Breadcrumb) {
        let max = crate::client::global()
            .map_or(DEFAULT_MAX_BREADCRUMBS, |c| c.options().max_breadcrumbs);
        self.push_breadcrumb(crumb, max);
    }

    /// Adds a breadcrumb, dropping the oldest beyond `max`.
    pub(crate) fn push_breadcrumb(&mut self, mut crumb: Breadcrumb, max: usize) {
        if max == 0 {
            return;
        }
        bound_values(&mut crumb.data);
        while self.breadcrumbs.len() >= max {
            self.breadcrumbs.pop_front();
        }
        self.breadcrumbs.push_back(crumb);
    }

    /// Empties the scope.
    pub fn clear(&mut self) {
        // The trace and the running transaction are not context data: they stay.
        *self = Scope {
            propagation: self.propagation.clone(),
            running: self.running.take(),
            ..Scope::default()
        };
    }

    /// The breadcrumbs, oldest first.
    pub fn breadcrumbs(&self) -> impl Iterator<Item = &Breadcrumb> {
        self.breadcrumbs.iter()
    }

    /// The tags.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// The user, if set.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// Sends a file or bytes with every event captured in this scope's context.
    pub fn add_attachment(&mut self, attachment: Attachment) {
        self.attachments.push(attachment);
    }

    /// Removes the attachments added with [`add_attachment`](Self::add_attachment).
    pub fn clear_attachments(&mut self) {
        self.attachments.clear();
    }

    /// The trace events captured with this scope belong to.
    pub fn trace_id(&self) -> TraceId {
        self.propagation.trace_id
    }

    /// Merges the scope into `event`; values already on the event win (they are per-event options).
    pub(crate) fn apply_to(&self, event: &mut Event, max_breadcrumbs: usize) {
        for (k, v) in &self.tags {
            event.tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &self.extra {
            event.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if event.user.is_none() {
            event.user.clone_from(&self.user);
        }
        if event.fingerprint.is_empty() {
            event.fingerprint.clone_from(&self.fingerprint);
        }
        if let Some(level) = self.level {
            event.level = level;
        }
        if event.transaction.is_none() {
            event.transaction.clone_from(&self.transaction);
        }
        if event.request.is_none() {
            event.request.clone_from(&self.request);
        }
        for (k, v) in &self.contexts.0 {
            event
                .contexts
                .0
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if !self.attachments.is_empty() {
            // The scope's first, then the event's own.
            let own = std::mem::take(&mut event.attachments);
            event.attachments = self.attachments.iter().cloned().chain(own).collect();
        }
        if !event.contexts.0.contains_key("trace") {
            event
                .contexts
                .insert("trace", "trace", self.propagation.trace_context());
        }
        if !self.breadcrumbs.is_empty() {
            // Scope breadcrumbs come first, per-event ones after; keep the newest `max`.
            let mut all: Vec<Breadcrumb> = self.breadcrumbs.iter().cloned().collect();
            all.append(&mut event.breadcrumbs.values);
            let excess = all.len().saturating_sub(max_breadcrumbs);
            all.drain(..excess);
            event.breadcrumbs.values = all;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breadcrumbs_are_a_ring_buffer() {
        let mut s = Scope::default();
        for i in 0..5 {
            s.push_breadcrumb(Breadcrumb::new("c", format!("{i}")), 3);
        }
        let msgs: Vec<_> = s
            .breadcrumbs()
            .map(|b| b.message.clone().unwrap())
            .collect();
        assert_eq!(msgs, ["2", "3", "4"]);
    }

    #[test]
    fn event_values_win_over_scope_values() {
        let mut s = Scope::default();
        s.set_tag("a", "scope");
        s.set_tag("b", "scope");
        s.set_user(Some(User::with_id("scope-user")));
        s.set_fingerprint(["scope"]);
        let mut e = Event::new();
        e.tags.insert("a".into(), "event".into());
        e.fingerprint = vec!["event".into()];
        s.apply_to(&mut e, 100);
        assert_eq!(e.tags["a"], "event");
        assert_eq!(e.tags["b"], "scope");
        assert_eq!(e.user.unwrap().id.as_deref(), Some("scope-user"));
        assert_eq!(e.fingerprint, ["event"]);
    }

    /// An array nested `n` levels deep, built without recursion.
    fn deep(n: usize) -> serde_json::Value {
        (0..n).fold(serde_json::Value::Null, |v, _| {
            serde_json::Value::Array(vec![v])
        })
    }

    #[test]
    fn values_set_on_the_scope_are_bounded_so_cloning_it_is_safe() {
        let mut s = Scope::default();
        s.set_extra("deep", deep(100_000));
        s.set_context(
            "ctx",
            [("deep".to_owned(), deep(100_000))].into_iter().collect(),
        );
        s.push_breadcrumb(
            Breadcrumb::new("c", "m").with_data("deep", deep(100_000)),
            10,
        );
        let mut user = User::with_id("1");
        user.other.insert("deep".into(), deep(100_000));
        s.set_user(Some(user));
        // Cloning (and dropping) a value this deep would overflow the stack.
        let copy = s.clone();
        drop(s);
        let mut e = Event::new();
        copy.apply_to(&mut e, 10);
        assert!(serde_json::to_string(&e).is_ok());
    }

    #[test]
    fn merged_breadcrumbs_keep_the_newest() {
        let mut s = Scope::default();
        s.push_breadcrumb(Breadcrumb::new("c", "old"), 10);
        s.push_breadcrumb(Breadcrumb::new("c", "mid"), 10);
        let mut e = Event::new();
        e.breadcrumbs.values.push(Breadcrumb::new("c", "event"));
        s.apply_to(&mut e, 2);
        let msgs: Vec<_> = e
            .breadcrumbs
            .values
            .iter()
            .map(|b| b.message.clone().unwrap())
            .collect();
        assert_eq!(msgs, ["mid", "event"]);
    }
}
