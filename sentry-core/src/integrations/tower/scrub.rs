//! Scrubbing request data before it is stored on the scope: the defaults of the privacy rules
//! (PROTOCOL.md, "Privacy") and the Elixir client's `header_scrubber`, `cookie_scrubber` and
//! `body_scrubber`, each replaceable by a closure.

use super::body::percent_decode;
use super::patterns::scrub_text;
use super::values::is_card_number;
use serde_json::Value;
use std::collections::BTreeMap;

/// The value that replaces scrubbed data.
pub const FILTERED: &str = "[Filtered]";

/// Words that make a header, cookie, query or body key sensitive, anywhere in the name and in
/// any case.
const SENSITIVE_WORDS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "key",
    "jwt",
    "bearer",
    "sso",
    "saml",
    "csrf",
    "xsrf",
    "credentials",
    "session",
    "sid",
    "identity",
];

/// Headers whose values are personal data although their names are not in the list: the raw
/// cookies, and the addresses proxies forward.
const SENSITIVE_HEADERS: &[&str] = &[
    "cookie",
    "set-cookie",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "cf-connecting-ip",
    "true-client-ip",
];

/// True when `name` contains one of the sensitive words, ignoring case.
pub(crate) fn is_sensitive_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|w| lower.contains(w))
}

/// Scrubs request headers (names lowercase, several values joined with `, `) in place.
///
/// Any `Fn(&mut BTreeMap<String, String>)` closure is a `HeaderScrubber`; `()` keeps every
/// header. Set one with [`SentryLayer::header_scrubber`](super::SentryLayer::header_scrubber).
pub trait HeaderScrubber: Send + Sync {
    /// Removes or replaces sensitive values.
    fn scrub_headers(&self, headers: &mut BTreeMap<String, String>);
}

/// Scrubs request cookies (name → value) in place.
///
/// Any `Fn(&mut BTreeMap<String, String>)` closure is a `CookieScrubber`; `()` keeps every
/// cookie. Set one with [`SentryLayer::cookie_scrubber`](super::SentryLayer::cookie_scrubber).
pub trait CookieScrubber: Send + Sync {
    /// Removes or replaces sensitive values.
    fn scrub_cookies(&self, cookies: &mut BTreeMap<String, String>);
}

/// Scrubs the recorded request body in place: a JSON value for JSON bodies, an object of
/// strings for form bodies, a string for text bodies.
///
/// Any `Fn(&mut serde_json::Value)` closure is a `BodyScrubber`; `()` keeps the body as read.
/// Set one with [`SentryLayer::body_scrubber`](super::SentryLayer::body_scrubber).
pub trait BodyScrubber: Send + Sync {
    /// Removes or replaces sensitive values.
    fn scrub_body(&self, body: &mut Value);
}

impl<F: Fn(&mut BTreeMap<String, String>) + Send + Sync> HeaderScrubber for F {
    fn scrub_headers(&self, headers: &mut BTreeMap<String, String>) {
        self(headers)
    }
}

impl<F: Fn(&mut BTreeMap<String, String>) + Send + Sync> CookieScrubber for F {
    fn scrub_cookies(&self, cookies: &mut BTreeMap<String, String>) {
        self(cookies)
    }
}

impl<F: Fn(&mut Value) + Send + Sync> BodyScrubber for F {
    fn scrub_body(&self, body: &mut Value) {
        self(body)
    }
}

impl HeaderScrubber for () {
    fn scrub_headers(&self, _: &mut BTreeMap<String, String>) {}
}

impl CookieScrubber for () {
    fn scrub_cookies(&self, _: &mut BTreeMap<String, String>) {}
}

impl BodyScrubber for () {
    fn scrub_body(&self, _: &mut Value) {}
}

/// The default scrubber, also usable inside your own:
///
/// - headers: `Authorization`, `Cookie`, `Set-Cookie`, forwarded client addresses and every header
///   whose name contains a sensitive word (`auth`, `token`, `secret`, `password`, `key`,
///   `session`, `csrf`, ...) get the value `[Filtered]`;
/// - cookies: each cookie whose name contains a sensitive word gets `[Filtered]`;
/// - body: values under a sensitive key get `[Filtered]`, down to a depth of 64 (deeper values
///   are `[Filtered]` too); JSON numbers that are card numbers get `[Filtered]`;
/// - every other string value (header, cookie, query and body values, and the whole of a
///   plain-text or XML body) is scrubbed by pattern: values of `key=value`, `key: value` and
///   `"key": value` pairs and XML elements or attributes with a sensitive name, card numbers
///   (13–19 digits, optionally grouped by spaces or dashes, Luhn-valid), IBANs (checksum-valid),
///   US social security numbers, URL passwords (`scheme://user:[Filtered]@host`) and PEM
///   private keys become `[Filtered]`; so do IP addresses in header (but `Host`), cookie and
///   query values, and, while `send_default_pii` is off, in the body;
///   a value that still mentions a credential (`password`, `secret`, `token`, `auth`, `bearer`,
///   `credentials`, `api_key`, ...) becomes `[Filtered]` as a whole, as Sentry's server-side
///   scrubber does.
///
/// The layer applies it to headers, cookies and the query string only while `send_default_pii`
/// is off, and to the body always (as the Elixir client does), unless you replace it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultScrubber;

