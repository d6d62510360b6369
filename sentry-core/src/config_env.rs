//! Options from `SENTRY_*` variables: the process environment and, optionally, a dotenv-style
//! file. The application and `sentry-send-test-event` load configuration the same way.

use crate::{ClientOptions, Error, SendResult};
use std::collections::BTreeMap;
use std::path::Path;

/// The variables read, and the option each one sets.
const VARIABLES: &[(&str, &str)] = &[
    ("SENTRY_DSN", "dsn"),
    ("SENTRY_ENVIRONMENT", "environment_name"),
    ("SENTRY_RELEASE", "release"),
    (
        "SENTRY_INCLUDED_ENVIRONMENTS",
        "included_environments (comma-separated)",
    ),
    ("SENTRY_SERVER_NAME", "server_name"),
    ("SENTRY_SAMPLE_RATE", "sample_rate"),
    ("SENTRY_TRACES_SAMPLE_RATE", "traces_sample_rate"),
    ("SENTRY_SEND_MAX_ATTEMPTS", "send_max_attempts"),
    ("SENTRY_SEND_RESULT", "send_result (`sync` or `none`)"),
    ("SENTRY_MAX_BREADCRUMBS", "max_breadcrumbs"),
    ("SENTRY_CONTEXT_LINES", "context_lines"),
    ("SENTRY_TAGS", "tags (`key=value,key=value`)"),
    ("SENTRY_DEBUG", "debug (`true`/`false`)"),
    (
        "SENTRY_SPOTLIGHT",
        "spotlight (`true`/`false` or the sidecar URL)",
    ),
];

impl ClientOptions {
    /// Options from the process's `SENTRY_*` variables (see [`from_vars`](Self::from_vars)).
    pub fn from_env() -> Result<ClientOptions, Error> {
        Self::from_vars(std::env::vars())
    }

    /// Options from a dotenv-style file (`KEY=value` lines, `#` comments, optional quotes),
    /// with the process environment taking precedence over the file, as deployments expect.
    pub fn from_env_file(path: &Path) -> Result<ClientOptions, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::option(
                "config file",
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        let mut vars = parse_dotenv(&text).map_err(|e| {
            Error::option(
                "config file",
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("SENTRY_")) {
            vars.insert(k, v);
        }
        Self::from_vars(vars)
    }

    /// Options from `SENTRY_*` variables: `SENTRY_DSN`, `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE`,
    /// `SENTRY_INCLUDED_ENVIRONMENTS` (comma-separated), `SENTRY_SERVER_NAME`,
    /// `SENTRY_SAMPLE_RATE`, `SENTRY_TRACES_SAMPLE_RATE`, `SENTRY_SEND_MAX_ATTEMPTS`,
    /// `SENTRY_SEND_RESULT` (`sync`/`none`),
    /// `SENTRY_MAX_BREADCRUMBS`, `SENTRY_CONTEXT_LINES`, `SENTRY_TAGS` (`k=v,k=v`), `SENTRY_DEBUG`,
    /// `SENTRY_SPOTLIGHT`.
    /// Unknown `SENTRY_*` names are ignored; a bad value is an error naming the variable.
    ///
    /// ```
    /// use watchpost::ClientOptions;
    /// let o = ClientOptions::from_vars([
    ///     ("SENTRY_DSN", "https://public@sentry.example.com/1"),
    ///     ("SENTRY_INCLUDED_ENVIRONMENTS", "prod, staging"),
    ///     ("SENTRY_ENVIRONMENT", "dev"),
    /// ])
    /// .unwrap();
    /// assert!(!o.environment_included());
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<ClientOptions, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut o = ClientOptions::new();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref().trim());
            if v.is_empty() {
                continue;
            }
            let list = || {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            o = match k {
                "SENTRY_DSN" => o.dsn(v),
                "SENTRY_ENVIRONMENT" => o.environment(v),
                "SENTRY_RELEASE" => o.release(v),
                "SENTRY_INCLUDED_ENVIRONMENTS" => o.included_environments(list()),
                "SENTRY_SERVER_NAME" => o.server_name(v),
                "SENTRY_SAMPLE_RATE" => o.sample_rate(parse(k, v)?),
                "SENTRY_TRACES_SAMPLE_RATE" => o.traces_sample_rate(parse(k, v)?),
                "SENTRY_SEND_MAX_ATTEMPTS" => o.send_max_attempts(parse(k, v)?),
                "SENTRY_MAX_BREADCRUMBS" => o.max_breadcrumbs(parse(k, v)?),
                "SENTRY_CONTEXT_LINES" => o.context_lines(parse(k, v)?),
                "SENTRY_DEBUG" => o.debug(parse_bool(k, v)?),
                "SENTRY_SPOTLIGHT" => {
                    o.spotlight = Some(crate::options::spotlight_from_env(v));
                    o
                }
                "SENTRY_SEND_RESULT" => match v.to_ascii_lowercase().as_str() {
                    "sync" => o.send_result(SendResult::Sync),
                    "none" | "background" => o.send_result(SendResult::Background),
                    _ => return Err(bad(k, v, "`sync` or `none`")),
                },
                "SENTRY_TAGS" => {
                    for pair in list() {
                        let (tk, tv) = pair
                            .split_once('=')
                            .ok_or_else(|| bad(k, v, "`key=value` pairs"))?;
                        o = o.tag(tk.trim(), tv.trim());
                    }
                    o
                }
                _ => o,
            };
        }
        Ok(o)
    }

