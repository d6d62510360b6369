//! Protocol types: the event and its interfaces, as Sentry's event schema names them.
//!
//! Every type serializes with serde to exactly the JSON Sentry expects. Optional fields are
//! skipped when empty so events stay small and pass strict validation.

mod attachment;
mod breadcrumb;
mod contexts;
mod exception;
mod frame;
mod request;
mod user;

pub(crate) use attachment::AttachmentProblem;
pub use attachment::{Attachment, MAX_ATTACHMENT_BYTES};
pub use breadcrumb::Breadcrumb;
pub use contexts::Contexts;
pub use exception::{Exception, Mechanism};
pub use frame::{Frame, Stacktrace};
pub use request::Request;
pub use user::User;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Severity of an event or breadcrumb.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Debugging information.
    Debug,
    /// Informational.
    Info,
    /// A warning.
    Warning,
    /// An error (the default for events).
    #[default]
    Error,
    /// A fatal error: the process is about to end.
    Fatal,
}

impl Level {
    /// The name Sentry uses on the wire (`"warning"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            "fatal" | "critical" => Ok(Level::Fatal),
            other => Err(format!(
                "unknown level `{other}` (expected debug, info, warning, error or fatal)"
            )),
        }
    }
}

/// A message with its unformatted template and parameters (Sentry's `logentry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogEntry {
    /// The message as the user sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The template the message was made from, if different (used for grouping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Parameters that were put into the template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<serde_json::Value>,
}

impl LogEntry {
    /// A plain message with no template.
    pub fn new(formatted: impl Into<String>) -> Self {
        LogEntry {
            formatted: Some(formatted.into()),
            message: None,
            params: Vec::new(),
        }
    }
}

/// The name and version of a package that makes up the SDK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdkPackage {
    /// Package name, such as `cargo:watchpost`.
    pub name: String,
    /// Package version.
    pub version: String,
}

/// Information about the SDK that sent the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SdkInfo {
    /// SDK name.
    pub name: String,
    /// SDK version.
    pub version: String,
    /// Integrations that are enabled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<String>,
    /// Packages that make up the SDK.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<SdkPackage>,
}

impl Default for SdkInfo {
    fn default() -> Self {
        SdkInfo {
            name: crate::SDK_NAME.to_owned(),
            version: crate::SDK_VERSION.to_owned(),
            integrations: Vec::new(),
            packages: vec![SdkPackage {
                name: format!("cargo:{}", env!("CARGO_PKG_NAME")),
                version: crate::SDK_VERSION.to_owned(),
            }],
        }
    }
}

/// The list wrapper Sentry uses for exceptions and breadcrumbs: `{"values": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Values<T> {
    /// The items, oldest first.
    pub values: Vec<T>,
}

impl<T> Default for Values<T> {
    fn default() -> Self {
        Values { values: Vec::new() }
    }
}

impl<T> Values<T> {
    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A Sentry event: an error, a panic or a message, with everything known about where it happened.
///
/// Build one with [`Event::new`] and set the fields you need; the SDK fills in the rest
/// (timestamp, platform, SDK info, contexts, the scope's tags/user/extra/breadcrumbs) when it is captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// Unique id: UUID v4, sent as 32 lowercase hex characters.
    #[serde(with = "uuid_simple")]
    pub event_id: Uuid,
    /// When the event happened, seconds since the Unix epoch.
    pub timestamp: f64,
    /// Always `native` for Rust (Sentry has no `rust` platform).
    pub platform: String,
    /// Severity.
    pub level: Level,
    /// Name of the logger that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The transaction (e.g. route) the event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// Host that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Release of the application, such as `my-app@1.2.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Distribution of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist: Option<String>,
    /// Environment, such as `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// A message, for message events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logentry: Option<LogEntry>,
    /// Exceptions, root cause first; the last one is the event's title.
    #[serde(default, skip_serializing_if = "Values::is_empty")]
    pub exception: Values<Exception>,
    /// Indexed string tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Arbitrary extra data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Grouping override; `{{ default }}` keeps Sentry's default grouping in the mix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<String>,
    /// Dependencies of the application: name → version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modules: BTreeMap<String, String>,
    /// The user affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The HTTP request being handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Contexts keyed by type (`os`, `runtime`, `device`, ...).
    #[serde(default, skip_serializing_if = "Contexts::is_empty")]
    pub contexts: Contexts,
    /// Trail of events that led up to this one, oldest first.
    #[serde(default, skip_serializing_if = "Values::is_empty")]
    pub breadcrumbs: Values<Breadcrumb>,
    /// The SDK that sent the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<SdkInfo>,
    /// Sentry's `_meta`: what the SDK trimmed to keep the event within Relay's limits, shaped
    /// like the event (`meta["extra"]["big"][""]` describes `extra.big`). Sent only when
    /// something was trimmed.
    #[serde(
        default,
        rename = "_meta",
        skip_serializing_if = "serde_json::Map::is_empty"
    )]
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Files sent with the event, in its envelope (not part of its JSON).
    #[serde(skip)]
    pub(crate) attachments: Vec<Attachment>,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            event_id: Uuid::new_v4(),
            timestamp: now_epoch(),
            platform: "native".to_owned(),
            level: Level::Error,
            logger: None,
            transaction: None,
            server_name: None,
            release: None,
            dist: None,
            environment: None,
            logentry: None,
            exception: Values::default(),
            tags: BTreeMap::new(),
            extra: BTreeMap::new(),
            fingerprint: Vec::new(),
            modules: BTreeMap::new(),
            user: None,
            request: None,
            contexts: Contexts::default(),
            breadcrumbs: Values::default(),
            sdk: None,
            meta: serde_json::Map::new(),
            attachments: Vec::new(),
        }
    }
}

impl Event {
    /// A new event with a fresh id, the current time and level `error`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A message event.
    pub fn message(message: impl Into<String>, level: Level) -> Self {
        Event {
            logentry: Some(LogEntry::new(message)),
            level,
            ..Self::default()
        }
    }

    /// The event's title as Sentry shows it: the last exception, or the message.
    pub fn title(&self) -> String {
        if let Some(exc) = self.exception.values.last() {
            match &exc.value {
                Some(v) => format!("{}: {}", exc.ty, v),
                None => exc.ty.clone(),
            }
        } else if let Some(msg) = self.logentry.as_ref().and_then(|l| l.formatted.as_ref()) {
            msg.clone()
        } else {
            "<unlabeled event>".to_owned()
        }
    }
}

/// Seconds since the Unix epoch, as a float with microsecond precision.
pub(crate) fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Serializes a UUID as 32 lowercase hex characters, accepting the hyphenated form on input.
pub(crate) mod uuid_simple {
    use serde::{Deserialize, Deserializer, Serializer};
    use uuid::Uuid;

    pub(crate) fn serialize<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Uuid::encode_buffer();
        s.serialize_str(id.simple().encode_lower(&mut buf))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Uuid::parse_str(&s).map_err(serde::de::Error::custom)
    }
}
