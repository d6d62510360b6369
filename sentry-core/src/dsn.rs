//! The DSN: where events go and the key that authenticates them.
//!
//! A DSN may carry a secret key. Nothing here prints it: [`Dsn`]'s `Display` and `Debug` mask
//! it, and a [`DsnError`] describes what is wrong without repeating the input.

use std::fmt;
use std::str::FromStr;

/// Why a DSN could not be parsed.
///
/// The message says what is wrong, never what the input was: a malformed DSN may hold a secret
/// key in a place the parser cannot recognise as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsnError {
    /// The DSN is empty.
    #[error("the DSN is empty")]
    Empty,
    /// No `://` after the scheme.
    #[error("the DSN has no scheme (expected `https://<key>@<host>/<project_id>`)")]
    MissingScheme,
    /// A scheme other than http or https.
    #[error("the DSN scheme is not supported (expected `http` or `https`)")]
    UnsupportedScheme,
    /// No `<public_key>@` before the host.
    #[error("the DSN has no public key (expected `<scheme>://<public_key>@<host>/<project_id>`)")]
    MissingPublicKey,
    /// No host.
    #[error("the DSN has no host")]
    MissingHost,
    /// A port that is not a number from 1 to 65535.
    #[error("the DSN port is not a number from 1 to 65535")]
    InvalidPort,
    /// No project id at the end of the path.
    #[error("the DSN has no project id (expected a path ending in `/<project_id>`)")]
    MissingProjectId,
    /// A character a DSN may not contain (whitespace, `?`, `#`, `\`).
    #[error("the DSN contains an invalid character {0:?}")]
    InvalidCharacter(char),
}

/// A parsed DSN: `{scheme}://{public_key}[:{secret_key}]@{host}[:{port}]{path}/{project_id}`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dsn {
    scheme: String,
    public_key: String,
    secret_key: Option<String>,
    host: String,
    port: Option<u16>,
    path: String,
    project_id: String,
}

impl Dsn {
    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }
    /// The public key, sent as `sentry_key`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
    /// The deprecated secret key, if the DSN has one.
    pub fn secret_key(&self) -> Option<&str> {
        self.secret_key.as_deref()
    }
    /// Host name or IP address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The path prefix before the project id, without the trailing slash (empty for none).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The project id.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// `{scheme}://{host}[:{port}]{path}`: where the API lives.
    pub fn base_url(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{}{}", self.scheme, self.host, p, self.path),
            None => format!("{}://{}{}", self.scheme, self.host, self.path),
        }
    }

    /// The envelope endpoint: `{base}/api/{project_id}/envelope/`.
    pub fn envelope_url(&self) -> String {
        format!("{}/api/{}/envelope/", self.base_url(), self.project_id)
    }

    /// The `X-Sentry-Auth` header value for a client called `client` (`name/version`).
    pub fn auth_header(&self, client: &str) -> String {
        let mut h = format!(
            "Sentry sentry_version=7, sentry_client={client}, sentry_key={}",
            self.public_key
        );
        if let Some(secret) = &self.secret_key {
            h.push_str(", sentry_secret=");
            h.push_str(secret);
        }
        h
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Dsn")
            .field("scheme", &self.scheme)
            .field("public_key", &self.public_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("project_id", &self.project_id)
            .finish()
    }
}

impl fmt::Display for Dsn {
    /// Writes the DSN back in its canonical form, the secret masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.public_key)?;
        if self.secret_key.is_some() {
            f.write_str(":***")?;
        }
        write!(f, "@{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}/{}", self.path, self.project_id)
    }
}

impl FromStr for Dsn {
    type Err = DsnError;

