//! Scrubbing by pattern, for text the structured scrubber cannot take apart: plain-text and XML
//! bodies, and every single string value (JSON strings, form values, header, cookie and query
//! values).
//!
//! [`scrub_text`] runs, in order:
//! 1. XML/HTML elements whose name is sensitive: their content becomes `[Filtered]`;
//! 2. `key=value`, `key: value` and `"key": value` pairs (also XML attributes) whose key is
//!    sensitive: their value becomes `[Filtered]`;
//! 3. values recognised by their shape (see [`values`](super::values)): card numbers (13 to 19
//!    digits, optionally grouped by single spaces or dashes, Luhn-valid), IBANs, US social
//!    security numbers, URL passwords and PEM private keys (and IP addresses, when asked) become
//!    `[Filtered]`;
//! 4. text that still mentions a credential (`password`, `secret`, `token`, `auth`, ...) becomes
//!    `[Filtered]` as a whole, as Sentry's server-side scrubber (Relay) does with such values.
//!
//! Every pass is a single scan over the text (the closing-tag search is bounded), so hostile
//! input costs time linear in its length.

use super::scrub::{is_sensitive_key, FILTERED};
use super::values::{find, replace_ranges, replace_sensitive_values};
use std::ops::Range;

/// Words that make a whole value sensitive when they appear anywhere in it, in any case: the
/// value patterns of Relay's default `@password` rule, plus `bearer` (its `@bearer` rule).
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "auth",
    "credentials",
    "api_key",
    "apikey",
    "private_key",
    "privatekey",
    "mysql_pwd",
    "bearer",
];

/// How far past an opening tag the matching closing tag is looked for.
const CLOSING_TAG_WINDOW: usize = 4096;

/// `text` scrubbed by pattern (see the module docs), IP addresses too when `ip_addresses`;
/// `None` when nothing was found.
pub(crate) fn scrub_text(text: &str, ip_addresses: bool) -> Option<String> {
    let xml = scrub_xml_elements(text);
    let current = xml.as_deref().unwrap_or(text);
    let pairs = scrub_pairs(current);
    let current = pairs.as_deref().unwrap_or(current);
    let values = replace_sensitive_values(current, ip_addresses);
    let current = values.as_deref().unwrap_or(current);
    if mentions_credential(current) {
        return Some(FILTERED.to_owned());
    }
    values.or(pairs).or(xml)
}

/// True when `text` contains one of [`CREDENTIAL_WORDS`], ignoring case.
pub(crate) fn mentions_credential(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|w| lower.contains(w))
}

/// Bytes a key or an element name is made of.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']' | b':')
}

/// Bytes that end an unquoted value.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'&' | b';'
                | b','
                | b'<'
                | b'>'
                | b'"'
                | b'\''
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'('
                | b')'
        )
}

/// Values of `key=value`, `key: value`, `"key": value` and `key="value"` pairs whose key is
/// sensitive replaced by `[Filtered]`.
pub(crate) fn scrub_pairs(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_key_byte(b[i]) || (i > 0 && is_key_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < b.len() && is_key_byte(b[i]) {
            i += 1;
        }
        let key_end = i;
        let mut j = key_end;
        if j < b.len() && matches!(b[j], b'"' | b'\'') {
            j += 1;
        }
        j = skip_blanks(b, j);
        if j >= b.len() || !matches!(b[j], b'=' | b':') {
            continue;
        }
        j = skip_blanks(b, j + 1);
        let Some(key) = text.get(key_start..key_end) else {
            continue;
        };
        if !is_sensitive_key(key) {
            continue;
        }
        let value = value_span(b, j);
        if !value.is_empty() {
            i = value.end;
            ranges.push(value);
        }
    }
    replace_ranges(text, &ranges)
}

