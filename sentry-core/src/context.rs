//! Contexts: the Rust counterpart of the Elixir client's per-process context.
//!
//! Every thread has its own current [`Context`]; a new thread starts with an empty one, as a new
//! Elixir process does. Carry a context into a spawned thread with [`Context::run`], and across
//! `.await` points of a future that moves between threads with [`ContextFutureExt::bind_context`].
//!
//! A tokio task spawned without a context of its own (a plain `tokio::spawn(fut)`) runs in the
//! context of whichever runtime thread polls it, which the next task on that thread would
//! inherit. With the `tokio` feature (on with `tower`), the setters (`set_user_context`,
//! `set_tags_context`, `set_extra_context`, `add_breadcrumb`, `configure_scope`,
//! `clear_context`) called in such a task change a throw-away context instead, and a warning is
//! logged once: the task's events carry nothing it set, and no other task's events carry it.
//! Give such tasks a context with `.bind_context(Context::new())` or `.in_forked_context()`.

use crate::client::Client;
use crate::scope::Scope;
use crate::session::RequestSession;
use crate::trace::{Dsc, TraceId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context as TaskContext, Poll};
use uuid::Uuid;

/// Where an event came from: the answer of [`last_event_id_and_source`] and the input of
/// [`Filter`](crate::Filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventSource {
    /// A direct `capture_*` call.
    Capture,
    /// The web integration (Elixir's `:plug`).
    Http,
    /// The panic hook.
    Panic,
    /// The `log` backend (Elixir's `:logger`).
    Log,
    /// The `tracing` layer.
    Tracing,
}

type LastEvent = Arc<Mutex<Option<(Uuid, EventSource)>>>;

/// How many contexts up a fork's last event is reported (a fork of a fork of ...).
const MAX_FORK_DEPTH: usize = 8;

struct Inner {
    /// The scope, copied on write: readers take the `Arc` and let go of the lock at once, so no
    /// user code and no event processing ever runs while it is held.
    scope: Mutex<Arc<Scope>>,
    last_event: LastEvent,
    /// The last-event slots of the contexts this one was forked from, nearest first (at most
    /// [`MAX_FORK_DEPTH`]): an event captured here is their last event too.
    forked_from: Vec<LastEvent>,
    client: Option<Arc<Client>>,
    /// The request session events captured here count against (tower layer, request mode);
    /// forks share it.
    request_session: OnceLock<Arc<RequestSession>>,
}

/// A context: the scope (tags, user, extra, breadcrumbs) that events captured "inside" it carry,
/// and the id of the last event it sent.
///
/// Cloning gives another handle to the same context; [`fork`](Context::fork) gives an
/// independent copy.
///
/// ```
/// use watchpost::{Context, set_tags_context};
/// set_tags_context([("request_id", "42")]);
/// let ctx = Context::current().fork();
/// std::thread::spawn(move || {
///     ctx.run(|| {
///         // Events captured here carry request_id=42.
///     })
/// })
/// .join()
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