    fn from_str(s: &str) -> Result<Self, DsnError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DsnError::Empty);
        }
        if let Some(c) = s
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '?' | '#' | '\\'))
        {
            return Err(DsnError::InvalidCharacter(c));
        }
        let (scheme, rest) = s.split_once("://").ok_or(DsnError::MissingScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(DsnError::UnsupportedScheme);
        }
        let (auth, location) = rest.rsplit_once('@').ok_or(DsnError::MissingPublicKey)?;
        let (public_key, secret_key) = match auth.split_once(':') {
            Some((p, s)) => (p, (!s.is_empty()).then(|| s.to_owned())),
            None => (auth, None),
        };
        if public_key.is_empty() {
            return Err(DsnError::MissingPublicKey);
        }
        let (authority, path) = match location.find('/') {
            Some(i) => location.split_at(i),
            None => (location, ""),
        };
        let (host, port) = split_host_port(authority)?;
        let path = path.trim_end_matches('/');
        let (prefix, project_id) = path.rsplit_once('/').ok_or(DsnError::MissingProjectId)?;
        if project_id.is_empty() {
            return Err(DsnError::MissingProjectId);
        }
        Ok(Dsn {
            scheme,
            public_key: public_key.to_owned(),
            secret_key,
            host,
            port,
            path: prefix.to_owned(),
            project_id: project_id.to_owned(),
        })
    }
}

