//! Recording the request body as the handler reads it (opt-in), trimmed to a size limit, so that
//! events captured during the request carry it in `request.data`.

use super::scrub::BodyScrubber;
use crate::context::Context;
use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use serde_json::Value;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

/// The kinds of bodies worth recording; anything else (binary, multipart uploads) is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Form,
    Text,
}

impl BodyKind {
    /// The kind for a `Content-Type` value, `None` for bodies that are not recorded.
    pub(crate) fn from_content_type(content_type: &str) -> Option<BodyKind> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if mime == "application/json" || mime.ends_with("+json") {
            Some(BodyKind::Json)
        } else if mime == "application/x-www-form-urlencoded" {
            Some(BodyKind::Form)
        } else if mime.starts_with("text/") || mime == "application/xml" || mime.ends_with("+xml") {
            Some(BodyKind::Text)
        } else {
            None
        }
    }
}

/// Why a request body is not in `request.data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeftOut {
    /// A plain-text or XML body, and `capture_text_bodies` is off.
    TextNotOptedIn,
    /// Binary, multipart or of an unknown type: never recorded.
    Binary,
    /// Declared JSON but not valid JSON, or nested deeper than the parser goes (128 levels).
    InvalidJson,
}

impl LeftOut {
    fn reason(self) -> &'static str {
        match self {
            LeftOut::TextNotOptedIn => {
                "text body: no structure the scrubber understands; opt in with capture_text_bodies"
            }
            LeftOut::Binary => "binary, multipart or unknown body type",
            LeftOut::InvalidJson => "not valid JSON, or nested deeper than 128 levels",
        }
    }
}

/// Says on the request's scope, as the `request_body` context, that the body is not recorded
/// and why: `{"recorded": false, "content_type": "text/plain", "reason": "..."}`.
pub(crate) fn note_body_left_out(context: &Context, content_type: Option<&str>, why: LeftOut) {
    let mut fields = serde_json::Map::new();
    fields.insert("recorded".to_owned(), false.into());
    if let Some(content_type) = content_type {
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        fields.insert("content_type".to_owned(), mime.into());
    }
    fields.insert("reason".to_owned(), why.reason().into());
    context.update_scope(|scope| scope.set_context("request_body", fields));
}

/// Copies the first `limit` bytes of a body and keeps `request.data` of the request's scope up
/// to date with them, scrubbed.
pub(crate) struct Recorder {
    context: Context,
    kind: BodyKind,
    limit: usize,
    buf: Vec<u8>,
    truncated: bool,
    done: bool,
    scrubber: Arc<dyn BodyScrubber>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("kind", &self.kind)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    pub(crate) fn new(
        context: Context,
        kind: BodyKind,
        limit: usize,
        scrubber: Arc<dyn BodyScrubber>,
    ) -> Self {
        Recorder {
            context,
            kind,
            limit,
            buf: Vec::new(),
            truncated: false,
            done: false,
            scrubber,
        }
    }

    fn push(&mut self, data: &impl Buf) {
        if self.done {
            return;
        }
        let mut slices = [std::io::IoSlice::new(&[]); 16];
        let n = data.chunks_vectored(&mut slices);
        for chunk in &slices[..n] {
            let room = self.limit - self.buf.len();
            if chunk.len() > room {
                self.buf.extend_from_slice(&chunk[..room]);
                self.truncated = true;
                break;
            }
            self.buf.extend_from_slice(chunk);
        }
        if self.truncated {
            self.finish();
        } else if self.kind != BodyKind::Json {
            // Partial form and text bodies are worth having if the handler fails mid-read.
            self.publish();
        }
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.publish();
        }
    }

    fn publish(&self) {
        // Until the body is complete, its end may be cut anywhere: mid-pair or mid-number.
        let partial = self.truncated || !self.done;
        let Some(mut value) = body_value(self.kind, &self.buf, partial, self.limit) else {
            if self.kind == BodyKind::Json && self.done && !self.buf.is_empty() {
                note_body_left_out(&self.context, None, LeftOut::InvalidJson);
            }
            return;
        };
        self.scrubber.scrub_body(&mut value);
        self.context.update_scope(|scope| {
            if let Some(request) = scope.request.as_mut() {
                request.data = Some(value);
            }
        });
    }
}