impl HeaderScrubber for DefaultScrubber {
    fn scrub_headers(&self, headers: &mut BTreeMap<String, String>) {
        for (name, value) in headers.iter_mut() {
            let lower = name.to_ascii_lowercase();
            if SENSITIVE_HEADERS.contains(&lower.as_str()) || is_sensitive_key(&lower) {
                FILTERED.clone_into(value);
            } else {
                // `Host` names the server the client called, not the client.
                scrub_string(value, lower != "host");
            }
        }
    }
}

impl CookieScrubber for DefaultScrubber {
    fn scrub_cookies(&self, cookies: &mut BTreeMap<String, String>) {
        for (name, value) in cookies.iter_mut() {
            if is_sensitive_key(name) {
                FILTERED.clone_into(value);
            } else {
                scrub_string(value, true);
            }
        }
    }
}

impl BodyScrubber for DefaultScrubber {
    fn scrub_body(&self, body: &mut Value) {
        scrub_value(body, 0, false);
    }
}

/// The body scrubber the layer uses unless replaced: [`DefaultScrubber`], and while
/// `send_default_pii` is off, IP addresses in string values become `[Filtered]` too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerBodyScrubber {
    pub(crate) ip_addresses: bool,
}

impl BodyScrubber for LayerBodyScrubber {
    fn scrub_body(&self, body: &mut Value) {
        scrub_value(body, 0, self.ip_addresses);
    }
}

/// How deep [`DefaultScrubber`] walks into a JSON body; anything deeper is replaced by
/// `[Filtered]`. Bodies are parsed with `serde_json`, which refuses nesting deeper than 128, and
/// this bound keeps the walk's stack small whatever the value's origin.
pub(crate) const MAX_SCRUB_DEPTH: usize = 64;

fn scrub_value(value: &mut Value, depth: usize, ip_addresses: bool) {
    if depth > MAX_SCRUB_DEPTH {
        *value = Value::String(FILTERED.to_owned());
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_sensitive_key(key) {
                    *v = Value::String(FILTERED.to_owned());
                } else {
                    scrub_value(v, depth + 1, ip_addresses);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| scrub_value(v, depth + 1, ip_addresses)),
        Value::String(s) => scrub_string(s, ip_addresses),
        Value::Number(n) if n.as_u64().is_some_and(is_card_number) => {
            *value = Value::String(FILTERED.to_owned());
        }
        _ => {}
    }
}

/// Scrubs one string value by pattern ([`scrub_text`]).
fn scrub_string(s: &mut String, ip_addresses: bool) {
    if let Some(scrubbed) = scrub_text(s, ip_addresses) {
        *s = scrubbed;
    }
}

