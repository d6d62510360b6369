//! Sensitive values recognised by their shape, wherever they are in a text: card numbers,
//! IBANs, US social security numbers, the password of credentials in a URL, the body of a PEM
//! private key and, while `send_default_pii` is off, IP addresses. These are the value patterns
//! of Sentry's server-side scrubber (Relay), with checksums where the format has one, so that
//! ids and order numbers of the same length are kept.
//!
//! Every finder is a single forward scan: hostile input costs time linear in its length.

use super::scrub::FILTERED;
use std::ops::Range;

/// `text` with every sensitive value (and, when `ip_addresses`, every IP address) replaced by
/// `[Filtered]`; `None` when it has none.
pub(crate) fn replace_sensitive_values(text: &str, ip_addresses: bool) -> Option<String> {
    let mut ranges = card_numbers(text);
    if ip_addresses {
        ranges.extend(ips(text));
    }
    ranges.extend(ibans(text));
    ranges.extend(social_security_numbers(text));
    ranges.extend(url_passwords(text));
    ranges.extend(private_keys(text));
    ranges.sort_by_key(|r| r.start);
    let mut kept: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match kept.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => kept.push(range),
        }
    }
    replace_ranges(text, &kept)
}

/// Replaces each `range` of `text` (sorted, not overlapping, on char boundaries) by `[Filtered]`.
pub(crate) fn replace_ranges(text: &str, ranges: &[Range<usize>]) -> Option<String> {
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

/// True when the byte before `at` does not continue a word.
fn starts_word(b: &[u8], at: usize) -> bool {
    at == 0 || !b[at - 1].is_ascii_alphanumeric()
}

/// True when the byte at `at` does not continue a word.
fn ends_word(b: &[u8], at: usize) -> bool {
    !b.get(at).is_some_and(u8::is_ascii_alphanumeric)
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
    sum.is_multiple_of(10)
}

/// True when `n` reads as a card number (a JSON number holding one).
pub(crate) fn is_card_number(n: u64) -> bool {
    let digits: Vec<u8> = n.to_string().bytes().map(|d| d - b'0').collect();
    (13..=19).contains(&digits.len()) && luhn_valid(&digits)
}

/// Where IBANs are in `text`: two capital letters, two check digits and 11 to 30 capitals or
/// digits, as one word, passing the ISO 13616 checksum (mod 97).
pub(crate) fn ibans(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 < b.len() {
        if !(starts_word(b, i)
            && b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit())
        {
            i += 1;
            continue;
        }
        let mut end = i + 4;
        while end < b.len() && (b[end].is_ascii_uppercase() || b[end].is_ascii_digit()) {
            end += 1;
        }
        if ends_word(b, end) && (15..=34).contains(&(end - i)) && iban_checksum_ok(&b[i..end]) {
            found.push(i..end);
        }
        i = end;
    }
    found
}

/// ISO 13616: the first four characters moved to the end, letters as 10..=35, mod 97 is 1.
fn iban_checksum_ok(iban: &[u8]) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut rest: u32 = 0;
    for &c in tail.iter().chain(head) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        let factor = if value >= 10 { 100 } else { 10 };
        rest = (rest * factor + value) % 97;
    }
    rest == 1
}