thread_local! {
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
    /// How many [`Context::run`] calls this thread is inside: 0 means the current context is
    /// the thread's own.
    static BOUND: Cell<usize> = const { Cell::new(0) };
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("scope", &*self.scope())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A new, empty context.
    pub fn new() -> Self {
        Self::build(Arc::default(), Arc::default(), Vec::new(), None)
    }

    fn build(
        scope: Arc<Scope>,
        last_event: LastEvent,
        forked_from: Vec<LastEvent>,
        client: Option<Arc<Client>>,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                scope: Mutex::new(scope),
                last_event,
                forked_from,
                client,
                request_session: OnceLock::new(),
            }),
        }
    }

    /// A copy built by `build` that keeps this context's request session.
    fn inheriting(self, from: &Context) -> Context {
        if let Some(session) = from.request_session() {
            let _ = self.inner.request_session.set(session);
        }
        self
    }

    /// The request session of this context, if it belongs to a request (tower layer, request
    /// mode).
    pub(crate) fn request_session(&self) -> Option<Arc<RequestSession>> {
        self.inner.request_session.get().cloned()
    }

    /// Makes this (new) context a request's: events captured in it and its forks count against
    /// `session`. Has no effect when it already has one.
    #[cfg(feature = "tower")]
    pub(crate) fn set_request_session(&self, session: Arc<RequestSession>) {
        let _ = self.inner.request_session.set(session);
    }

    /// The current thread's context (created empty on first use).
    pub fn current() -> Context {
        CURRENT
            .try_with(|cell| cell.borrow_mut().get_or_insert_with(Context::new).clone())
            // The thread is being torn down: hand out a detached context.
            .unwrap_or_default()
    }

    /// An independent copy: same scope values now, separate from then on.
    ///
    /// The last event captured in the fork is the last event of this context too (and of the
    /// contexts this one was forked from, up to 8 levels): a request handler that awaited work
    /// forked from its context sees the id of the event that work reported
    /// ([`last_event_id_and_source`](Context::last_event_id_and_source)). The fork's own
    /// [`last_event_id_and_source`](Context::last_event_id_and_source) starts empty.
    pub fn fork(&self) -> Context {
        let mut forked_from = Vec::with_capacity(MAX_FORK_DEPTH);
        forked_from.push(self.inner.last_event.clone());
        forked_from.extend(
            self.inner
                .forked_from
                .iter()
                .take(MAX_FORK_DEPTH - 1)
                .cloned(),
        );
        Self::build(
            self.scope(),
            Arc::default(),
            forked_from,
            self.inner.client.clone(),
        )
        .inheriting(self)
    }

    /// A copy that shares this context's last event (used by [`with_scope`]).
    fn child(&self) -> Context {
        Self::build(
            self.scope(),
            self.inner.last_event.clone(),
            self.inner.forked_from.clone(),
            self.inner.client.clone(),
        )
        .inheriting(self)
    }

    /// A new context whose events go to `client` instead of the global one (testing kit).
    pub(crate) fn with_client(client: Arc<Client>) -> Context {
        Self::build(Arc::default(), Arc::default(), Vec::new(), Some(client))
    }

    /// Runs `f` with this context as the thread's current one, then restores the previous one,
    /// also when `f` panics.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Context>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                let _ = CURRENT.try_with(|cell| *cell.borrow_mut() = prev);
                let _ = BOUND.try_with(|b| b.set(b.get().saturating_sub(1)));
            }
        }
        let prev = CURRENT
            .try_with(|cell| cell.borrow_mut().replace(self.clone()))
            .ok()
            .flatten();
        let _ = BOUND.try_with(|b| b.set(b.get() + 1));
        let _restore = Restore(prev);
        f()
    }

    /// Changes this context's scope.
    ///
    /// `f` works on a copy of the scope that replaces it when `f` returns, and no SDK lock is
    /// held while it runs: it may log, capture, panic or inspect the context without deadlocking.
    /// A panic inside `f` leaves the scope as it was. When two threads configure one shared
    /// context at the same time, the change that finishes last wins (the built-in setters such
    /// as [`set_tags_context`] change the scope in place and never lose each other's changes).
    pub fn configure_scope<R>(&self, f: impl FnOnce(&mut Scope) -> R) -> R {
        let mut copy = Scope::clone(&self.scope());
        let r = f(&mut copy);
        *self.lock_scope() = Arc::new(copy);
        r
    }

    /// Changes the scope in place under its lock. Only for the SDK's own, short changes: `f`
    /// must not run user code, log, or capture (they could re-enter this context).
    pub(crate) fn update_scope<R>(&self, f: impl FnOnce(&mut Scope) -> R) -> R {
        f(Arc::make_mut(&mut self.lock_scope()))
    }

    /// The scope as it is now; later changes do not show in it.
    pub(crate) fn scope(&self) -> Arc<Scope> {
        self.lock_scope().clone()
    }

    /// The trace events captured in this context belong to (see [`trace`](crate::trace)).
    pub fn trace_id(&self) -> TraceId {
        self.scope().propagation.trace_id
    }

    /// The headers that make the service a request goes to continue this context's trace
    /// (see [`trace::outgoing_headers`](crate::trace::outgoing_headers)).
    pub fn outgoing_trace_headers(&self) -> Vec<(&'static str, String)> {
        let scope = self.scope();
        let p = &scope.propagation;
        let dsc = match (&p.frozen_dsc, self.client()) {
            (Some(dsc), _) => Dsc::clone(dsc),
            (None, Some(client)) => client.own_dsc(p.trace_id, p.sampled),
            (None, None) => Dsc::new(),
        };
        crate::trace::headers_for(p, &dsc)
    }

    /// Continues, in this context, the trace that incoming headers name (see
    /// [`trace::continue_from_headers`](crate::trace::continue_from_headers)).
    pub fn continue_trace<'a, I>(&self, headers: I)
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let propagation = crate::trace::propagation_from(headers);
        self.update_scope(|s| s.propagation = propagation);
    }

    /// The id and source of the last event sent (or queued) from this context.
    pub fn last_event_id_and_source(&self) -> Option<(Uuid, EventSource)> {
        *self
            .inner
            .last_event
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the last event of this context and of the contexts it was forked from.
    pub(crate) fn set_last_event(&self, id: Uuid, source: EventSource) {
        for slot in std::iter::once(&self.inner.last_event).chain(&self.inner.forked_from) {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, source));
        }
    }

    fn lock_scope(&self) -> MutexGuard<'_, Arc<Scope>> {
        // A panic while the scope was locked leaves plain data behind; keep using it.
        self.inner
            .scope
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The client events of this context go to: its own (testing kit) or the global one.
    pub(crate) fn client(&self) -> Option<Arc<Client>> {
        match &self.inner.client {
            Some(c) => Some(c.clone()),
            None => crate::client::global(),
        }
    }
}

