//! [`SentryLayer`]: the layer and its settings.

use super::request::{ClientAddress, RequestSettings};
use super::scrub::{BodyScrubber, CookieScrubber, HeaderScrubber};
use super::service::SentryService;
use crate::context::Context;
use std::fmt;
use std::sync::Arc;

/// The request body size recorded by default once body capture is on (Sentry's guidance: 8 kB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024;

/// Settings shared by every service a layer makes.
#[derive(Clone, Default)]
pub(crate) struct Settings {
    pub(crate) request: RequestSettings,
    pub(crate) base_context: Option<Context>,
    pub(crate) capture_server_errors: bool,
    pub(crate) body_limit: usize,
    pub(crate) text_bodies: bool,
    pub(crate) body_scrubber: Option<Arc<dyn BodyScrubber>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("request", &self.request)
            .field("base_context", &self.base_context.is_some())
            .field("capture_server_errors", &self.capture_server_errors)
            .field("body_limit", &self.body_limit)
            .field("text_bodies", &self.text_bodies)
            .field("custom_body_scrubber", &self.body_scrubber.is_some())
            .finish()
    }
}

impl Settings {
    /// A context of its own for one request: a fork of the base context, or a new one.
    pub(crate) fn request_context(&self) -> Context {
        self.base_context
            .as_ref()
            .map_or_else(Context::new, Context::fork)
    }
}

/// A tower [`Layer`](tower_layer::Layer) that captures errors of a web service (Elixir's
/// `Sentry.PlugCapture` and `Sentry.PlugContext` in one).
///
/// For each request it:
/// - runs the inner service in a [`Context`] of the request's own, so concurrent requests never
///   share tags, user or breadcrumbs (set them in handlers with
///   [`set_tags_context`](crate::set_tags_context) and friends);
/// - gives that context the trace the request's `sentry-trace` (or `traceparent`) and
///   `baggage` headers continue, or a new one (see [`trace`](crate::trace)): every event of the
///   request carries it;
/// - puts the request (method, URL, query string, headers, cookies; the client address when
///   `send_default_pii` is on; the body when opted in), scrubbed, on every event captured while
///   handling it;
/// - catches a panic of the handler, reports it as an unhandled event (mechanism `tower`,
///   [`EventSource::Http`](crate::EventSource::Http)) and answers `500` (or your
///   [`on_panic`](SentryLayer::on_panic) page) instead of dropping the connection;
/// - optionally reports `5xx` responses ([`capture_server_errors`](SentryLayer::capture_server_errors)).
///
/// `P` builds the panic response and `W` wraps recorded bodies; both default to `()`.
pub struct SentryLayer<P = (), W = ()> {
    pub(crate) settings: Settings,
    pub(crate) panic_response: Arc<P>,
    pub(crate) wrap_body: Arc<W>,
}

impl Default for SentryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentryLayer {
    /// A layer with the defaults: default scrubbing, no body, no `5xx` reports, empty `500` on panic.
    pub fn new() -> Self {
        SentryLayer {
            settings: Settings::default(),
            panic_response: Arc::new(()),
            wrap_body: Arc::new(()),
        }
    }
}

impl<P, W> SentryLayer<P, W> {
    /// Builds the response for a panicked handler, such as an error page offering Sentry's
    /// user-feedback dialog. See [`PanicResponse`](super::PanicResponse).
    #[must_use]
    pub fn on_panic<P2>(self, response: P2) -> SentryLayer<P2, W> {
        SentryLayer {
            settings: self.settings,
            panic_response: Arc::new(response),
            wrap_body: self.wrap_body,
        }
    }

    /// Records up to `limit` bytes of JSON and form (`application/x-www-form-urlencoded`)
    /// request bodies as the handler reads them, scrubbed, into `request.data`
    /// ([`DEFAULT_BODY_LIMIT`] is a good value). `wrap` turns the recording body back into the
    /// body type of the inner service: `axum::body::Body::new` for axum. A body the handler never
    /// read is not recorded.
    ///
    /// Other bodies have no structure the scrubber can take apart, so they are left out:
    /// `request.data` stays empty and the event's `request_body` context says why
    /// (`{"recorded": false, "content_type": "text/plain", "reason": "..."}`). Plain-text and XML
    /// bodies can be recorded too, scrubbed by pattern: see
    /// [`capture_text_bodies`](SentryLayer::capture_text_bodies).
    #[must_use]
    pub fn capture_request_body<W2>(mut self, limit: usize, wrap: W2) -> SentryLayer<P, W2> {
        self.settings.body_limit = limit;
        SentryLayer {
            settings: self.settings,
            panic_response: self.panic_response,
            wrap_body: Arc::new(wrap),
        }
    }

