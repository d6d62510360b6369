//! The capture API: `capture_error`, `capture_message`, `capture_event` and their per-event options.

use crate::context::{Context, EventSource};
use crate::error::SendError;
use crate::event::{Attachment, Breadcrumb, Event, Exception, Level, Mechanism, User};
use crate::normalize::{bound_value, bound_values};
use crate::stacktrace::RawStacktrace;
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::panic::Location;
use uuid::Uuid;

/// What happened to a captured event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureOutcome {
    /// Delivered; the server answered with `server_id` ([`SendResult::Sync`](crate::SendResult::Sync) mode).
    Sent {
        /// The event's id.
        event_id: Uuid,
        /// The id in the server's answer, when it gave one.
        server_id: Option<String>,
    },
    /// Handed to the background worker ([`SendResult::Background`](crate::SendResult::Background) mode).
    Queued {
        /// The event's id.
        event_id: Uuid,
    },
    /// Not sent: the current environment is not in `included_environments`.
    Excluded {
        /// The current environment.
        environment: String,
    },
    /// Not sent: the `filter` excluded it.
    Filtered,
    /// Not sent: not picked by `sample_rate`.
    SampledOut,
    /// Not sent: `before_send` returned `None`.
    DroppedByBeforeSend,
    /// Not sent: the background queue was full (counted as `queue_overflow`).
    QueueFull {
        /// The event's id.
        event_id: Uuid,
    },
    /// Not sent: the SDK has no DSN (or `init` was not called).
    Disabled,
    /// Not sent: captured from inside the SDK, in a user callback (`before_send`, `after_send`,
    /// `filter`) or on one of the SDK's threads, where it would feed the pipeline its own
    /// events. Counted as `event_processor`.
    Reentrant,
    /// Sending failed after every attempt.
    Failed {
        /// The event's id.
        event_id: Uuid,
        /// Why.
        error: SendError,
    },
}

impl CaptureOutcome {
    /// The event id, when the event got as far as the send step.
    pub fn event_id(&self) -> Option<Uuid> {
        match self {
            CaptureOutcome::Sent { event_id, .. }
            | CaptureOutcome::Queued { event_id }
            | CaptureOutcome::QueueFull { event_id }
            | CaptureOutcome::Failed { event_id, .. } => Some(*event_id),
            _ => None,
        }
    }

    /// True for `Sent` and `Queued`.
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            CaptureOutcome::Sent { .. } | CaptureOutcome::Queued { .. }
        )
    }
}

/// Per-event values that override the context's (Elixir's `capture_exception(e, opts)` keywords).
///
/// ```
/// use watchpost::{capture_message_with, CaptureOptions, Level, User};
/// capture_message_with(
///     "payment declined",
///     Level::Warning,
///     CaptureOptions::new()
///         .tag("provider", "acme")
///         .extra("amount_cents", 1299)
///         .user(User::with_id("42"))
///         .fingerprint(["payments", "declined"]),
/// );
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CaptureOptions {
    tags: BTreeMap<String, String>,
    extra: BTreeMap<String, serde_json::Value>,
    user: Option<User>,
    breadcrumbs: Vec<Breadcrumb>,
    fingerprint: Vec<String>,
    level: Option<Level>,
    attachments: Vec<Attachment>,
}

impl CaptureOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
    /// Adds an extra value. Nesting deeper than events keep is cut off here, so these
    /// options never hold (or clone) unboundedly deep data.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.into(), bound_value(value.into()));
        self
    }
    /// Sets the user (its other fields bounded in depth, as extra values are).
    pub fn user(mut self, mut user: User) -> Self {
        bound_values(&mut user.other);
        self.user = Some(user);
        self
    }
    /// Adds a breadcrumb after the context's ones (its data bounded in depth).
    pub fn breadcrumb(mut self, mut crumb: Breadcrumb) -> Self {
        bound_values(&mut crumb.data);
        self.breadcrumbs.push(crumb);
        self
    }
    /// Sets the fingerprint.
    pub fn fingerprint<I, S>(mut self, parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fingerprint = parts.into_iter().map(Into::into).collect();
        self
    }
    /// Sets the level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }
    /// Sends a file or bytes with the event (after the context's attachments).
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Puts the overrides on the event (they win over the context's values, which are merged later).
    pub(crate) fn apply(self, event: &mut Event) {
        event.tags.extend(self.tags);
        event.extra.extend(self.extra);
        if self.user.is_some() {
            event.user = self.user;
        }
        event.breadcrumbs.values.extend(self.breadcrumbs);
        if !self.fingerprint.is_empty() {
            event.fingerprint = self.fingerprint;
        }
        if let Some(level) = self.level {
            event.level = level;
        }
        event.attachments.extend(self.attachments);
    }
}