/// Bytes of a key (no `:`, which separates a key from its value).
fn is_key_byte(b: u8) -> bool {
    b != b':' && is_name_byte(b)
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// The value starting at `start`: inside quotes when quoted (to the closing quote or the end of
/// the line), else up to the first byte that [`ends_value`].
fn value_span(b: &[u8], start: usize) -> Range<usize> {
    match b.get(start) {
        Some(&quote @ (b'"' | b'\'')) => {
            let mut k = start + 1;
            while k < b.len() && b[k] != quote && b[k] != b'\n' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            start + 1..k.min(b.len())
        }
        _ => {
            let mut k = start;
            while k < b.len() && !ends_value(b[k]) {
                k += 1;
            }
            start..k
        }
    }
}

/// The content of XML/HTML elements with a sensitive name (`<password>…</password>`) replaced
/// by `[Filtered]`: up to the matching closing tag when it follows within a few KiB, else up to
/// the next tag.
pub(crate) fn scrub_xml_elements(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' || !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        let name_start = i + 1;
        let mut k = name_start;
        while k < b.len() && is_name_byte(b[k]) {
            k += 1;
        }
        let name_end = k;
        while k < b.len() && b[k] != b'>' && b[k] != b'<' {
            k += 1;
        }
        if k >= b.len() || b[k] != b'>' || b[k - 1] == b'/' {
            i = k;
            continue;
        }
        let content_start = k + 1;
        i = content_start;
        let Some(name) = lower.get(name_start..name_end) else {
            continue;
        };
        if !is_sensitive_key(name) {
            continue;
        }
        let window_end = (content_start + CLOSING_TAG_WINDOW).min(b.len());
        let window = lower
            .as_bytes()
            .get(content_start..window_end)
            .unwrap_or(&[]);
        let closing = format!("</{name}");
        let content_end = find(window, closing.as_bytes())
            .or_else(|| window.iter().position(|&c| c == b'<'))
            .map_or(window_end, |at| content_start + at);
        if content_end > content_start {
            ranges.push(content_start..content_end);
            i = content_end;
        }
    }
    replace_ranges(text, &ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_sensitive_keys_lose_their_values() {
        assert_eq!(
            scrub_pairs("user=bob&session=abc123&note=hi").as_deref(),
            Some("user=bob&session=[Filtered]&note=hi")
        );
        assert_eq!(
            scrub_pairs("X-Api-Key: k-123\nAccept: text/html").as_deref(),
            Some("X-Api-Key: [Filtered]\nAccept: text/html")
        );
        assert_eq!(
            scrub_pairs(r#"{"sid": "a\"b", "n": 1}"#).as_deref(),
            Some(r#"{"sid": "[Filtered]", "n": 1}"#)
        );
        assert_eq!(
            scrub_pairs(r#"<login user="ann" jwt='e.y.j'/>"#).as_deref(),
            Some(r#"<login user="ann" jwt='[Filtered]'/>"#)
        );
        assert_eq!(
            scrub_pairs("see http://x/?page=2&csrf=abc").as_deref(),
            Some("see http://x/?page=2&csrf=[Filtered]")
        );
        assert_eq!(scrub_pairs("name=ann; theme=dark"), None);
    }

    #[test]
    fn xml_elements_with_sensitive_names_lose_their_content() {
        assert_eq!(
            scrub_xml_elements("<a><SessionId>S3</SessionId><b>ok</b></a>").as_deref(),
            Some("<a><SessionId>[Filtered]</SessionId><b>ok</b></a>")
        );
        assert_eq!(
            scrub_xml_elements("<sso><user>ann</user><ticket>t</ticket></sso><x>1</x>").as_deref(),
            Some("<sso>[Filtered]</sso><x>1</x>")
        );
        assert_eq!(scrub_xml_elements("<key/><b>1</b>"), None);
        assert_eq!(
            scrub_xml_elements("<key>never closed").as_deref(),
            Some("<key>[Filtered]")
        );
    }

    #[test]
    fn text_mentioning_a_credential_is_filtered_whole() {
        assert_eq!(
            scrub_text("user=bob&password=S1", false).as_deref(),
            Some(FILTERED)
        );
        assert_eq!(
            scrub_text("<login><password>S2</password></login>", false).as_deref(),
            Some(FILTERED)
        );
        assert_eq!(
            scrub_text("card 4111-1111-1111-1111 for csrf=x", false).as_deref(),
            Some("card [Filtered] for csrf=[Filtered]")
        );
        assert_eq!(scrub_text("plain words, order 12", false), None);
    }

    #[test]
    fn hostile_text_is_scanned_without_blowing_up() {
        let opens = "<key>x".repeat(5_000);
        assert_eq!(
            scrub_text(&opens, false),
            Some("<key>[Filtered]".repeat(5_000))
        );
        let digits = "1 ".repeat(50_000);
        assert!(
            crate::integrations::tower::values::card_numbers(&digits).len() <= digits.len() / 26
        );
        let quotes = "key=\"".repeat(20_000);
        assert!(scrub_pairs(&quotes).is_some());
    }
}
