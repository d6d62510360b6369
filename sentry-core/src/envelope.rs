//! Envelopes: the framing Sentry ingests (`header\n(item_header\npayload\n)*`).
//!
//! [`Envelope::to_bytes`] writes every item with a `length`; [`Envelope::parse`] reads both the
//! length-prefixed and the newline-terminated item forms, so tests, the offline cache and the mock
//! server can read what any SDK sends.

use crate::event::Event;
use serde_json::{Map, Value};
use std::fmt;
use uuid::Uuid;

/// Why bytes could not be read as an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The envelope header line is missing or not a JSON object.
    #[error("the envelope header is missing or is not a JSON object")]
    BadHeader,
    /// An item header is not a JSON object with a string `type`.
    #[error("item {index} has a malformed header")]
    BadItemHeader {
        /// Position of the item, 0-based.
        index: usize,
    },
    /// An item's `length` runs past the end of the data.
    #[error("item {index} claims {length} bytes but only {available} remain")]
    Truncated {
        /// Position of the item, 0-based.
        index: usize,
        /// The declared length.
        length: usize,
        /// Bytes that were left.
        available: usize,
    },
}

/// One item of an envelope: a JSON header and a payload.
#[derive(Clone, PartialEq)]
pub struct EnvelopeItem {
    headers: Map<String, Value>,
    payload: Vec<u8>,
}

impl EnvelopeItem {
    /// An item of type `ty` with the given payload.
    pub fn new(ty: &str, payload: Vec<u8>) -> Self {
        let mut headers = Map::new();
        headers.insert("type".to_owned(), Value::String(ty.to_owned()));
        EnvelopeItem { headers, payload }
    }

    /// An item whose payload is `value` as JSON.
    pub fn json(ty: &str, value: &impl serde::Serialize) -> Result<Self, serde_json::Error> {
        // An event is rarely under 1 KiB: start there rather than at serde_json's 128 bytes.
        let mut payload = Vec::with_capacity(1024);
        serde_json::to_writer(&mut payload, value)?;
        Ok(Self::new(ty, payload))
    }

    /// Adds a header field (`filename`, `content_type`, ...).
    #[must_use]
    pub fn with_header(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.headers.insert(key.to_owned(), value.into());
        self
    }

    /// The item type (`event`, `attachment`, `client_report`, ...).
    pub fn ty(&self) -> &str {
        self.headers
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The item header.
    pub fn headers(&self) -> &Map<String, Value> {
        &self.headers
    }

    /// The raw payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload parsed as JSON.
    pub fn payload_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }

    /// The rate-limit category this item counts under.
    pub fn category(&self) -> &'static str {
        category_of(self.ty())
    }
}

impl fmt::Debug for EnvelopeItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvelopeItem")
            .field("headers", &self.headers)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// The rate-limit / client-report category of an item type.
pub(crate) fn category_of(item_type: &str) -> &'static str {
    match item_type {
        "event" => "error",
        "transaction" => "transaction",
        "attachment" => "attachment",
        "session" | "sessions" => "session",
        "check_in" => "monitor",
        "feedback" => "feedback",
        "client_report" => "internal",
        "log" => "log_item",
        _ => "default",
    }
}

/// What an item counts as in client reports when it is not delivered: one of its category,
/// except a `log` item, which counts its `item_count` logs (`log_item`) and its payload's bytes
/// (`log_byte`), as the Python SDK reports them.
pub(crate) fn dropped_quantities(item: &EnvelopeItem) -> Vec<(&'static str, u64)> {
    match item.ty() {
        "log" => {
            let logs = item
                .headers
                .get("item_count")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .unwrap_or(1);
            vec![("log_item", logs), ("log_byte", item.payload.len() as u64)]
        }
        _ => vec![(item.category(), 1)],
    }
}

/// An envelope: a header and items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    headers: Map<String, Value>,
    items: Vec<EnvelopeItem>,
}

impl Envelope {
    /// An empty envelope.
    pub fn new() -> Self {
        Self::default()
    }

    /// The envelope this SDK sends for `event`: the `event_id` and `sdk` headers and the event
    /// as one `event` item. Fails only if the event does not serialize.
    ///
    /// ```
    /// use watchpost::protocol::{Envelope, Event};
    ///
    /// let event = Event::new();
    /// let envelope = Envelope::from_event(&event).unwrap();
    /// assert_eq!(envelope.items()[0].ty(), "event");
    /// assert_eq!(envelope.headers()["event_id"], event.event_id.simple().to_string());
    /// ```
    pub fn from_event(event: &Event) -> Result<Envelope, serde_json::Error> {
        let mut envelope = Envelope::from_sdk(Some(event.event_id));
        envelope.add_item(EnvelopeItem::json("event", event)?);
        Ok(envelope)
    }

