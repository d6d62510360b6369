//! What the [`MockServer`](super::MockServer) received: one HTTP request, decoded.

use crate::envelope::Envelope;
use serde_json::Value;
use std::io::Read;

/// Bodies inflate to at most this many bytes (Sentry's limit for a whole envelope).
const MAX_DECODED_BODY: u64 = 200 * 1024 * 1024;

/// One request the [`MockServer`](super::MockServer) received, with its body decompressed and
/// read as an envelope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The method, such as `POST`.
    pub method: String,
    /// The path, such as `/api/1/envelope/`.
    pub path: String,
    /// The query string without `?`, if there was one.
    pub query: Option<String>,
    /// The headers in the order received, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub raw_body: Vec<u8>,
    /// The body after undoing `Content-Encoding: gzip` or `deflate`; the raw body otherwise.
    pub body: Vec<u8>,
    /// The body read as an envelope; `None` when it is not one (see `decode_error`).
    pub envelope: Option<Envelope>,
    /// Why the body could not be decompressed or read as an envelope.
    pub decode_error: Option<String>,
    /// When the server had read the whole request.
    pub received_at: std::time::SystemTime,
}

impl ReceivedRequest {
    pub(crate) fn new(
        method: String,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        raw_body: Vec<u8>,
    ) -> Self {
        let encoding = headers
            .iter()
            .find(|(k, _)| k == "content-encoding")
            .map(|(_, v)| v.trim().to_ascii_lowercase());
        let decoded = match encoding.as_deref() {
            Some("gzip") => inflate(flate2::read::GzDecoder::new(raw_body.as_slice())),
            Some("deflate") => inflate(flate2::read::ZlibDecoder::new(raw_body.as_slice())),
            _ => Ok(raw_body.clone()),
        };
        let (body, envelope, decode_error) = match decoded {
            Ok(body) => match Envelope::parse(&body) {
                Ok(env) => (body, Some(env), None),
                Err(e) => (body, None, Some(format!("not an envelope: {e}"))),
            },
            Err(e) => (
                raw_body.clone(),
                None,
                Some(format!(
                    "the {} body could not be decoded: {e}",
                    encoding.unwrap_or_default()
                )),
            ),
        };
        ReceivedRequest {
            method,
            path,
            query,
            headers,
            raw_body,
            body,
            envelope,
            decode_error,
            received_at: std::time::SystemTime::now(),
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::transport::find_header(&self.headers, name)
    }

    /// The envelope's `event_id` header.
    pub fn event_id(&self) -> Option<&str> {
        self.envelope.as_ref()?.headers().get("event_id")?.as_str()
    }

    /// The payloads of the items of type `ty`, as JSON (items that are not JSON are skipped).
    pub fn items_json(&self, ty: &str) -> Vec<Value> {
        self.envelope
            .as_ref()
            .map(|env| {
                env.items()
                    .iter()
                    .filter(|i| i.ty() == ty)
                    .filter_map(|i| i.payload_json().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The event item's payload, if the envelope carries one.
    pub fn event(&self) -> Option<Value> {
        self.envelope.as_ref()?.event()
    }
}

fn inflate(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(MAX_DECODED_BODY).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EnvelopeItem;
    use std::io::Write;

    fn envelope_bytes() -> Vec<u8> {
        let mut env = Envelope::new();
        env.set_header("event_id", "abc");
        env.add_item(EnvelopeItem::new("event", br#"{"message":"m"}"#.to_vec()));
        env.to_bytes()
    }

    #[test]
    fn gzip_bodies_are_decoded_and_parsed() {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&envelope_bytes()).expect("gzip into a Vec");
        let raw = z.finish().expect("gzip into a Vec");
        let headers = vec![("content-encoding".to_owned(), "gzip".to_owned())];
        let r = ReceivedRequest::new("POST".into(), "/".into(), None, headers, raw.clone());
        assert_eq!(r.raw_body, raw);
        assert_eq!(r.body, envelope_bytes());
        assert_eq!(r.event_id(), Some("abc"));
        assert_eq!(r.event().expect("an event")["message"], "m");
        assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    }

    #[test]
    fn bad_bodies_keep_the_reason() {
        let r = ReceivedRequest::new(
            "POST".into(),
            "/".into(),
            None,
            Vec::new(),
            b"nope".to_vec(),
        );
        assert_eq!(r.envelope, None);
        assert_eq!(
            r.decode_error.as_deref(),
            Some("not an envelope: the envelope header is missing or is not a JSON object")
        );
        let headers = vec![("content-encoding".to_owned(), "gzip".to_owned())];
        let r = ReceivedRequest::new(
            "POST".into(),
            "/".into(),
            None,
            headers,
            b"not gzip".to_vec(),
        );
        assert_eq!(r.envelope, None);
        assert!(r
            .decode_error
            .expect("a decode error")
            .starts_with("the gzip body could not be decoded"));
        assert_eq!(r.body, b"not gzip");
    }
}
