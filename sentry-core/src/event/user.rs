use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The user affected by an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Application id of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// IP address; `{{auto}}` lets the server fill it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Any other attributes (kept as given).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl User {
    /// A user with just an id.
    pub fn with_id(id: impl Into<String>) -> Self {
        User {
            id: Some(id.into()),
            ..Default::default()
        }
    }
}