    /// An envelope from this SDK: the `sdk` header, and `event_id` when given; no items yet.
    pub(crate) fn from_sdk(event_id: Option<Uuid>) -> Envelope {
        let mut envelope = Envelope::new();
        if let Some(id) = event_id {
            let mut buf = Uuid::encode_buffer();
            envelope.set_header("event_id", id.simple().encode_lower(&mut buf).to_owned());
        }
        envelope.set_header(
            "sdk",
            serde_json::json!({"name": crate::SDK_NAME, "version": crate::SDK_VERSION}),
        );
        envelope
    }

    /// Sets an envelope header field (`event_id`, `sdk`, `dsn`, `sent_at`).
    pub fn set_header(&mut self, key: &str, value: impl Into<Value>) {
        self.headers.insert(key.to_owned(), value.into());
    }

    /// Removes an envelope header field.
    pub fn remove_header(&mut self, key: &str) {
        self.headers.remove(key);
    }

    /// The envelope header.
    pub fn headers(&self) -> &Map<String, Value> {
        &self.headers
    }

    /// Appends an item.
    pub fn add_item(&mut self, item: EnvelopeItem) {
        self.items.push(item);
    }

    /// The items, in order.
    pub fn items(&self) -> &[EnvelopeItem] {
        &self.items
    }

    /// Keeps only the items for which `keep` returns true.
    pub fn retain_items(&mut self, keep: impl FnMut(&EnvelopeItem) -> bool) {
        self.items.retain(keep);
    }

    /// The event item's payload as JSON, if the envelope carries an event.
    pub fn event(&self) -> Option<Value> {
        self.items
            .iter()
            .find(|i| i.ty() == "event")
            .and_then(|i| i.payload_json().ok())
    }

    /// The framed bytes, every item with its `length`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self.items.iter().map(|i| i.payload.len() + 64).sum();
        let mut out = Vec::with_capacity(size + 128);
        self.write_to(&mut out);
        out
    }

    /// Writes the framed bytes into `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_json(out, &self.headers);
        out.push(b'\n');
        for item in &self.items {
            // `type` first and `length` last, the order other SDKs write.
            out.extend_from_slice(b"{\"type\":");
            let _ = serde_json::to_writer(&mut *out, item.ty());
            for (k, v) in item
                .headers
                .iter()
                .filter(|(k, _)| *k != "type" && *k != "length")
            {
                out.push(b',');
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                let _ = serde_json::to_writer(&mut *out, v);
            }
            out.extend_from_slice(format!(",\"length\":{}}}\n", item.payload.len()).as_bytes());
            out.extend_from_slice(&item.payload);
            out.push(b'\n');
        }
    }

    /// Reads an envelope. Items may carry `length` or be terminated by a newline.
    pub fn parse(data: &[u8]) -> Result<Envelope, EnvelopeError> {
        let (header_line, mut rest) = split_line(data);
        let headers = match serde_json::from_slice::<Value>(header_line) {
            Ok(Value::Object(m)) => m,
            _ => return Err(EnvelopeError::BadHeader),
        };
        let mut items = Vec::new();
        while !rest.is_empty() {
            let (line, after) = split_line(rest);
            if line.is_empty() {
                // Trailing newline or blank line between items.
                rest = after;
                continue;
            }
            let index = items.len();
            let item_headers = match serde_json::from_slice::<Value>(line) {
                Ok(Value::Object(m)) if m.get("type").is_some_and(Value::is_string) => m,
                _ => return Err(EnvelopeError::BadItemHeader { index }),
            };
            let (payload, after_payload) = match item_headers.get("length").and_then(Value::as_u64)
            {
                Some(len) => {
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    if len > after.len() {
                        return Err(EnvelopeError::Truncated {
                            index,
                            length: len,
                            available: after.len(),
                        });
                    }
                    let (p, r) = after.split_at(len);
                    (p, r.strip_prefix(b"\n").unwrap_or(r))
                }
                None => split_line(after),
            };
            let mut headers = item_headers;
            headers.remove("length");
            items.push(EnvelopeItem {
                headers,
                payload: payload.to_vec(),
            });
            rest = after_payload;
        }
        Ok(Envelope { headers, items })
    }
}

