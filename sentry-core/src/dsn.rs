//! The DSN: where events go and the key that authenticates them.

use std::fmt;
use std::str::FromStr;

/// Why a DSN could not be parsed.
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
    #[error("the DSN scheme `{0}` is not supported (expected `http` or `https`)")]
    UnsupportedScheme(String),
    /// No `<public_key>@` before the host.
    #[error("the DSN has no public key (expected `<scheme>://<public_key>@<host>/<project_id>`)")]
    MissingPublicKey,
    /// No host.
    #[error("the DSN has no host")]
    MissingHost,
    /// A port that is not a number from 1 to 65535.
    #[error("the DSN port `{0}` is not a valid port number")]
    InvalidPort(String),
    /// No project id at the end of the path.
    #[error("the DSN has no project id (expected a path ending in `/<project_id>`)")]
    MissingProjectId,
    /// A character a DSN may not contain (whitespace, `?`, `#`, ...).
    #[error("the DSN contains an invalid character `{0}`")]
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
            return Err(DsnError::UnsupportedScheme(scheme));
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

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), DsnError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        // IPv6 literal: `[::1]:9000`.
        let end = rest.find(']').ok_or(DsnError::MissingHost)?;
        let host = &authority[..end + 2];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(DsnError::InvalidPort(after.to_owned())),
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
            _ => return Err(DsnError::InvalidPort(p.to_owned())),
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
            ("ftp://k@host/1", DsnError::UnsupportedScheme("ftp".into())),
            ("https://host/1", DsnError::MissingPublicKey),
            ("https://@host/1", DsnError::MissingPublicKey),
            ("https://k@/1", DsnError::MissingHost),
            ("https://k@host:abc/1", DsnError::InvalidPort("abc".into())),
            (
                "https://k@host:70000/1",
                DsnError::InvalidPort("70000".into()),
            ),
            ("https://k@host:0/1", DsnError::InvalidPort("0".into())),
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
    fn errors_read_as_sentences() {
        let e = "https://host/1".parse::<Dsn>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the DSN has no public key (expected `<scheme>://<public_key>@<host>/<project_id>`)"
        );
    }
}