/// A DSN-like string fit for messages: the canonical form (secret masked) when it parses;
/// otherwise the scheme when it is `http` or `https`, `***` for the keys and the host after the last `@`, nothing
/// else. Without an `@` nothing past the scheme is kept, as a key may sit anywhere.
pub(crate) fn redacted(input: &str) -> String {
    if let Ok(dsn) = input.parse::<Dsn>() {
        return dsn.to_string();
    }
    let input = input.trim();
    let (keys, location) = match input.rsplit_once('@') {
        Some((keys, location)) => (keys, Some(location)),
        None => (input, None),
    };
    let scheme = keys
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .filter(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let mut out = String::new();
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str("***");
    if let Some(location) = location {
        out.push('@');
        out.push_str(host_of(location));
    }
    out
}

/// The host at the start of `location` (`host[:port][/path]`), IPv6 brackets included.
fn host_of(location: &str) -> &str {
    let authority = location.split('/').next().unwrap_or("");
    match authority.find(']') {
        Some(end) if authority.starts_with('[') => &authority[..=end],
        _ => authority.split(':').next().unwrap_or(""),
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), DsnError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        // IPv6 literal: `[::1]:9000`.
        let end = rest.find(']').ok_or(DsnError::MissingHost)?;
        let host = &authority[..end + 2];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(DsnError::InvalidPort),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(DsnError::MissingHost);
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(DsnError::InvalidPort),
        },
        None => None,
    };
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dsn(s: &str) -> Dsn {
        s.parse().expect("valid DSN")
    }

    #[test]
    fn parses_the_spec_example() {
        let d = dsn("https://abc@o1.ingest.sentry.io/42");
        assert_eq!(d.public_key(), "abc");
        assert_eq!(d.secret_key(), None);
        assert_eq!(d.project_id(), "42");
        assert_eq!(d.base_url(), "https://o1.ingest.sentry.io");
        assert_eq!(
            d.envelope_url(),
            "https://o1.ingest.sentry.io/api/42/envelope/"
        );
    }

    #[test]
    fn path_prefix_belongs_to_the_base() {
        let d = dsn("https://k@host/sentry/42");
        assert_eq!(d.envelope_url(), "https://host/sentry/api/42/envelope/");
        let d = dsn("http://k@host:9000/a/b/7/");
        assert_eq!(d.path(), "/a/b");
        assert_eq!(d.envelope_url(), "http://host:9000/a/b/api/7/envelope/");
    }

    #[test]
    fn keeps_secret_and_port() {
        let d = dsn("http://public:secret@localhost:8000/1");
        assert_eq!(d.secret_key(), Some("secret"));
        assert_eq!(d.port(), Some(8000));
        assert_eq!(d.to_string(), "http://public:***@localhost:8000/1");
        assert!(!format!("{d:?}").contains("secret\""));
    }

    #[test]
    fn ipv6_hosts() {
        let d = dsn("http://k@[::1]:9000/3");
        assert_eq!(d.host(), "[::1]");
        assert_eq!(d.envelope_url(), "http://[::1]:9000/api/3/envelope/");
        let d = dsn("https://k@[2001:db8::1]/3");
        assert_eq!(d.port(), None);
        assert_eq!(d.base_url(), "https://[2001:db8::1]");
    }

    #[test]
    fn auth_header_has_version_7() {
        let d = dsn("https://pub:sec@h/1");
        assert_eq!(
            d.auth_header("sentry-core/0.1.0"),
            "Sentry sentry_version=7, sentry_client=sentry-core/0.1.0, sentry_key=pub, sentry_secret=sec"
        );
        let d = dsn("https://pub@h/1");
        assert_eq!(
            d.auth_header("x/1"),
            "Sentry sentry_version=7, sentry_client=x/1, sentry_key=pub"
        );
    }

    #[test]
    fn bad_input_gives_the_exact_error() {
        let cases: &[(&str, DsnError)] = &[
            ("", DsnError::Empty),
            ("   ", DsnError::Empty),
            ("abc@host/1", DsnError::MissingScheme),
            ("ftp://k@host/1", DsnError::UnsupportedScheme),
            ("https://host/1", DsnError::MissingPublicKey),
            ("https://@host/1", DsnError::MissingPublicKey),
            ("https://k@/1", DsnError::MissingHost),
            ("https://k@host:abc/1", DsnError::InvalidPort),
            ("https://k@host:70000/1", DsnError::InvalidPort),
            ("https://k@host:0/1", DsnError::InvalidPort),
            ("https://k@host", DsnError::MissingProjectId),
            ("https://k@host/", DsnError::MissingProjectId),
            ("https://k@host/1?x=1", DsnError::InvalidCharacter('?')),
            ("https://k@ho st/1", DsnError::InvalidCharacter(' ')),
            ("http://k@[::1/1", DsnError::MissingHost),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Dsn>().as_ref(), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn malformed_dsns_with_a_secret_never_show_it() {
        for input in [
            "pub:SECRETKEY@host/1",
            "http//pub:SECRETKEY@h/1",
            "http://pub:SECRETKEY/1",
            "http://pub:SECRETKEY@h:SECRETKEY/1",
            "SECRETKEY://pub@h/1",
            "https://pub:SECRETKEY@host",
            "https://pub:SECRETKEY@ho st/1",
        ] {
            let err = input.parse::<Dsn>().unwrap_err();
            for text in [err.to_string(), format!("{err:?}"), redacted(input)] {
                assert!(!text.contains("SECRETKEY"), "{input:?} gave {text:?}");
            }
        }
    }

    #[test]
    fn redacted_keeps_what_helps_and_masks_the_keys() {
        assert_eq!(redacted("http://pub:s@host/1"), "http://pub:***@host/1");
        assert_eq!(redacted("http://pub:s@host"), "http://***@host");
        assert_eq!(redacted("pub:s@host:x/1"), "***@host");
        assert_eq!(redacted("pub:s@[::1]:x/1"), "***@[::1]");
        assert_eq!(redacted("http://pub:s/1"), "http://***");
        assert_eq!(redacted("garbage"), "***");
    }

    #[test]
    fn errors_read_as_sentences() {
        let e = "https://host/1".parse::<Dsn>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the DSN has no public key (expected `<scheme>://<public_key>@<host>/<project_id>`)"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A secret that cannot appear by chance in the rest of a generated DSN.
    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{6,24}".prop_map(|s| format!("S3CR{s}"))
    }

    /// Strings shaped like a DSN with a secret, whole or broken in the ways people break them:
    /// scheme separator, `@`, host, port and project id each present, missing or mangled.
    fn dsn_shaped() -> impl Strategy<Value = (String, String)> {
        (
            prop_oneof!["https?", "[a-z]{0,6}", Just(String::new())],
            prop_oneof![Just("://"), Just("//"), Just(":/"), Just(""), Just(":///")],
            "[a-z0-9]{0,8}",
            secret(),
            prop_oneof![Just("@"), Just(""), Just("@@"), Just("/")],
            "[a-z0-9.\\[\\]:-]{0,16}",
            prop_oneof![
                Just(String::new()),
                "[0-9a-z]{0,7}".prop_map(|p| format!(":{p}"))
            ],
            "(/[a-z0-9 ?#]{0,5}){0,3}",
        )
            .prop_map(|(scheme, sep, public, secret, at, host, port, path)| {
                (
                    format!("{scheme}{sep}{public}:{secret}{at}{host}{port}{path}"),
                    secret,
                )
            })
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = s.parse::<Dsn>();
            let _ = redacted(&s);
        }

        #[test]
        fn arbitrary_dsn_like_strings_never_panic(s in "[a-z:/@\\[\\]0-9 ]{0,40}") {
            let _ = s.parse::<Dsn>();
            let _ = redacted(&s);
        }

        #[test]
        fn no_error_shows_the_secret((input, secret) in dsn_shaped()) {
            match input.parse::<Dsn>() {
                Err(err) => {
                    prop_assert!(!err.to_string().contains(&secret), "{input:?}: {err}");
                    prop_assert!(!format!("{err:?}").contains(&secret), "{input:?}: {err:?}");
                }
                Ok(dsn) => {
                    let (shown, debug) = (dsn.to_string(), format!("{dsn:?}"));
                    prop_assert!(!shown.contains(&secret), "{shown}");
                    prop_assert!(!debug.contains(&secret), "{debug}");
                }
            }
            prop_assert!(!redacted(&input).contains(&secret), "{input:?}");
            // The error `init` returns, and the options' `Debug`.
            let options = crate::ClientOptions::new().dsn(input.clone());
            let debug = format!("{options:?}");
            prop_assert!(!debug.contains(&secret), "{debug}");
            if let Err(err) = options.validate() {
                let (shown, debug) = (err.to_string(), format!("{err:?}"));
                prop_assert!(!shown.contains(&secret), "{shown}");
                prop_assert!(!debug.contains(&secret), "{debug}");
            }
        }

        #[test]
        fn valid_dsns_round_trip_through_display(
            scheme in "https?|HTTPS?",
            public in "[A-Za-z0-9]{1,12}",
            secret in proptest::option::of(secret()),
            host in "[a-z0-9][a-z0-9.-]{0,20}|\\[[0-9a-f:]{2,12}\\]",
            port in proptest::option::of(1u16..),
            prefix in "(/[a-z0-9_-]{1,6}){0,2}",
            project in "[0-9]{1,6}|[a-z][a-z0-9-]{0,8}",
        ) {
            let keys = match &secret {
                Some(s) => format!("{public}:{s}"),
                None => public.clone(),
            };
            let port_part = port.map(|p| format!(":{p}")).unwrap_or_default();
            let input = format!("{scheme}://{keys}@{host}{port_part}{prefix}/{project}");
            let dsn: Dsn = input.parse().map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
            prop_assert_eq!(dsn.secret_key(), secret.as_deref());
            let shown = dsn.to_string();
            let again: Dsn = shown.parse().map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
            prop_assert_eq!(again.to_string(), shown.clone());
            prop_assert_eq!(again.host(), dsn.host());
            prop_assert_eq!(again.port(), dsn.port());
            prop_assert_eq!(again.envelope_url(), dsn.envelope_url());
            if secret.is_none() {
                prop_assert_eq!(again, dsn);
            } else {
                // Display masks the secret: it reads back as `***`, never as the secret.
                prop_assert_eq!(again.secret_key(), Some("***"));
            }
        }
    }
}