    /// The `SENTRY_*` variables [`from_vars`](Self::from_vars) reads, with the option each sets.
    pub fn env_variables() -> &'static [(&'static str, &'static str)] {
        VARIABLES
    }
}

fn option_name(var: &str) -> &'static str {
    VARIABLES
        .iter()
        .find(|(k, _)| *k == var)
        .map_or("environment", |(_, o)| o.split(' ').next().unwrap_or(o))
}

fn bad(var: &str, value: &str, expected: &str) -> Error {
    Error::option(
        option_name(var),
        format!("{var}=`{value}` is not valid: expected {expected}"),
    )
}

fn parse<T: std::str::FromStr>(var: &str, value: &str) -> Result<T, Error> {
    value.parse().map_err(|_| bad(var, value, "a number"))
}

fn parse_bool(var: &str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(var, value, "true or false")),
    }
}

/// `KEY=value` lines as dotenv files have them (`#` comments, `export ` prefixes, quotes,
/// escapes), read with `dotenvy`. A line it cannot read is an error naming the line.
fn parse_dotenv(text: &str) -> Result<BTreeMap<String, String>, String> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| item.map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_variable() {
        let o = ClientOptions::from_vars([
            ("SENTRY_DSN", "http://a@h/1"),
            ("SENTRY_ENVIRONMENT", "staging"),
            ("SENTRY_RELEASE", "app@1"),
            ("SENTRY_INCLUDED_ENVIRONMENTS", "prod,staging"),
            ("SENTRY_SAMPLE_RATE", "0.5"),
            ("SENTRY_SEND_RESULT", "sync"),
            ("SENTRY_TAGS", "region=eu, tier = gold"),
            ("SENTRY_MAX_BREADCRUMBS", "7"),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(o.dsn_str(), Some("http://a@h/1"));
        assert_eq!(o.environment_name(), "staging");
        assert!(o.environment_included());
        assert_eq!(o.sample_rate, 0.5);
        assert_eq!(o.send_result, SendResult::Sync);
        assert_eq!(o.tags["tier"], "gold");
        assert_eq!(o.max_breadcrumbs, 7);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = ClientOptions::from_vars([("SENTRY_SAMPLE_RATE", "lots")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option `sample_rate`: SENTRY_SAMPLE_RATE=`lots` is not valid: expected a number"
        );
        assert!(ClientOptions::from_vars([("SENTRY_SEND_RESULT", "maybe")]).is_err());
        assert!(ClientOptions::from_vars([("SENTRY_TAGS", "novalue")]).is_err());
    }

    #[test]
    fn dotenv_lines() {
        let m = parse_dotenv("# c\nexport SENTRY_DSN=\"http://a@h/1\"\n\nSENTRY_RELEASE='x'\n")
            .unwrap();
        assert_eq!(m["SENTRY_DSN"], "http://a@h/1");
        assert_eq!(m["SENTRY_RELEASE"], "x");
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_dotenv_line_that_cannot_be_read_is_an_error() {
        let err = parse_dotenv("SENTRY_DSN=http://a@h/1\nJUNK LINE\n").unwrap_err();
        assert!(err.contains("JUNK") || err.contains('2'), "{err}");
    }

    #[test]
    fn init_reads_every_variable_from_env_reads_and_code_wins() {
        let vars = [
            ("SENTRY_DSN", "https://env@sentry.example.com/1"),
            ("SENTRY_SAMPLE_RATE", "0.25"),
            ("SENTRY_MAX_BREADCRUMBS", "7"),
            ("SENTRY_RELEASE", "env@1"),
            ("SENTRY_TAGS", "region=eu,team=env"),
        ];
        let o = ClientOptions::new()
            .release("code@2")
            .tag("team", "code")
            .fill_from_vars(vars)
            .unwrap();
        assert_eq!(o.dsn.as_deref(), Some("https://env@sentry.example.com/1"));
        assert_eq!(o.sample_rate, 0.25);
        assert_eq!(o.max_breadcrumbs, 7);
        assert_eq!(o.release.as_deref(), Some("code@2"));
        assert_eq!(o.tags["team"], "code");
        assert_eq!(o.tags["region"], "eu");
    }

    #[test]
    fn a_malformed_variable_is_an_init_error_naming_it() {
        let err = ClientOptions::new()
            .fill_from_vars([("SENTRY_SAMPLE_RATE", "half")])
            .unwrap_err();
        assert!(err.to_string().contains("SENTRY_SAMPLE_RATE"), "{err}");
    }
}
