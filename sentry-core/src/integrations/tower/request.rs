//! The `request` interface of an event, built from an incoming `http::Request`
//! (the Elixir client's `Sentry.PlugContext`).

use super::scrub::{scrub_query, CookieScrubber, DefaultScrubber, HeaderScrubber};
use crate::event::Request;
use http::header::{HeaderMap, COOKIE, HOST};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Finds the client's address in a request's extensions.
///
/// Any `Fn(&http::Extensions) -> Option<IpAddr>` closure is a `ClientAddress`. For axum, read
/// `ConnectInfo` (serve with `into_make_service_with_connect_info::<SocketAddr>()`):
///
/// ```
/// use axum::extract::ConnectInfo;
/// use watchpost::tower::SentryLayer;
/// use std::net::SocketAddr;
///
/// let layer = SentryLayer::new().client_address(|ext: &http::Extensions| {
///     ext.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
/// });
/// # let _ = layer;
/// ```
pub trait ClientAddress: Send + Sync {
    /// The client's IP address, if known.
    fn client_address(&self, extensions: &http::Extensions) -> Option<IpAddr>;
}

impl<F: Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync> ClientAddress for F {
    fn client_address(&self, extensions: &http::Extensions) -> Option<IpAddr> {
        self(extensions)
    }
}

/// How request data is collected and scrubbed: the layer's settings that do not depend on types.
#[derive(Clone, Default)]
pub(crate) struct RequestSettings {
    pub(crate) header_scrubber: Option<Arc<dyn HeaderScrubber>>,
    pub(crate) cookie_scrubber: Option<Arc<dyn CookieScrubber>>,
    pub(crate) client_address: Option<Arc<dyn ClientAddress>>,
    pub(crate) trust_forwarded_headers: bool,
}

impl RequestSettings {
    /// The request interface for `req`. With `send_default_pii` off, the default scrubbers run on
    /// headers, cookies and the query string, and the client address is left out.
    pub(crate) fn request_interface<B>(
        &self,
        req: &http::Request<B>,
        send_default_pii: bool,
    ) -> Request {
        let query_string = req.uri().query().filter(|q| !q.is_empty()).map(|q| {
            if send_default_pii {
                q.to_owned()
            } else {
                scrub_query(q)
            }
        });
        let mut headers = header_map(req.headers());
        match (&self.header_scrubber, send_default_pii) {
            (Some(custom), _) => custom.scrub_headers(&mut headers),
            (None, false) => DefaultScrubber.scrub_headers(&mut headers),
            (None, true) => {}
        }
        let mut cookies = cookies(req.headers());
        match (&self.cookie_scrubber, send_default_pii) {
            (Some(custom), _) => custom.scrub_cookies(&mut cookies),
            (None, false) => DefaultScrubber.scrub_cookies(&mut cookies),
            (None, true) => {}
        }
        let mut env = BTreeMap::new();
        if send_default_pii {
            if let Some(ip) = self.client_ip(req) {
                env.insert("REMOTE_ADDR".to_owned(), ip.to_string());
            }
        }
        Request {
            method: Some(req.method().as_str().to_owned()),
            url: Some(self.url(req)),
            query_string,
            headers,
            cookies,
            data: None,
            env,
        }
    }

    /// `scheme://host/path`, without the query string.
    fn url<B>(&self, req: &http::Request<B>) -> String {
        let uri = req.uri();
        let headers = req.headers();
        let forwarded = |name: &str| {
            self.trust_forwarded_headers
                .then(|| header_str(headers, name))
                .flatten()
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let scheme = forwarded("x-forwarded-proto")
            .or(uri.scheme_str())
            .unwrap_or("http");
        let host = forwarded("x-forwarded-host")
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .or_else(|| header_str(headers, HOST.as_str()))
            .unwrap_or("localhost");
        format!("{scheme}://{host}{}", uri.path())
    }

    /// From trusted forwarding headers, then the configured lookup, then a `SocketAddr` extension.
    fn client_ip<B>(&self, req: &http::Request<B>) -> Option<IpAddr> {
        let headers = req.headers();
        if self.trust_forwarded_headers {
            let from_header = header_str(headers, "x-forwarded-for")
                .and_then(|v| v.split(',').next())
                .or_else(|| header_str(headers, "x-real-ip"))
                .and_then(|v| v.trim().parse().ok());
            if from_header.is_some() {
                return from_header;
            }
        }
        if let Some(lookup) = &self.client_address {
            if let Some(ip) = lookup.client_address(req.extensions()) {
                return Some(ip);
            }
        }
        req.extensions()
            .get::<SocketAddr>()
            .map(SocketAddr::ip)
            .or_else(|| req.extensions().get::<IpAddr>().copied())
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Headers by lowercase name; repeated headers joined with `, `; non-UTF-8 bytes replaced.
fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        out.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// Cookies from every `Cookie` header, by name.
fn cookies(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (!name.is_empty()).then(|| (name.to_owned(), value.trim_matches('"').to_owned()))
        })
        .collect()
}

impl std::fmt::Debug for RequestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSettings")
            .field("custom_header_scrubber", &self.header_scrubber.is_some())
            .field("custom_cookie_scrubber", &self.cookie_scrubber.is_some())
            .field("client_address", &self.client_address.is_some())
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::tower::scrub::FILTERED;

