use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Contexts keyed by name; each is a JSON object whose `type` says what it describes.
///
/// The SDK fills `os`, `runtime` and `device`; integrations add others (`feedback`, `trace`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Contexts(pub BTreeMap<String, serde_json::Map<String, serde_json::Value>>);

impl Contexts {
    /// True when no context is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets context `key`, of type `ty`, to the given fields.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        ty: &str,
        fields: serde_json::Map<String, serde_json::Value>,
    ) {
        let mut obj = fields;
        obj.insert("type".to_owned(), serde_json::Value::String(ty.to_owned()));
        self.0.insert(key.into(), obj);
    }

    /// The fields of context `key`.
    pub fn get(&self, key: &str) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.0.get(key)
    }
}
