//! What the `logger_*!` macros expand to, reached through `watchpost::__private`. Not a
//! stable API.

use super::{capture_log, Log, LogLevel, LogValue};
use std::fmt;

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

/// Builds and captures the log of a `logger_*!` call.
pub fn capture_log_args(
    level: LogLevel,
    template: &'static str,
    body: fmt::Arguments<'_>,
    params: &[Option<LogValue>],
    attributes: Vec<(&'static str, LogValue)>,
) -> bool {
    let mut log = Log::new(level, body.to_string());
    for (key, value) in attributes {
        log.attributes.insert(key.to_owned(), value);
    }
    if !params.is_empty() {
        log.attributes
            .insert("sentry.message.template".to_owned(), template.into());
        for (i, value) in params.iter().enumerate() {
            if let Some(value) = value {
                log.attributes
                    .insert(format!("sentry.message.parameter.{i}"), value.clone());
            }
        }
    }
    capture_log(log)
}
