//! User feedback: what a user says happened, attached to an event (Elixir's "Capturing User
//! Feedback"), and the HTML for Sentry's report dialog on your error page.

use crate::context::Context;
use crate::dsn::Dsn;
use crate::envelope::{Envelope, EnvelopeItem};
use crate::error::SendError;
use crate::event::Event;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Feedback from a user, sent with [`capture_user_feedback`].
///
/// ```
/// use watchpost::UserFeedback;
/// # let event_id = uuid::Uuid::new_v4();
/// let feedback = UserFeedback::new("The page crashed when I pressed Pay.")
///     .name("Ann")
///     .contact_email("ann@example.com")
///     .associated_event_id(event_id)
///     .url("https://shop.example/checkout");
/// # let _ = feedback;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct UserFeedback {
    message: String,
    contact_email: Option<String>,
    name: Option<String>,
    associated_event_id: Option<Uuid>,
    url: Option<String>,
}

impl UserFeedback {
    /// Feedback with the user's message.
    pub fn new(message: impl Into<String>) -> Self {
        UserFeedback {
            message: message.into(),
            contact_email: None,
            name: None,
            associated_event_id: None,
            url: None,
        }
    }

    /// The user's email address.
    pub fn contact_email(mut self, email: impl Into<String>) -> Self {
        self.contact_email = Some(email.into());
        self
    }

    /// The user's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The event the feedback is about, e.g. from [`last_event_id_and_source`](crate::last_event_id_and_source).
    pub fn associated_event_id(mut self, event_id: Uuid) -> Self {
        self.associated_event_id = Some(event_id);
        self
    }

    /// The URL the user was on.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The `feedback` item's payload: an event whose `contexts.feedback` holds the feedback.
    fn to_event(&self, environment: Option<String>, release: Option<String>) -> Event {
        let mut fields = Map::new();
        fields.insert("message".to_owned(), self.message.clone().into());
        let optional = [
            ("contact_email", &self.contact_email),
            ("name", &self.name),
            ("url", &self.url),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                fields.insert(key.to_owned(), v.clone().into());
            }
        }
        if let Some(id) = self.associated_event_id {
            fields.insert(
                "associated_event_id".to_owned(),
                id.simple().to_string().into(),
            );
        }
        let mut event = Event::new();
        event.level = crate::event::Level::Info;
        event.environment = environment;
        event.release = release;
        event.contexts.insert("feedback", "feedback", fields);
        event
    }
}

/// Sends user feedback to Sentry (item `feedback`) and returns the feedback's own event id.
///
/// In the default [`SendResult::Background`](crate::SendResult::Background) mode the feedback
/// goes through the background queue like an event: the call never waits on the network, and
/// `Ok` means it was queued (what happens to it then is counted in [`stats`](crate::stats)). In
/// [`SendResult::Sync`](crate::SendResult::Sync) mode it is sent on the calling thread and the
/// result is the server's answer. Returns [`SendError::NoDsn`] when the SDK is off and
/// [`SendError::QueueFull`] when the queue had no room.
///
/// ```
/// use watchpost::{capture_user_feedback, last_event_id_and_source, UserFeedback};
///
/// if let Some((event_id, _source)) = last_event_id_and_source() {
///     let feedback = UserFeedback::new("It broke when I saved").associated_event_id(event_id);
///     if let Err(err) = capture_user_feedback(feedback) {
///         eprintln!("feedback not sent: {err}");
///     }
/// }
/// ```
pub fn capture_user_feedback(feedback: UserFeedback) -> Result<Uuid, SendError> {
    let Some(client) = Context::current().client() else {
        return Err(SendError::NoDsn);
    };
    let options = client.options();
    let event = feedback.to_event(
        Some(options.environment_name().to_owned()),
        options.release.clone(),
    );
    let event_id = event.event_id;
    let mut envelope = Envelope::from_sdk(Some(event_id));
    let item = EnvelopeItem::json("feedback", &event).map_err(SendError::serialize)?;
    envelope.add_item(item);
    client.send_envelope(event_id, envelope)?;
    Ok(event_id)
}