    /// Also records plain-text and XML bodies (`text/*`, `application/xml`, `*+xml`) once
    /// [`capture_request_body`](SentryLayer::capture_request_body) is on, scrubbed by pattern
    /// (see [`DefaultScrubber`](super::DefaultScrubber)): values of `key=value`, `key: value`
    /// and `"key": value` pairs and of XML elements and attributes with a sensitive name, card
    /// numbers, IBANs, social security numbers, URL passwords and private keys become
    /// `[Filtered]`, and a body that still mentions a credential
    /// (`password`, `secret`, `token`, ...) is `[Filtered]` as a whole. Default off: pattern
    /// scrubbing can only recognise secrets that follow those patterns.
    #[must_use]
    pub fn capture_text_bodies(mut self, on: bool) -> Self {
        self.settings.text_bodies = on;
        self
    }

    /// Also reports responses with a `5xx` status, as a message event with the request, when
    /// nothing else was reported for the request. Default off: a `5xx` that a handler returns
    /// is usually a deliberate answer, and errors worth reporting are best captured where they
    /// happen, with their cause.
    #[must_use]
    pub fn capture_server_errors(mut self, on: bool) -> Self {
        self.settings.capture_server_errors = on;
        self
    }

    /// Each request's context starts as a fork of `context` (its tags, user, extra and client)
    /// instead of empty.
    #[must_use]
    pub fn base_context(mut self, context: Context) -> Self {
        self.settings.base_context = Some(context);
        self
    }

    /// Replaces the header scrubber (by default [`DefaultScrubber`](super::DefaultScrubber)
    /// while `send_default_pii` is off). Yours runs whatever `send_default_pii` is.
    #[must_use]
    pub fn header_scrubber(mut self, scrubber: impl HeaderScrubber + 'static) -> Self {
        self.settings.request.header_scrubber = Some(Arc::new(scrubber));
        self
    }

    /// Replaces the cookie scrubber (by default [`DefaultScrubber`](super::DefaultScrubber)
    /// while `send_default_pii` is off). Yours runs whatever `send_default_pii` is.
    #[must_use]
    pub fn cookie_scrubber(mut self, scrubber: impl CookieScrubber + 'static) -> Self {
        self.settings.request.cookie_scrubber = Some(Arc::new(scrubber));
        self
    }

    /// Replaces the body scrubber (by default [`DefaultScrubber`](super::DefaultScrubber), always).
    #[must_use]
    pub fn body_scrubber(mut self, scrubber: impl BodyScrubber + 'static) -> Self {
        self.settings.body_scrubber = Some(Arc::new(scrubber));
        self
    }

    /// How to find the client's address (sent as `env.REMOTE_ADDR` when `send_default_pii` is
    /// on). Without it, a `std::net::SocketAddr` in the request's extensions is used.
    #[must_use]
    pub fn client_address(mut self, lookup: impl ClientAddress + 'static) -> Self {
        self.settings.request.client_address = Some(Arc::new(lookup));
        self
    }

    /// Trusts `X-Forwarded-For` / `X-Real-IP` for the client address and `X-Forwarded-Proto` /
    /// `X-Forwarded-Host` for the URL. Turn on only behind a proxy that sets them. Default off.
    #[must_use]
    pub fn trust_forwarded_headers(mut self, on: bool) -> Self {
        self.settings.request.trust_forwarded_headers = on;
        self
    }
}

impl<P, W> Clone for SentryLayer<P, W> {
    fn clone(&self) -> Self {
        SentryLayer {
            settings: self.settings.clone(),
            panic_response: self.panic_response.clone(),
            wrap_body: self.wrap_body.clone(),
        }
    }
}

impl<P, W> fmt::Debug for SentryLayer<P, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, P, W> tower_layer::Layer<S> for SentryLayer<P, W> {
    type Service = SentryService<S, P, W>;

    fn layer(&self, inner: S) -> Self::Service {
        SentryService {
            inner,
            settings: Arc::new(self.settings.clone()),
            panic_response: self.panic_response.clone(),
            wrap_body: self.wrap_body.clone(),
        }
    }
}
