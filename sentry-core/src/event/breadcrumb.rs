use super::{now_epoch, Level};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something that happened before an event: a log line, a request, a navigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Breadcrumb {
    /// When it happened, seconds since the Unix epoch.
    pub timestamp: f64,
    /// Kind of breadcrumb (`default`, `http`, `error`, ...).
    #[serde(rename = "type")]
    pub ty: String,
    /// Dotted category, such as `web.request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Human readable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Structured data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, serde_json::Value>,
    /// Severity.
    pub level: Level,
}

impl Default for Breadcrumb {
    fn default() -> Self {
        Breadcrumb {
            timestamp: now_epoch(),
            ty: "default".to_owned(),
            category: None,
            message: None,
            data: BTreeMap::new(),
            level: Level::Info,
        }
    }
}

impl Breadcrumb {
    /// A breadcrumb with a category and message, timestamped now.
    pub fn new(category: impl Into<String>, message: impl Into<String>) -> Self {
        Breadcrumb {
            category: Some(category.into()),
            message: Some(message.into()),
            ..Default::default()
        }
    }

    /// Sets the level.
    #[must_use]
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Adds one data entry.
    #[must_use]
    pub fn with_data(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}