/// The query string with the values of sensitive keys, and values that hold card numbers, IP
/// addresses or other values [`scrub_text`] finds, replaced by `[Filtered]` (it is scrubbed only
/// while `send_default_pii` is off).
pub(crate) fn scrub_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value))
                if is_sensitive_key(&percent_decode(key))
                    || scrub_text(&percent_decode(value), true).is_some() =>
            {
                format!("{key}={FILTERED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sensitive_names_match_anywhere_and_in_any_case() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "x-csrf-token",
            "SESSIONID",
            "user_password",
            "sid",
        ] {
            assert!(is_sensitive_key(name), "{name}");
        }
        for name in ["accept", "content-type", "theme", "page"] {
            assert!(!is_sensitive_key(name), "{name}");
        }
    }

    #[test]
    fn default_header_scrubber_filters_credentials_cookies_and_addresses() {
        let mut h = map(&[
            ("authorization", "Bearer abc"),
            ("cookie", "a=b"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-api-key", "k"),
            ("accept", "text/html"),
        ]);
        DefaultScrubber.scrub_headers(&mut h);
        assert_eq!(h["authorization"], FILTERED);
        assert_eq!(h["cookie"], FILTERED);
        assert_eq!(h["x-forwarded-for"], FILTERED);
        assert_eq!(h["x-api-key"], FILTERED);
        assert_eq!(h["accept"], "text/html");
    }

    #[test]
    fn default_cookie_scrubber_filters_per_key() {
        let mut c = map(&[("session_id", "s3cr3t"), ("theme", "dark")]);
        DefaultScrubber.scrub_cookies(&mut c);
        assert_eq!(c["session_id"], FILTERED);
        assert_eq!(c["theme"], "dark");
    }

    #[test]
    fn default_body_scrubber_filters_nested_keys_and_card_numbers() {
        let mut body = serde_json::json!({
            "user": {"name": "ann", "password": "hunter2"},
            "items": [{"api_token": "t"}],
            "card": "4111 1111 1111 1111",
            "note": "order 12"
        });
        DefaultScrubber.scrub_body(&mut body);
        assert_eq!(body["user"]["password"], FILTERED);
        assert_eq!(body["user"]["name"], "ann");
        assert_eq!(body["items"][0]["api_token"], FILTERED);
        assert_eq!(body["card"], FILTERED);
        assert_eq!(body["note"], "order 12");
    }

    #[test]
    fn card_numbers_are_filtered_in_json_numbers_free_text_and_form_values() {
        let mut body = serde_json::json!({
            "amount": 12,
            "pan": 4111111111111111u64,
            "not_a_card": 4111111111111112u64,
            "note": "use 4111 1111 1111 1111 today",
            "lines": [{"card": "4111-1111-1111-1111"}]
        });
        DefaultScrubber.scrub_body(&mut body);
        assert_eq!(body["pan"], FILTERED);
        assert_eq!(body["not_a_card"], 4111111111111112u64);
        assert_eq!(body["amount"], 12);
        assert_eq!(body["note"], "use [Filtered] today");
        assert_eq!(body["lines"][0]["card"], FILTERED);
    }

    #[test]
    fn text_bodies_are_scrubbed_by_pattern() {
        let mut body = Value::String("<a><sid>S3</sid><card>4111 1111 1111 1111</card></a>".into());
        DefaultScrubber.scrub_body(&mut body);
        assert_eq!(body, "<a><sid>[Filtered]</sid><card>[Filtered]</card></a>");
        let mut body = Value::String("user=bob&password=S1".into());
        DefaultScrubber.scrub_body(&mut body);
        assert_eq!(body, FILTERED);
    }

    #[test]
    fn the_body_walk_stops_at_its_depth_bound() {
        // Built by hand: deeper than serde_json would parse, to check the walk's own bound.
        let mut body = Value::String("4111111111111111".into());
        for _ in 0..200 {
            body = Value::Array(vec![body]);
        }
        DefaultScrubber.scrub_body(&mut body);
        let mut depth = 0;
        let mut at = &body;
        while let Value::Array(items) = at {
            at = &items[0];
            depth += 1;
        }
        assert_eq!(depth, MAX_SCRUB_DEPTH + 1);
        assert_eq!(at, FILTERED);
    }

    #[test]
    fn header_cookie_and_query_values_are_scrubbed_by_value_too() {
        let mut h = map(&[
            ("x-card", "4111 1111 1111 1111"),
            ("referer", "http://shop/?token=abc"),
            ("accept", "text/html"),
        ]);
        DefaultScrubber.scrub_headers(&mut h);
        assert_eq!(h["x-card"], FILTERED);
        assert_eq!(h["referer"], FILTERED);
        assert_eq!(h["accept"], "text/html");
        let mut c = map(&[("pan", "4111111111111111"), ("theme", "dark")]);
        DefaultScrubber.scrub_cookies(&mut c);
        assert_eq!(c["pan"], FILTERED);
        assert_eq!(c["theme"], "dark");
        assert_eq!(
            scrub_query("q=4111+1111+1111+1111&page=2"),
            "q=[Filtered]&page=2"
        );
    }

    #[test]
    fn query_values_of_sensitive_keys_are_filtered() {
        assert_eq!(
            scrub_query("page=2&token=abc&api%5Fkey=x"),
            "page=2&token=[Filtered]&api%5Fkey=[Filtered]"
        );
    }

    #[test]
    fn closures_and_unit_are_scrubbers() {
        let drop_all = |c: &mut BTreeMap<String, String>| c.clear();
        let mut c = map(&[("a", "b")]);
        CookieScrubber::scrub_cookies(&drop_all, &mut c);
        assert!(c.is_empty());
        let mut h = map(&[("authorization", "x")]);
        HeaderScrubber::scrub_headers(&(), &mut h);
        assert_eq!(h["authorization"], "x");
    }
}