/// The `request.data` value of a recorded body; `truncated` when `buf` may not hold all of it.
pub(crate) fn body_value(
    kind: BodyKind,
    buf: &[u8],
    truncated: bool,
    limit: usize,
) -> Option<Value> {
    if buf.is_empty() {
        return None;
    }
    match kind {
        BodyKind::Json if truncated => Some(Value::String(format!(
            "[JSON body larger than {limit} bytes]"
        ))),
        // Not (yet) valid: half read, or not JSON at all. Never send it raw: it may hold secrets.
        BodyKind::Json => serde_json::from_slice(buf).ok(),
        BodyKind::Form => {
            let text = String::from_utf8_lossy(buf);
            // A trimmed body ends in a partial pair; leave it out.
            let text = if truncated {
                text.rsplit_once('&').map_or("", |(whole, _)| whole)
            } else {
                &text
            };
            let map = text
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(k), Value::String(percent_decode(v)))
                })
                .collect();
            Some(Value::Object(map))
        }
        BodyKind::Text => {
            let text = String::from_utf8_lossy(buf);
            // A cut body may end in the first digits of a card number, too few to be recognised.
            let text = if truncated {
                text.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-')
            } else {
                &text
            };
            Some(Value::String(text.to_owned()))
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte (a `%` not
/// followed by two hex digits stays as it is).
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

pin_project_lite::pin_project! {
    /// A request body that records what the handler reads of it (up to the limit given to
    /// [`SentryLayer::capture_request_body`](super::SentryLayer::capture_request_body)) into the
    /// request's Sentry scope. Frames pass through unchanged.
    pub struct RecordingBody<B> {
        #[pin]
        inner: B,
        recorder: Option<Box<Recorder>>,
    }
}

impl<B> fmt::Debug for RecordingBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingBody")
            .field("recording", &self.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> RecordingBody<B> {
    pub(crate) fn new(inner: B, recorder: Option<Recorder>) -> Self {
        RecordingBody {
            inner,
            recorder: recorder.map(Box::new),
        }
    }

    /// The wrapped body, without recording.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for RecordingBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Some(recorder) = this.recorder.as_deref_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        recorder.push(data);
                    }
                }
                Poll::Ready(None) => recorder.finish(),
                _ => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Turns a [`RecordingBody`] back into the body type the inner service takes. Set with
/// [`SentryLayer::capture_request_body`](super::SentryLayer::capture_request_body); for axum it
/// is `axum::body::Body::new`.
///
/// Any `Fn(RecordingBody<B>) -> B` closure or function is a `WrapBody<B>`; `()` (the default)
/// records nothing and passes the body on unchanged.
pub trait WrapBody<B>: Send + Sync {
    /// The body to hand to the inner service.
    fn wrap(&self, body: RecordingBody<B>) -> B;

    /// False when bodies are passed on without recording.
    fn records(&self) -> bool {
        true
    }
}

impl<B> WrapBody<B> for () {
    fn wrap(&self, body: RecordingBody<B>) -> B {
        body.into_inner()
    }

    fn records(&self) -> bool {
        false
    }
}

impl<B, F: Fn(RecordingBody<B>) -> B + Send + Sync> WrapBody<B> for F {
    fn wrap(&self, body: RecordingBody<B>) -> B {
        self(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_choose_the_kind() {
        assert_eq!(
            BodyKind::from_content_type("application/json; charset=utf-8"),
            Some(BodyKind::Json)
        );
        assert_eq!(
            BodyKind::from_content_type("application/vnd.api+json"),
            Some(BodyKind::Json)
        );
        assert_eq!(
            BodyKind::from_content_type("application/x-www-form-urlencoded"),
            Some(BodyKind::Form)
        );
        assert_eq!(
            BodyKind::from_content_type("text/plain"),
            Some(BodyKind::Text)
        );
        assert_eq!(
            BodyKind::from_content_type("multipart/form-data; boundary=x"),
            None
        );
        assert_eq!(
            BodyKind::from_content_type("application/octet-stream"),
            None
        );
    }

    #[test]
    fn form_bodies_become_objects_and_trimmed_pairs_are_dropped() {
        let v = body_value(BodyKind::Form, b"name=Ann+Lee&city=K%C3%B6ln", false, 100)
            .expect("a value");
        assert_eq!(v, serde_json::json!({"name": "Ann Lee", "city": "Köln"}));
        let v = body_value(BodyKind::Form, b"a=1&b=2&passw", true, 13).expect("a value");
        assert_eq!(v, serde_json::json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn json_bodies_are_parsed_or_left_out() {
        assert_eq!(
            body_value(BodyKind::Json, br#"{"a":1}"#, false, 100),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            body_value(BodyKind::Json, br#"{"password":"x""#, false, 100),
            None
        );
        let trimmed = body_value(BodyKind::Json, br#"{"password":"x""#, true, 15).expect("a value");
        assert_eq!(trimmed, "[JSON body larger than 15 bytes]");
    }

    #[test]
    fn a_cut_text_body_loses_a_trailing_partial_number() {
        let v = body_value(BodyKind::Text, b"card 4111 1111 11", true, 17).expect("a value");
        assert_eq!(v, "card");
        let v = body_value(BodyKind::Text, b"card 4111 1111 11", false, 100).expect("a value");
        assert_eq!(v, "card 4111 1111 11");
    }

    #[test]
    fn a_json_body_nested_100_000_deep_is_left_out_without_overflowing() {
        let depth = 100_000;
        let mut body = "[".repeat(depth);
        body.push_str(&"]".repeat(depth));
        assert_eq!(
            body_value(BodyKind::Json, body.as_bytes(), false, body.len()),
            None
        );
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