/// Anything [`capture_error`] accepts: every concrete error type, and `dyn Error` (with or
/// without `Send + Sync`), so both `&my_error` and `&*boxed_error` work.
pub trait AsDynError {
    /// The error as a trait object.
    fn as_dyn_error(&self) -> &(dyn StdError + 'static);
}

impl<E: StdError + 'static> AsDynError for E {
    fn as_dyn_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

impl AsDynError for dyn StdError + 'static {
    fn as_dyn_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

impl AsDynError for dyn StdError + Send + Sync + 'static {
    fn as_dyn_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

/// Captures an error and its whole `source()` chain (root cause first), with a stack trace
/// whose top frame is this call site.
///
/// ```
/// # fn load() -> Result<(), std::io::Error> { Err(std::io::Error::other("disk on fire")) }
/// if let Err(err) = load() {
///     watchpost::capture_error(&err);
/// }
/// ```
#[track_caller]
pub fn capture_error<E: AsDynError + ?Sized>(err: &E) -> CaptureOutcome {
    capture_error_with(err, CaptureOptions::new())
}

/// [`capture_error`] with per-event options.
#[track_caller]
pub fn capture_error_with<E: AsDynError + ?Sized>(
    err: &E,
    options: CaptureOptions,
) -> CaptureOutcome {
    let location = Location::caller();
    let mut event = error_event(err.as_dyn_error(), std::any::type_name::<E>());
    if let Some(exc) = event.exception.values.last_mut() {
        exc.mechanism = Some(Mechanism::new("generic", true));
    }
    options.apply(&mut event);
    capture_raw(event, Some(location), EventSource::Capture)
}

/// Captures a message at a level (Elixir `capture_message`).
pub fn capture_message(message: impl Into<String>, level: Level) -> CaptureOutcome {
    capture_message_with(message, level, CaptureOptions::new())
}

/// [`capture_message`] with per-event options.
pub fn capture_message_with(
    message: impl Into<String>,
    level: Level,
    options: CaptureOptions,
) -> CaptureOutcome {
    let mut event = Event::message(message, level);
    options.apply(&mut event);
    capture_with_source(event, None, EventSource::Capture)
}

/// Captures a prepared event.
pub fn capture_event(event: Event) -> CaptureOutcome {
    capture_with_source(event, None, EventSource::Capture)
}

/// [`capture_event`] with per-event options.
pub fn capture_event_with(mut event: Event, options: CaptureOptions) -> CaptureOutcome {
    options.apply(&mut event);
    capture_with_source(event, None, EventSource::Capture)
}

/// Captures with a raw stack trace taken here, anchored at `location`.
#[inline(never)]
pub(crate) fn capture_raw(
    event: Event,
    location: Option<&'static Location<'static>>,
    source: EventSource,
) -> CaptureOutcome {
    let ctx = Context::current();
    let Some(client) = ctx.client() else {
        return CaptureOutcome::Disabled;
    };
    let stack = RawStacktrace::capture(location);
    client.capture(event, Some(stack), &ctx, source)
}

/// Captures in the current context, with an optional raw stack for the last exception.
pub(crate) fn capture_with_source(
    event: Event,
    stack: Option<RawStacktrace>,
    source: EventSource,
) -> CaptureOutcome {
    let ctx = Context::current();
    match ctx.client() {
        Some(client) => client.capture(event, stack, &ctx, source),
        None => CaptureOutcome::Disabled,
    }
}

/// An event whose exceptions are `err`'s chain, root cause first.
pub(crate) fn error_event(err: &(dyn StdError + 'static), type_name: &str) -> Event {
    let mut chain: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    // Bounded: a cyclic or absurdly long chain must not hang or bloat the event.
    while let Some(e) = cur {
        if chain.len() >= 32 {
            break;
        }
        chain.push(e);
        cur = e.source();
    }
    let mut values: Vec<Exception> = chain
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (ty, module) = if i == 0 {
                split_type_name(type_name)
            } else {
                (None, None)
            };
            let ty = ty.unwrap_or_else(|| type_from_debug(*e));
            let mut exc = Exception::new(ty, e.to_string());
            exc.module = module;
            exc
        })
        .collect();
    values.reverse();
    let mut event = Event::new();
    event.exception.values = values;
    event
}