/// Runs `body` in a child of the current context whose scope `configure` changed first.
/// Changes made inside do not outlive the call; the last event id does.
///
/// ```
/// use watchpost::{with_scope, capture_message, Level};
/// with_scope(
///     |scope| scope.set_tag("job", "nightly-import"),
///     || capture_message("import finished with warnings", Level::Warning),
/// );
/// ```
pub fn with_scope<R>(configure: impl FnOnce(&mut Scope), body: impl FnOnce() -> R) -> R {
    let child = Context::current().child();
    child.configure_scope(configure);
    child.run(body)
}

/// Changes the current context's scope.
///
/// In a tokio task spawned without a bound context (feature `tokio`, on with `tower`), the
/// change goes to a throw-away context, as the other setters' do: see [`Context`].
pub fn configure_scope<R>(f: impl FnOnce(&mut Scope) -> R) -> R {
    write_target(true).configure_scope(f)
}

/// Where the free setters write: the current context, except in a tokio task that runs
/// without a bound context (a plain `tokio::spawn`): there the current context is the runtime
/// worker thread's, shared by every task that thread runs next, so the write goes to a
/// throw-away context instead (with a warning, once per process, when `warn`).
fn write_target(warn: bool) -> Context {
    if unbound_task() {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if warn && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            log::warn!(target: "watchpost", "Sentry context set in a tokio task that has no context of its own; it was ignored so that other tasks on this thread do not inherit it. Spawn with `.bind_context(Context::new())` or `.in_forked_context()`.");
        }
        return Context::new();
    }
    Context::current()
}

/// True in a tokio task with no bound context (feature `tokio`).
fn unbound_task() -> bool {
    #[cfg(feature = "tokio")]
    {
        BOUND.try_with(|b| b.get() == 0).unwrap_or(false) && tokio::task::try_id().is_some()
    }
    #[cfg(not(feature = "tokio"))]
    {
        false
    }
}

/// Adds extra data to the current context (Elixir `Sentry.Context.set_extra_context`).
pub fn set_extra_context<I, K, V>(extra: I)
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<serde_json::Value>,
{
    // User conversions run before the scope is locked.
    let extra: Vec<(String, serde_json::Value)> = extra
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    write_target(true).update_scope(|s| {
        for (k, v) in extra {
            s.set_extra(k, v);
        }
    });
}

/// Sets the user of the current context (Elixir `Sentry.Context.set_user_context`).
pub fn set_user_context(user: crate::event::User) {
    write_target(true).update_scope(|s| s.set_user(Some(user)));
}

/// Adds tags to the current context (Elixir `Sentry.Context.set_tags_context`).
pub fn set_tags_context<I, K, V>(tags: I)
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    // User conversions run before the scope is locked.
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    write_target(true).update_scope(|s| {
        for (k, v) in tags {
            s.set_tag(k, v);
        }
    });
}

/// Records a breadcrumb in the current context (Elixir `Sentry.Context.add_breadcrumb`);
/// the oldest is dropped beyond `max_breadcrumbs`.
pub fn add_breadcrumb(crumb: crate::event::Breadcrumb) {
    // The `log` and `tracing` integrations call this too: no warning for them.
    let ctx = write_target(false);
    let max = ctx
        .client()
        .map_or(crate::scope::DEFAULT_MAX_BREADCRUMBS, |c| {
            c.options().max_breadcrumbs
        });
    ctx.update_scope(|s| s.push_breadcrumb(crumb, max));
}

/// Empties the current context's scope.
pub fn clear_context() {
    write_target(false).update_scope(Scope::clear);
}

/// The id and source of the last event sent from the current context
/// (Elixir `Sentry.get_last_event_id_and_source`).
pub fn last_event_id_and_source() -> Option<(Uuid, EventSource)> {
    Context::current().last_event_id_and_source()
}

pin_project_lite::pin_project! {
    /// A future that runs every poll inside a [`Context`], and is dropped inside it too (a
    /// cancelled task's clean-up reports to its own context). Made by [`ContextFutureExt`].
    #[derive(Debug)]
    pub struct ContextFuture<F> {
        context: Context,
        #[pin]
        future: Option<F>,
    }

    impl<F> PinnedDrop for ContextFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut future = this.future;
            this.context.run(|| future.set(None));
        }
    }
}

impl<F: Future> Future for ContextFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.future.as_pin_mut() {
            Some(future) => this.context.run(|| future.poll(cx)),
            // Only while it is being dropped; never polled then.
            None => Poll::Pending,
        }
    }
}

