//! [`Attachment`]: a file or bytes sent with an event (a config dump, a log tail).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// The largest attachment sent, in bytes: Relay's `max_attachment_size` (100 MiB), and the
/// default of [`ClientOptions::max_attachment_size`](crate::ClientOptions::max_attachment_size).
/// A larger one is left out of the envelope and counted (`send_error`, category `attachment`).
pub const MAX_ATTACHMENT_BYTES: usize = 100 * 1024 * 1024;

/// A file or bytes sent with an event, per event
/// ([`CaptureOptions::attachment`](crate::CaptureOptions::attachment)) or for every event of a
/// context ([`Scope::add_attachment`](crate::Scope::add_attachment)).
///
/// A file is read when the event is sent, on the worker, not when it is attached.
///
/// ```
/// use watchpost::{capture_message_with, Attachment, CaptureOptions, Level};
///
/// let config = Attachment::bytes("config.toml", b"workers = 4\n".to_vec()).content_type("text/plain");
/// capture_message_with("config rejected", Level::Error, CaptureOptions::new().attachment(config));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    filename: String,
    content_type: Option<String>,
    attachment_type: String,
    data: Data,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Bytes(Arc<[u8]>),
    Path(PathBuf),
}

impl Attachment {
    /// `data`, sent as a file named `filename`.
    pub fn bytes(filename: impl Into<String>, data: impl Into<Arc<[u8]>>) -> Self {
        Attachment {
            filename: filename.into(),
            content_type: None,
            attachment_type: "event.attachment".to_owned(),
            data: Data::Bytes(data.into()),
        }
    }

    /// The file at `path`, read when the event is sent, named by its file name.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let filename = path.file_name().map_or_else(
            || "attachment".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        Attachment {
            filename,
            content_type: None,
            attachment_type: "event.attachment".to_owned(),
            data: Data::Path(path),
        }
    }

    /// Its MIME type, such as `text/plain` (Sentry guesses from the name otherwise).
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sentry's attachment type; default `event.attachment`.
    #[must_use]
    pub fn attachment_type(mut self, ty: impl Into<String>) -> Self {
        self.attachment_type = ty.into();
        self
    }

    /// Its file name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// Bytes it holds in memory (a file: none until it is read).
    pub(crate) fn held_bytes(&self) -> usize {
        match &self.data {
            Data::Bytes(b) => b.len(),
            Data::Path(_) => 0,
        }
    }

    /// Its content, at most `limit` bytes: `Err` says why it cannot be sent. A file is read
    /// no further than one byte past the limit.
    pub(crate) fn load(&self, limit: usize) -> Result<Vec<u8>, AttachmentProblem> {
        match &self.data {
            Data::Bytes(b) if b.len() > limit => Err(AttachmentProblem::TooLarge),
            Data::Bytes(b) => Ok(b.to_vec()),
            Data::Path(path) => {
                let file = std::fs::File::open(path).map_err(|_| AttachmentProblem::Unreadable)?;
                let mut data = Vec::new();
                file.take(limit as u64 + 1)
                    .read_to_end(&mut data)
                    .map_err(|_| AttachmentProblem::Unreadable)?;
                if data.len() > limit {
                    return Err(AttachmentProblem::TooLarge);
                }
                Ok(data)
            }
        }
    }

    /// The envelope item's headers besides `type` and `length`.
    pub(crate) fn item_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("filename", self.filename.clone()),
            ("attachment_type", self.attachment_type.clone()),
        ];
        if let Some(ct) = &self.content_type {
            headers.push(("content_type", ct.clone()));
        }
        headers
    }
}

/// Why an attachment was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttachmentProblem {
    /// Over [`MAX_ATTACHMENT_BYTES`].
    TooLarge,
    /// Its file could not be read.
    Unreadable,
}
