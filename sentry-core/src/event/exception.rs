use super::Stacktrace;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One exception of an event's exception chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Exception {
    /// The error's type name, such as `std::io::Error` or `panic`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The error's message (its `Display`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The module the type lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// How the exception was caught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    /// Where it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<Stacktrace>,
}

impl Exception {
    /// An exception with a type and a message.
    pub fn new(ty: impl Into<String>, value: impl Into<String>) -> Self {
        Exception {
            ty: ty.into(),
            value: Some(value.into()),
            ..Default::default()
        }
    }
}

/// How an exception was captured: by a direct call, a panic hook, an integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Mechanism {
    /// `generic` for a capture call, or the integration's name (`panic`, `tower`, `log`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// False for panics and crashes the application did not handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled: Option<bool>,
    /// True when the exception was made by the SDK (e.g. for a message), not raised by the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    /// Free-form data about the mechanism.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, serde_json::Value>,
}

impl Mechanism {
    /// A mechanism of the given type and handled state.
    pub fn new(ty: impl Into<String>, handled: bool) -> Self {
        Mechanism {
            ty: ty.into(),
            handled: Some(handled),
            synthetic: None,
            data: BTreeMap::new(),
        }
    }
}