/// Binds futures to contexts, so that a task's context follows it across `.await` points and
/// threads, and concurrent tasks never see each other's tags or user.
///
/// ```
/// use watchpost::{Context, ContextFutureExt, set_tags_context};
/// async fn handle(id: u32) {
///     set_tags_context([("request_id", id.to_string())]);
///     // ... events captured here carry only this request's tag
/// }
/// let fut = handle(7).bind_context(Context::new());
/// # drop(fut);
/// ```
pub trait ContextFutureExt: Future + Sized {
    /// Runs this future inside `context`.
    fn bind_context(self, context: Context) -> ContextFuture<Self> {
        ContextFuture {
            context,
            future: Some(self),
        }
    }

    /// Runs this future inside a fork of the current context (a copy made now).
    fn in_forked_context(self) -> ContextFuture<Self> {
        self.bind_context(Context::current().fork())
    }
}

impl<F: Future> ContextFutureExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<(String, String)> {
        Context::current().configure_scope(|s| s.tags().clone().into_iter().collect())
    }

    #[test]
    fn new_threads_start_empty() {
        set_tags_context([("a", "1")]);
        let other = std::thread::spawn(tags).join().unwrap();
        assert!(other.is_empty());
        assert_eq!(tags(), [("a".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn forked_context_carries_values_into_a_thread() {
        let ctx = Context::new();
        ctx.configure_scope(|s| s.set_tag("k", "v"));
        let seen = std::thread::spawn({
            let ctx = ctx.fork();
            move || ctx.run(tags)
        })
        .join()
        .unwrap();
        assert_eq!(seen, [("k".to_owned(), "v".to_owned())]);
    }

    #[test]
    fn with_scope_changes_do_not_outlive_the_call() {
        let ctx = Context::new();
        ctx.run(|| {
            set_tags_context([("outer", "1")]);
            let inner = with_scope(|s| s.set_tag("inner", "2"), tags);
            assert_eq!(inner.len(), 2);
            assert_eq!(tags(), [("outer".to_owned(), "1".to_owned())]);
        });
    }

    #[test]
    fn run_restores_the_previous_context_after_a_panic() {
        let outer = Context::new();
        outer.run(|| {
            let before = Context::current();
            let inner = Context::new();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.run(|| panic!("boom"))
            }));
            assert!(r.is_err());
            assert!(Arc::ptr_eq(&before.inner, &Context::current().inner));
        });
    }

    #[test]
    fn last_event_of_a_with_scope_child_reaches_the_parent() {
        let ctx = Context::new();
        let id = Uuid::new_v4();
        ctx.run(|| {
            with_scope(
                |_| {},
                || Context::current().set_last_event(id, EventSource::Http),
            )
        });
        assert_eq!(
            ctx.last_event_id_and_source(),
            Some((id, EventSource::Http))
        );
        assert_eq!(ctx.fork().last_event_id_and_source(), None);
    }

    #[test]
    fn a_bound_future_is_dropped_inside_its_context() {
        struct SeesTags(Arc<Mutex<Vec<(String, String)>>>);
        impl Drop for SeesTags {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = tags();
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let ctx = Context::new();
        ctx.configure_scope(|s| s.set_tag("task", "cancelled"));
        let guard = SeesTags(seen.clone());
        let future = async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }
        .bind_context(ctx);
        drop(future);
        assert_eq!(
            *seen.lock().unwrap(),
            [("task".to_owned(), "cancelled".to_owned())]
        );
        assert!(tags().is_empty(), "the caller's context is untouched");
    }

    #[test]
    fn last_event_of_a_fork_reaches_the_contexts_it_was_forked_from() {
        let request = Context::new();
        let task = request.fork();
        let subtask = task.fork();
        let id = Uuid::new_v4();
        subtask.set_last_event(id, EventSource::Panic);
        for ctx in [&request, &task, &subtask] {
            assert_eq!(
                ctx.last_event_id_and_source(),
                Some((id, EventSource::Panic))
            );
        }
        // Not the other way round, and not to a sibling.
        let sibling = request.fork();
        let later = Uuid::new_v4();
        request.set_last_event(later, EventSource::Capture);
        assert_eq!(sibling.last_event_id_and_source(), None);
        assert_eq!(
            task.last_event_id_and_source(),
            Some((id, EventSource::Panic))
        );
    }

    #[test]
    fn a_chain_of_forks_reports_up_a_bounded_number_of_levels() {
        let root = Context::new();
        let mut ctx = root.clone();
        for _ in 0..1_000 {
            ctx = ctx.fork();
        }
        assert!(ctx.inner.forked_from.len() <= MAX_FORK_DEPTH);
        ctx.set_last_event(Uuid::new_v4(), EventSource::Capture);
        assert_eq!(root.last_event_id_and_source(), None, "1,000 levels up");
    }
}
