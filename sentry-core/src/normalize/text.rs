//! Trimming one string to a number of characters and bytes, the way Sentry marks it: the kept
//! start, then `...`.

use super::meta::{self, MetaNode};

/// The marker put where the rest of a trimmed string was.
const ELLIPSIS: &str = "...";

/// Trims `s` to at most `max_chars` characters and `max_bytes` bytes (the `...` included), on
/// a character boundary. Returns the `_meta` annotation when it trimmed; `None`, without
/// counting characters, when `s` is short enough in bytes already (the common case).
pub(crate) fn trim(s: &mut String, max_chars: usize, max_bytes: usize) -> Option<MetaNode> {
    if s.len() <= max_chars.min(max_bytes) {
        return None;
    }
    let original_chars = s.chars().count();
    if s.len() <= max_bytes && original_chars <= max_chars {
        return None;
    }
    let keep_chars = max_chars.saturating_sub(ELLIPSIS.len());
    let keep_bytes = max_bytes.saturating_sub(ELLIPSIS.len());
    let mut end = 0;
    let mut kept = 0;
    for (i, c) in s.char_indices() {
        if kept == keep_chars || i + c.len_utf8() > keep_bytes {
            break;
        }
        end = i + c.len_utf8();
        kept += 1;
    }
    s.truncate(end);
    if max_chars >= ELLIPSIS.len() && max_bytes >= ELLIPSIS.len() {
        s.push_str(ELLIPSIS);
    }
    Some(meta::trimmed_string(kept, original_chars))
}

/// [`trim`] for an optional field.
pub(crate) fn trim_opt(s: &mut Option<String>, max_chars: usize) -> Option<MetaNode> {
    s.as_mut().and_then(|s| trim(s, max_chars, usize::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn a_short_string_is_left_alone() {
        let mut s = "héllo".to_owned();
        assert!(trim(&mut s, 5, 100).is_none());
        assert_eq!(s, "héllo");
    }

    #[test]
    fn a_long_string_keeps_its_start_and_ends_in_an_ellipsis() {
        let mut s = "x".repeat(1000);
        let meta = trim(&mut s, 200, usize::MAX).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.ends_with("xx..."));
        assert_eq!(
            serde_json::Value::Object(meta),
            serde_json::json!({"": {"rem": [["!limit", "x", 197, 200]], "len": 1000}})
        );
    }

    #[test]
    fn multibyte_text_is_cut_on_a_character_boundary_within_the_bytes() {
        let mut s = "é".repeat(100);
        trim(&mut s, 1000, 11).unwrap();
        assert_eq!(s, "éééé...");
        assert!(s.len() <= 11);
    }

    #[test]
    fn a_trimmed_string_is_not_trimmed_again() {
        let mut s = "ü".repeat(500);
        trim(&mut s, 64, 100).unwrap();
        let once = s.clone();
        assert!(trim(&mut s, 64, 100).is_none());
        assert_eq!(s, once);
    }
}
