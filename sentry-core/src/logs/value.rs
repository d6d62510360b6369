//! The value of a log attribute, and the conversions the macros and integrations use.

use serde_json::{json, Value};

/// The value of a log attribute: one of the four types Sentry's logs know.
///
/// ```
/// use watchpost::logs::LogValue;
///
/// assert_eq!(LogValue::from(3_u8), LogValue::Integer(3));
/// assert_eq!(LogValue::from("eu"), LogValue::String("eu".into()));
/// // Beyond `i64`, a number is sent as text.
/// assert_eq!(LogValue::from(u64::MAX), LogValue::String(u64::MAX.to_string()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LogValue {
    /// Text (`type: string`).
    String(String),
    /// A whole number (`type: integer`).
    Integer(i64),
    /// A floating-point number (`type: double`); a NaN or infinite one is sent as text.
    Double(f64),
    /// A flag (`type: boolean`).
    Boolean(bool),
}

impl LogValue {
    /// `{"value": ..., "type": ...}`, as Sentry reads an attribute.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            LogValue::String(s) => json!({"value": s, "type": "string"}),
            LogValue::Integer(i) => json!({"value": i, "type": "integer"}),
            LogValue::Double(f) if f.is_finite() => json!({"value": f, "type": "double"}),
            LogValue::Double(f) => json!({"value": f.to_string(), "type": "string"}),
            LogValue::Boolean(b) => json!({"value": b, "type": "boolean"}),
        }
    }

    pub(super) fn bytes(&self) -> usize {
        match self {
            LogValue::String(s) => s.len(),
            _ => 8,
        }
    }
}

impl From<&Value> for LogValue {
    /// A JSON value: booleans, numbers and strings keep their type, anything else is its JSON
    /// text.
    fn from(v: &Value) -> Self {
        match v {
            Value::Bool(b) => LogValue::Boolean(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => LogValue::Integer(i),
                (None, Some(f)) if n.is_f64() => LogValue::Double(f),
                _ => LogValue::String(n.to_string()),
            },
            Value::String(s) => LogValue::String(s.clone()),
            other => LogValue::String(other.to_string()),
        }
    }
}

impl From<String> for LogValue {
    fn from(v: String) -> Self {
        LogValue::String(v)
    }
}

impl From<&str> for LogValue {
    fn from(v: &str) -> Self {
        LogValue::String(v.to_owned())
    }
}

impl From<&String> for LogValue {
    fn from(v: &String) -> Self {
        LogValue::String(v.clone())
    }
}

impl From<bool> for LogValue {
    fn from(v: bool) -> Self {
        LogValue::Boolean(v)
    }
}

impl From<f64> for LogValue {
    fn from(v: f64) -> Self {
        LogValue::Double(v)
    }
}

impl From<f32> for LogValue {
    fn from(v: f32) -> Self {
        LogValue::Double(f64::from(v))
    }
}

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl From<$t> for LogValue {
            fn from(v: $t) -> Self {
                LogValue::Integer(i64::from(v))
            }
        }
    )*};
}
integer_values!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_integer_values {
    ($($t:ty),*) => {$(
        /// Beyond `i64`, the number is sent as text.
        impl From<$t> for LogValue {
            fn from(v: $t) -> Self {
                i64::try_from(v).map_or_else(|_| LogValue::String(v.to_string()), LogValue::Integer)
            }
        }
    )*};
}
wide_integer_values!(u64, usize, isize, i128, u128);
