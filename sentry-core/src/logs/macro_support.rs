//! What the `logger_*!` macros expand to, reached through `watchpost::__private`. Not a
//! stable API.

use super::{Log, LogLevel, LogValue};
use crate::client::Client;
use crate::context::Context;
use std::fmt;
use std::sync::Arc;

/// A macro argument, typed by the first of `ByValue`, `ByDisplay`, `ByDebug`, `Opaque`
/// that applies (each impl sits one reference deeper, so method lookup tries them in turn).
#[derive(Debug)]
pub struct Param<'a, T: ?Sized>(pub &'a T);

/// Numbers, booleans and text keep their type.
pub trait ByValue {
    /// The parameter's value.
    fn log_param(&self) -> Option<LogValue>;
}
impl<T: Clone + Into<LogValue>> ByValue for &&&Param<'_, T> {
    fn log_param(&self) -> Option<LogValue> {
        Some(self.0.clone().into())
    }
}

/// Anything else with `Display`: its text.
pub trait ByDisplay {
    /// The parameter's value.
    fn log_param(&self) -> Option<LogValue>;
}
impl<T: fmt::Display + ?Sized> ByDisplay for &&Param<'_, T> {
    fn log_param(&self) -> Option<LogValue> {
        Some(LogValue::String(self.0.to_string()))
    }
}

/// Anything else with `Debug`: its debug text.
pub trait ByDebug {
    /// The parameter's value.
    fn log_param(&self) -> Option<LogValue>;
}
impl<T: fmt::Debug + ?Sized> ByDebug for &Param<'_, T> {
    fn log_param(&self) -> Option<LogValue> {
        Some(LogValue::String(format!("{:?}", self.0)))
    }
}

/// Neither: left out.
pub trait Opaque {
    /// The parameter's value.
    fn log_param(&self) -> Option<LogValue>;
}
impl<T: ?Sized> Opaque for Param<'_, T> {
    fn log_param(&self) -> Option<LogValue> {
        None
    }
}

/// Where a `logger_*!` call's log goes: the current context and its client, when that client
/// takes logs.
pub struct LogTarget {
    ctx: Context,
    client: Arc<Client>,
}

impl fmt::Debug for LogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogTarget").finish_non_exhaustive()
    }
}

/// The target of a `logger_*!` call; `None` when no client takes logs, and the call formats
/// nothing.
pub fn log_target() -> Option<LogTarget> {
    let ctx = Context::current();
    let client = ctx.client().filter(|c| c.takes_logs())?;
    Some(LogTarget { ctx, client })
}

impl LogTarget {
    /// Builds and captures the log of a `logger_*!` call; the template and parameters become
    /// attributes on the worker.
    pub fn capture(
        self,
        level: LogLevel,
        template: &'static str,
        body: fmt::Arguments<'_>,
        params: &[Option<LogValue>],
        attributes: Vec<(&'static str, LogValue)>,
    ) -> bool {
        let body = match body.as_str() {
            Some(text) => text.to_owned(),
            None => body.to_string(),
        };
        let mut log = Log::new(level, body);
        for (key, value) in attributes {
            log.attributes.insert(key.to_owned(), value);
        }
        if !params.is_empty() {
            log = log.with_template(template, params.to_vec());
        }
        self.client.capture_log(log, &self.ctx)
    }
}