/// Where US social security numbers are in `text`: `123-45-6789` as one word.
pub(crate) fn social_security_numbers(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let shape = b"ddd-dd-dddd";
    let mut found = Vec::new();
    let mut i = 0;
    while i + shape.len() <= b.len() {
        let end = i + shape.len();
        let fits = shape.iter().zip(&b[i..end]).all(|(&s, &c)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                c == b'-'
            }
        });
        let alone = starts_word(b, i)
            && ends_word(b, end)
            && (i == 0 || b[i - 1] != b'-')
            && b.get(end) != Some(&b'-');
        if fits && alone {
            found.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// Where IPv4 and IPv6 addresses are in `text` (also with a port: `10.0.0.1:8080`), as words
/// made of hex digits, dots and colons that parse as an address.
pub(crate) fn ips(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let in_run = |c: u8| c.is_ascii_hexdigit() || c == b'.' || c == b':';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !in_run(b[i]) || !starts_word(b, i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && in_run(b[i]) {
            i += 1;
        }
        if !ends_word(b, i) {
            continue;
        }
        // Sentence punctuation after an address is not part of it.
        let mut end = i;
        while end > start && matches!(b[end - 1], b'.' | b':') {
            end -= 1;
        }
        let Some(run) = text.get(start..end) else {
            continue;
        };
        if run.contains(':') && run.parse::<std::net::Ipv6Addr>().is_ok() {
            found.push(start..end);
            continue;
        }
        // IPv4, alone or as the parts of `address:port`.
        let mut at = start;
        for part in run.split(':') {
            if part.matches('.').count() == 3 && part.parse::<std::net::Ipv4Addr>().is_ok() {
                found.push(at..at + part.len());
            }
            at += part.len() + 1;
        }
    }
    found
}

/// Where the password of URL credentials is (`scheme://user:password@host`).
pub(crate) fn url_passwords(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = find(&b[i..], b"://") {
        let start = i + at + 3;
        let mut end = start;
        while end < b.len()
            && !matches!(
                b[end],
                b'@' | b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>'
            )
            && !b[end].is_ascii_whitespace()
        {
            end += 1;
        }
        if b.get(end) == Some(&b'@') {
            if let Some(colon) = b[start..end].iter().position(|&c| c == b':') {
                if start + colon + 1 < end {
                    found.push(start + colon + 1..end);
                }
            }
        }
        i = end.max(start);
    }
    found
}

/// Where the bodies of PEM private keys are: between a `-----BEGIN ... PRIVATE KEY-----` line
/// and the next `-----END`, or the end of the text.
pub(crate) fn private_keys(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = find(&b[i..], b"-----BEGIN ") {
        let label_start = i + at + 11;
        let Some(label_len) = find(&b[label_start..], b"-----") else {
            break;
        };
        let body_start = label_start + label_len + 5;
        if !b[label_start..label_start + label_len].ends_with(b"PRIVATE KEY") {
            i = body_start;
            continue;
        }
        let body_end = find(&b[body_start..], b"-----END").map_or(b.len(), |n| body_start + n);
        let body = trim_whitespace(b, body_start..body_end);
        if !body.is_empty() {
            found.push(body);
        }
        i = body_end;
    }
    found
}

fn trim_whitespace(b: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && b[range.start].is_ascii_whitespace() {
        range.start += 1;
    }
    while range.end > range.start && b[range.end - 1].is_ascii_whitespace() {
        range.end -= 1;
    }
    range
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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

    fn all(text: &str, finder: fn(&str) -> Vec<Range<usize>>) -> Vec<&str> {
        finder(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn ibans_are_found_when_their_checksum_holds() {
        assert_eq!(
            all("pay to DE89370400440532013000 now", ibans),
            ["DE89370400440532013000"]
        );
        assert_eq!(
            all("GB82WEST12345698765432", ibans),
            ["GB82WEST12345698765432"]
        );
        assert!(ibans("DE00370400440532013000").is_empty(), "bad checksum");
        assert!(ibans("ORDER12ABCDEFGHIJKL").is_empty());
    }

    #[test]
    fn social_security_numbers_are_found_alone_only() {
        assert_eq!(
            all("ssn 078-05-1120.", social_security_numbers),
            ["078-05-1120"]
        );
        assert!(social_security_numbers("2024-05-1120").is_empty());
        assert!(social_security_numbers("078-05-11201").is_empty());
        assert!(social_security_numbers("078051120").is_empty());
    }

    #[test]
    fn url_passwords_are_found_and_users_kept() {
        assert_eq!(
            all(
                "db postgres://app:hunter2@db:5432/x and http://h/a:b@c",
                url_passwords
            ),
            ["hunter2"]
        );
        assert!(url_passwords("ftp://user@host").is_empty());
    }

    #[test]
    fn private_key_bodies_are_found_and_certificates_kept() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----";
        assert_eq!(all(pem, private_keys), ["MIIabc"]);
        let cert = "-----BEGIN CERTIFICATE-----\nMIIabc\n-----END CERTIFICATE-----";
        assert!(private_keys(cert).is_empty());
        assert_eq!(all("-----BEGIN PRIVATE KEY-----cut", private_keys), ["cut"]);
    }

    #[test]
    fn ip_addresses_are_found_with_or_without_a_port() {
        assert_eq!(
            all("from 10.1.2.3, via 127.0.0.1:8080 and ::1.", ips),
            ["10.1.2.3", "127.0.0.1", "::1"]
        );
        assert_eq!(
            all("[2001:db8::8a2e:370:7334]", ips),
            ["2001:db8::8a2e:370:7334"]
        );
        assert!(ips("version 1.2.3, 300.1.1.1, deadbeef, a:b, 12:30").is_empty());
    }

    #[test]
    fn ip_addresses_are_replaced_only_when_asked() {
        assert_eq!(replace_sensitive_values("from 10.1.2.3", false), None);
        assert_eq!(
            replace_sensitive_values("from 10.1.2.3", true).as_deref(),
            Some("from [Filtered]")
        );
    }

    #[test]
    fn every_shape_is_replaced_in_one_pass() {
        assert_eq!(
            replace_sensitive_values("card 4111 1111 1111 1111, ssn 078-05-1120", false).as_deref(),
            Some("card [Filtered], ssn [Filtered]")
        );
        assert_eq!(
            replace_sensitive_values("order 12, ticket 2024-05-11", true),
            None
        );
    }
}