    fn request() -> http::Request<()> {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("/orders/7?page=2&token=abc")
            .header("host", "shop.example")
            .header("authorization", "Bearer xyz")
            .header("accept", "text/html")
            .header("cookie", "session=s3cr3t; theme=dark")
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
            .body(())
            .expect("valid request");
        req.extensions_mut()
            .insert(SocketAddr::from(([127, 0, 0, 1], 4000)));
        req
    }

    #[test]
    fn without_pii_sensitive_values_are_filtered_and_no_address_is_sent() {
        let r = RequestSettings::default().request_interface(&request(), false);
        assert_eq!(r.method.as_deref(), Some("POST"));
        assert_eq!(r.url.as_deref(), Some("http://shop.example/orders/7"));
        assert_eq!(r.query_string.as_deref(), Some("page=2&token=[Filtered]"));
        assert_eq!(r.headers["authorization"], FILTERED);
        assert_eq!(r.headers["cookie"], FILTERED);
        assert_eq!(r.headers["accept"], "text/html");
        assert_eq!(r.cookies["session"], FILTERED);
        assert_eq!(r.cookies["theme"], "dark");
        assert!(r.env.is_empty());
    }

    #[test]
    fn with_pii_values_and_the_socket_address_are_sent() {
        let r = RequestSettings::default().request_interface(&request(), true);
        assert_eq!(r.query_string.as_deref(), Some("page=2&token=abc"));
        assert_eq!(r.headers["authorization"], "Bearer xyz");
        assert_eq!(r.cookies["session"], "s3cr3t");
        assert_eq!(r.env["REMOTE_ADDR"], "127.0.0.1");
    }

    #[test]
    fn forwarded_headers_are_used_only_when_trusted() {
        let trusted = RequestSettings {
            trust_forwarded_headers: true,
            ..Default::default()
        };
        let mut req = request();
        req.headers_mut()
            .insert("x-forwarded-proto", http::HeaderValue::from_static("https"));
        let r = trusted.request_interface(&req, true);
        assert_eq!(r.env["REMOTE_ADDR"], "203.0.113.9");
        assert_eq!(r.url.as_deref(), Some("https://shop.example/orders/7"));
        let r = RequestSettings::default().request_interface(&req, true);
        assert_eq!(r.url.as_deref(), Some("http://shop.example/orders/7"));
    }

    #[test]
    fn custom_scrubbers_replace_the_defaults_also_with_pii() {
        let settings = RequestSettings {
            cookie_scrubber: Some(Arc::new(|c: &mut BTreeMap<String, String>| c.clear())),
            header_scrubber: Some(Arc::new(|h: &mut BTreeMap<String, String>| {
                h.remove("accept");
            })),
            ..Default::default()
        };
        let r = settings.request_interface(&request(), false);
        assert!(r.cookies.is_empty());
        assert!(!r.headers.contains_key("accept"));
        assert_eq!(r.headers["authorization"], "Bearer xyz");
    }

    #[test]
    fn client_address_lookup_is_used_before_the_socket_extension() {
        let settings = RequestSettings {
            client_address: Some(Arc::new(|_: &http::Extensions| {
                Some(IpAddr::from([10, 1, 2, 3]))
            })),
            ..Default::default()
        };
        assert_eq!(
            settings.request_interface(&request(), true).env["REMOTE_ADDR"],
            "10.1.2.3"
        );
    }
}