fn write_json(out: &mut Vec<u8>, value: &Map<String, Value>) {
    // Serializing a `Map<String, Value>` into a Vec cannot fail: keys are strings and
    // values are already JSON.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Envelope {
        let mut env = Envelope::new();
        env.set_header("event_id", "9ec79c33ec9942ab8353589fcb2e04dc");
        env.add_item(EnvelopeItem::new(
            "event",
            br#"{"message":"hi\nthere"}"#.to_vec(),
        ));
        env.add_item(
            EnvelopeItem::new("attachment", b"line1\nline2".to_vec())
                .with_header("filename", "a.txt"),
        );
        env
    }

    #[test]
    fn frames_items_with_lengths_byte_exact() {
        let want = concat!(
            "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n",
            "{\"type\":\"event\",\"length\":23}\n",
            "{\"message\":\"hi\\nthere\"}\n",
            "{\"type\":\"attachment\",\"filename\":\"a.txt\",\"length\":11}\n",
            "line1\nline2\n",
        );
        assert_eq!(String::from_utf8(sample().to_bytes()).unwrap(), want);
    }

    #[test]
    fn round_trips() {
        let env = sample();
        assert_eq!(Envelope::parse(&env.to_bytes()).unwrap(), env);
    }

    #[test]
    fn reads_items_without_length() {
        let raw = b"{}\n{\"type\":\"event\"}\n{\"a\":1}\n{\"type\":\"client_report\"}\n{}";
        let env = Envelope::parse(raw).unwrap();
        assert_eq!(env.items().len(), 2);
        assert_eq!(env.items()[0].payload_json().unwrap(), json!({"a": 1}));
        assert_eq!(env.items()[1].ty(), "client_report");
        assert_eq!(env.items()[1].category(), "internal");
    }

    #[test]
    fn a_log_item_counts_its_logs_and_bytes() {
        let item =
            EnvelopeItem::new("log", b"{\"items\":[]}".to_vec()).with_header("item_count", 42);
        assert_eq!(item.category(), "log_item");
        assert_eq!(
            dropped_quantities(&item),
            [("log_item", 42), ("log_byte", 12)]
        );
        let event = EnvelopeItem::new("event", b"{}".to_vec());
        assert_eq!(dropped_quantities(&event), [("error", 1)]);
    }

    #[test]
    fn empty_payload_with_length_zero() {
        let raw = b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n";
        let env = Envelope::parse(raw).unwrap();
        assert_eq!(env.items()[0].payload(), b"");
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        assert_eq!(
            Envelope::parse(b"not json\n"),
            Err(EnvelopeError::BadHeader)
        );
        assert_eq!(
            Envelope::parse(b"{}\n[1]\n"),
            Err(EnvelopeError::BadItemHeader { index: 0 })
        );
        assert_eq!(
            Envelope::parse(b"{}\n{\"type\":\"event\",\"length\":50}\n{}"),
            Err(EnvelopeError::Truncated {
                index: 0,
                length: 50,
                available: 2
            })
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn item() -> impl Strategy<Value = EnvelopeItem> {
            let ty = prop::sample::select(vec!["event", "attachment", "client_report", "x"]);
            let header = prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..3);
            let payload = prop::collection::vec(any::<u8>(), 0..200);
            (ty, header, payload).prop_map(|(ty, headers, payload)| {
                headers
                    .into_iter()
                    .filter(|(k, _)| k != "type" && k != "length")
                    .fold(EnvelopeItem::new(ty, payload), |i, (k, v)| {
                        i.with_header(&k, v)
                    })
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = Envelope::parse(&data);
            }

            #[test]
            fn arbitrary_lines_never_panic(lines in prop::collection::vec(
                prop::sample::select(vec![
                    "{}", "{\"type\":\"event\"}", "{\"type\":\"event\",\"length\":3}",
                    "{\"type\":\"a\",\"length\":99999999999999999999}", "[", "\u{0}", "",
                    "{\"type\":1}", "{\"length\":-1,\"type\":\"b\"}",
                ]),
                0..12,
            )) {
                let _ = Envelope::parse(lines.join("\n").as_bytes());
            }

            #[test]
            fn written_envelopes_read_back_the_same(
                id in "[0-9a-f]{32}",
                items in prop::collection::vec(item(), 0..5),
            ) {
                let mut env = Envelope::new();
                env.set_header("event_id", id);
                for i in items {
                    env.add_item(i);
                }
                let bytes = env.to_bytes();
                let back = Envelope::parse(&bytes).unwrap();
                prop_assert_eq!(&back, &env);
                prop_assert_eq!(back.to_bytes(), bytes);
            }
        }
    }
}