/// The browser SDK that serves the report dialog.
const BROWSER_SDK: &str = "https://browser.sentry-cdn.com/7.119.0/bundle.min.js";

/// The HTML for Sentry's user-feedback dialog about one event, to put in an error page
/// (Elixir README, "Capturing User Feedback"): the browser SDK, initialized with the public part
/// of the configured DSN, and `Sentry.showReportDialog`.
///
/// ```
/// use watchpost::{last_event_id_and_source, EventSource, ReportDialog};
///
/// let dialog = match last_event_id_and_source() {
///     Some((event_id, EventSource::Http)) => {
///         ReportDialog::new(event_id).option("title", "It looks like we're having issues.").to_html()
///     }
///     _ => None,
/// };
/// let page = format!("<h1>Something went wrong</h1>{}", dialog.unwrap_or_default());
/// # let _ = page;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ReportDialog {
    options: Map<String, Value>,
}

impl ReportDialog {
    /// A dialog about `event_id`.
    pub fn new(event_id: Uuid) -> Self {
        let mut options = Map::new();
        options.insert("eventId".to_owned(), event_id.simple().to_string().into());
        ReportDialog { options }
    }

    /// An option of `Sentry.showReportDialog` (`title`, `subtitle`, `user`, `lang`, ...).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The `<script>` tags, or `None` when the SDK is off (no DSN to give the browser).
    pub fn to_html(&self) -> Option<String> {
        let client = Context::current().client()?;
        let dsn: Dsn = client.options().dsn_str()?.parse().ok()?;
        Some(self.html_for(&dsn))
    }

    fn html_for(&self, dsn: &Dsn) -> String {
        let base = dsn.base_url();
        let (scheme, rest) = base.split_once("://").unwrap_or(("https", base.as_str()));
        let public_dsn = format!(
            "{scheme}://{}@{rest}/{}",
            dsn.public_key(),
            dsn.project_id()
        );
        let init = script_json(&serde_json::json!({ "dsn": public_dsn }));
        let options = script_json(&Value::Object(self.options.clone()));
        format!(
            "<script src=\"{BROWSER_SDK}\" crossorigin=\"anonymous\"></script>\n\
             <script>\n  Sentry.init({init});\n  Sentry.showReportDialog({options});\n</script>\n"
        )
    }
}

/// JSON that is safe inside a `<script>` element: no `</script>` or `<!--` can appear in it.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_event_has_the_feedback_context() {
        let id = Uuid::new_v4();
        let event = UserFeedback::new("broken")
            .name("Ann")
            .associated_event_id(id)
            .to_event(Some("prod".into()), None);
        let fb = event.contexts.get("feedback").expect("feedback context");
        assert_eq!(fb["type"], "feedback");
        assert_eq!(fb["message"], "broken");
        assert_eq!(fb["name"], "Ann");
        assert_eq!(fb["associated_event_id"], id.simple().to_string());
        assert!(!fb.contains_key("contact_email"));
    }

    #[test]
    fn dialog_html_carries_the_public_dsn_only_and_escapes_options() {
        let dsn: Dsn = "https://pub:sec@o1.ingest.example/sub/42"
            .parse()
            .expect("valid DSN");
        let id = Uuid::new_v4();
        let html = ReportDialog::new(id)
            .option("title", "</script><b>")
            .html_for(&dsn);
        assert!(
            html.contains(r#"{"dsn":"https://pub@o1.ingest.example/sub/42"}"#),
            "{html}"
        );
        assert!(!html.contains("sec@"));
        assert!(html.contains(&id.simple().to_string()));
        assert!(!html.contains("</script><b>"));
    }

    #[test]
    fn without_a_client_feedback_is_not_sent() {
        let r = Context::new().run(|| capture_user_feedback(UserFeedback::new("x")));
        assert_eq!(r, Err(SendError::NoDsn));
    }
}
