//! The Sentry protocol types: an [`Event`] and its parts, and the [`Envelope`] that carries
//! items to the server.
//!
//! The four types everyday code touches ([`Event`], [`Level`], [`Breadcrumb`], [`User`]) are also
//! at the crate root. The rest are here for code that builds or inspects whole events
//! (`capture_event`, `before_send`) or reads envelopes (tests, custom transports).
//!
//! ```
//! use watchpost::protocol::{Event, Exception, Level};
//!
//! let mut event = Event::new();
//! event.level = Level::Warning;
//! let mut exception = Exception::default();
//! exception.ty = "Timeout".into();
//! event.exception.values.push(exception);
//! assert_eq!(event.exception.values.len(), 1);
//! ```

pub use crate::envelope::{Envelope, EnvelopeError, EnvelopeItem};
pub use crate::event::{
    Attachment, Breadcrumb, Contexts, Event, Exception, Frame, Level, LogEntry, Mechanism, Request,
    SdkInfo, SdkPackage, Stacktrace, User, Values, MAX_ATTACHMENT_BYTES,
};
