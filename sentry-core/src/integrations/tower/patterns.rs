//! Scrubbing by pattern, for text the structured scrubber cannot take apart: plain-text and XML
//! bodies, and every single string value (JSON strings, form values, header, cookie and query
//! values).
//!
//! [`scrub_text`] runs, in order:
//! 1. XML/HTML elements whose name is sensitive: their content becomes `[Filtered]`;
//! 2. `key=value`, `key: value` and `"key": value` pairs (also XML attributes) whose key is
//!    sensitive: their value becomes `[Filtered]`;
//! 3. card numbers (13 to 19 digits, optionally grouped by single spaces or dashes, Luhn-valid)
//!    become `[Filtered]`;
//! 4. text that still mentions a credential (`password`, `secret`, `token`, `auth`, ...) becomes
//!    `[Filtered]` as a whole, as Sentry's server-side scrubber (Relay) does with such values.
//!
//! Every pass is a single scan over the text (the closing-tag search is bounded), so hostile
//! input costs time linear in its length.

use super::scrub::{is_sensitive_key, FILTERED};
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

/// `text` scrubbed by pattern (see the module docs); `None` when nothing was found.
pub(crate) fn scrub_text(text: &str) -> Option<String> {
    let xml = scrub_xml_elements(text);
    let current = xml.as_deref().unwrap_or(text);
    let pairs = scrub_pairs(current);
    let current = pairs.as_deref().unwrap_or(current);
    let cards = replace_card_numbers(current);
    let current = cards.as_deref().unwrap_or(current);
    if mentions_credential(current) {
        return Some(FILTERED.to_owned());
    }
    cards.or(pairs).or(xml)
}

/// True when `text` contains one of [`CREDENTIAL_WORDS`], ignoring case.
pub(crate) fn mentions_credential(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|w| lower.contains(w))
}

/// Replaces each `range` of `text` (sorted, not overlapping, on char boundaries) by `[Filtered]`.
fn replace_ranges(text: &str, ranges: &[Range<usize>]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for range in ranges {
        // The scanners only cut next to ASCII bytes, so these are char boundaries; `get` keeps a
        // mistake from becoming a panic.
        out.push_str(text.get(copied..range.start)?);
        out.push_str(FILTERED);
        copied = range.end;
    }
    out.push_str(text.get(copied..)?);
    Some(out)
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` with every card number replaced by `[Filtered]`; `None` when it has none.
pub(crate) fn replace_card_numbers(text: &str) -> Option<String> {
    replace_ranges(text, &card_numbers(text))
}

/// Where card numbers are in `text`: 13 to 19 digits in groups separated by one space or dash,
/// passing the Luhn check, not glued to letters or other digits. When a run of groups is longer
/// than a card, the longest card starting at each group is taken.
pub(crate) fn card_numbers(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // The run of digit groups starting here.
        let mut groups: Vec<Range<usize>> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            groups.push(start..j);
            let separated =
                j + 1 < b.len() && matches!(b[j], b' ' | b'-') && b[j + 1].is_ascii_digit();
            if !separated {
                break;
            }
            j += 1;
        }
        let glued_after = b.get(j).is_some_and(u8::is_ascii_alphanumeric);
        let usable = if glued_after {
            groups.len() - 1
        } else {
            groups.len()
        };
        let mut g = 0;
        while g < usable {
            match longest_card(b, &groups[g..usable]) {
                Some(last) => {
                    found.push(groups[g].start..groups[g + last].end);
                    g += last + 1;
                }
                None => g += 1,
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// The index of the last group of the longest card number made of `groups[0..=index]`.
fn longest_card(b: &[u8], groups: &[Range<usize>]) -> Option<usize> {
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut best = None;
    for (index, group) in groups.iter().enumerate() {
        if digits.len() + group.len() > 19 {
            break;
        }
        digits.extend(b[group.clone()].iter().map(|d| d - b'0'));
        if digits.len() >= 13 && luhn_valid(&digits) {
            best = Some(index);
        }
    }
    best
}

/// The Luhn checksum of card numbers: doubling every second digit from the right, the sum is a
/// multiple of 10.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// True when `n` reads as a card number (a JSON number holding one).
pub(crate) fn is_card_number(n: u64) -> bool {
    let digits: Vec<u8> = n.to_string().bytes().map(|d| d - b'0').collect();
    (13..=19).contains(&digits.len()) && luhn_valid(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(text: &str) -> Vec<&str> {
        card_numbers(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_one_digit_off() {
        for card in [
            "4111111111111111",
            "378282246310005",
            "4222222222222",
            "6011111111111117",
        ] {
            let digits: Vec<u8> = card.bytes().map(|d| d - b'0').collect();
            assert!(luhn_valid(&digits), "{card}");
        }
        for wrong in ["4111111111111112", "378282246310006", "4222222222223"] {
            let digits: Vec<u8> = wrong.bytes().map(|d| d - b'0').collect();
            assert!(!luhn_valid(&digits), "{wrong}");
        }
    }

    #[test]
    fn card_numbers_are_found_in_free_text_grouped_or_not() {
        assert_eq!(
            cards("pay with 4111 1111 1111 1111 please"),
            ["4111 1111 1111 1111"]
        );
        assert_eq!(cards("amex 3782-822463-10005."), ["3782-822463-10005"]);
        assert_eq!(cards("n=4111111111111111&x=1"), ["4111111111111111"]);
        assert_eq!(
            cards("two: 4111111111111111, 6011111111111117"),
            ["4111111111111111", "6011111111111117"]
        );
        // A card followed by more digit groups (a date): the card is still found.
        assert_eq!(cards("4111 1111 1111 1111 2026"), ["4111 1111 1111 1111"]);
    }

    #[test]
    fn numbers_that_are_not_card_numbers_are_kept() {
        for text in [
            "4111111111111112",        // Luhn-invalid
            "order 123456789012",      // 12 digits
            "id 41111111111111111111", // 20 digits in one group
            "ref4111111111111111",     // glued to letters
            "4111111111111111abc",     // glued to letters
            "4111  1111  1111  1111",  // double spaces: four short numbers
            "1733310000123",           // Luhn-invalid timestamp
        ] {
            assert!(cards(text).is_empty(), "{text}: {:?}", cards(text));
        }
    }

    #[test]
    fn json_numbers_holding_card_numbers_are_recognised() {
        assert!(is_card_number(4_111_111_111_111_111));
        assert!(!is_card_number(4_111_111_111_111_112));
        assert!(!is_card_number(1_234_567));
    }

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
            scrub_text("user=bob&password=S1").as_deref(),
            Some(FILTERED)
        );
        assert_eq!(
            scrub_text("<login><password>S2</password></login>").as_deref(),
            Some(FILTERED)
        );
        assert_eq!(
            scrub_text("card 4111-1111-1111-1111 for csrf=x").as_deref(),
            Some("card [Filtered] for csrf=[Filtered]")
        );
        assert_eq!(scrub_text("plain words, order 12"), None);
    }

    #[test]
    fn hostile_text_is_scanned_without_blowing_up() {
        let opens = "<key>x".repeat(5_000);
        assert_eq!(scrub_text(&opens), Some("<key>[Filtered]".repeat(5_000)));
        let digits = "1 ".repeat(50_000);
        assert!(card_numbers(&digits).len() <= digits.len() / 26);
        let quotes = "key=\"".repeat(20_000);
        assert!(scrub_pairs(&quotes).is_some());
    }
}