/// `my_app::db::Error` → (`Error`, `my_app::db`); `dyn ...` gives nothing (use the Debug form).
fn split_type_name(name: &str) -> (Option<String>, Option<String>) {
    if name.starts_with("dyn ") || name.starts_with('&') {
        return (None, None);
    }
    // Keep generics with the type: `a::B<c::D>` → type `B<c::D>`, module `a`.
    let base_end = name.find('<').unwrap_or(name.len());
    match name[..base_end].rfind("::") {
        Some(i) => (Some(name[i + 2..].to_owned()), Some(name[..i].to_owned())),
        None => (Some(name.to_owned()), None),
    }
}

/// The leading identifier of an error's `Debug` form (`NotFound("x")` → `NotFound`), the best a
/// `dyn Error` reveals about its type.
fn type_from_debug(e: &(dyn StdError + 'static)) -> String {
    // The standard library's most common error prints its representation (`Os { .. }`,
    // `Custom { .. }`) as Debug, not its type.
    if e.is::<std::io::Error>() {
        return "std::io::Error".to_owned();
    }
    let dbg = format!("{e:?}");
    let ident: String = dbg
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .take(100)
        .collect();
    let ident = ident.trim_end_matches(':');
    if ident.is_empty() {
        "Error".to_owned()
    } else {
        ident.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Outer(Middle);
    #[derive(Debug)]
    struct Middle(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("request failed")
        }
    }
    impl fmt::Display for Middle {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("config unreadable")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }
    impl StdError for Middle {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chain_is_root_cause_first_and_title_is_the_outer_error() {
        let err = Outer(Middle(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        )));
        let event = error_event(&err, std::any::type_name::<Outer>());
        let got: Vec<_> = event
            .exception
            .values
            .iter()
            .map(|e| (e.ty.as_str(), e.value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("std::io::Error", "no such file"),
                ("Middle", "config unreadable"),
                ("Outer", "request failed")
            ]
        );
        assert_eq!(
            event.exception.values[2].module.as_deref(),
            Some("watchpost::capture::tests")
        );
        assert_eq!(event.title(), "Outer: request failed");
    }

    #[test]
    fn type_names_split_into_type_and_module() {
        assert_eq!(
            split_type_name("a::b::C"),
            (Some("C".into()), Some("a::b".into()))
        );
        assert_eq!(
            split_type_name("a::B<c::D>"),
            (Some("B<c::D>".into()), Some("a".into()))
        );
        assert_eq!(split_type_name("dyn core::error::Error"), (None, None));
    }

    #[test]
    fn options_override_event_values() {
        let mut e = Event::new();
        e.tags.insert("a".into(), "event".into());
        CaptureOptions::new()
            .tag("a", "opt")
            .level(Level::Fatal)
            .fingerprint(["x"])
            .apply(&mut e);
        assert_eq!(e.tags["a"], "opt");
        assert_eq!(e.level, Level::Fatal);
        assert_eq!(e.fingerprint, ["x"]);
    }

    #[test]
    fn per_event_values_are_bounded_so_cloning_the_options_is_safe() {
        let deep = || {
            (0..100_000).fold(serde_json::Value::Null, |v, _| {
                serde_json::Value::Array(vec![v])
            })
        };
        let mut user = User::with_id("1");
        user.other.insert("deep".into(), deep());
        let crumb = Breadcrumb::new("c", "m").with_data("deep", deep());
        let options = CaptureOptions::new()
            .extra("deep", deep())
            .user(user)
            .breadcrumb(crumb);
        // Cloning (and dropping) a value this deep would overflow the stack.
        let copy = options.clone();
        let mut e = Event::new();
        copy.apply(&mut e);
        assert!(serde_json::to_string(&e).is_ok());
    }

    #[test]
    fn without_a_client_capture_is_disabled() {
        Context::new().run(|| {
            assert_eq!(capture_message("x", Level::Info), CaptureOutcome::Disabled);
        });
    }
}
