//! Web services: a tower layer that works with axum, hyper and any `tower::Service` over
//! `http` types (the Elixir client's `Sentry.PlugCapture` and `Sentry.PlugContext`). Feature
//! `tower`.
//!
//! # Setup with tower and axum
//!
//! Add [`SentryLayer`] as the outermost layer of your router. Serve with
//! `into_make_service_with_connect_info` and tell the layer where the client address is if you
//! want it (it is sent only with `send_default_pii` on).
//!
//! ```no_run
//! use axum::extract::ConnectInfo;
//! use axum::{routing::get, Router};
//! use watchpost::tower::SentryLayer;
//! use watchpost::ClientOptions;
//! use std::net::SocketAddr;
//!
//! async fn checkout() -> &'static str {
//!     watchpost::set_tags_context([("feature", "checkout")]);
//!     panic!("payment provider unreachable"); // reported with the request, answered with 500
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let _guard = watchpost::init(ClientOptions::new()).expect("valid Sentry options");
//!
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello" }))
//!         .route("/checkout", get(checkout))
//!         .layer(
//!             SentryLayer::new()
//!                 .client_address(|ext: &http::Extensions| {
//!                     ext.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
//!                 })
//!                 .capture_request_body(watchpost::tower::DEFAULT_BODY_LIMIT, axum::body::Body::new),
//!         );
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
//! }
//! ```
//!
//! Every request runs in a [`Context`](crate::Context) of its own: tags, user, extra and
//! breadcrumbs set while handling it stay with it, and events captured while handling it carry
//! the request. Tasks a handler spawns start with an empty context; give them the request's with
//! [`ContextFutureExt::in_forked_context`](crate::ContextFutureExt::in_forked_context).
//!
//! What the request interface holds, with `send_default_pii` off (the default): method, URL,
//! query string, headers and cookies, where the values of `Authorization`, `Cookie` and of
//! every header, cookie and query key whose name contains a sensitive word (`auth`, `token`,
//! `secret`, `password`, `key`, `session`, `csrf`, ...) are `[Filtered]`, and no client address.
//! In the other values, card numbers, IBANs, social security numbers, URL passwords, private
//! keys and IP addresses (except in `Host`) become `[Filtered]`, and a value that mentions a
//! credential (`password`, `token`, `bearer`, ...) is `[Filtered]` as a whole. With
//! `send_default_pii` on, values are sent as they are, plus `env.REMOTE_ADDR`.
//!
//! The recorded body (opt-in, [`SentryLayer::capture_request_body`]) is always scrubbed: JSON and
//! form bodies by key and value, at any depth up to 64 levels, card numbers included (also as
//! JSON numbers), and IP addresses while `send_default_pii` is off. A JSON body that does not
//! parse (or nests deeper than 128 levels) is left out. Plain-text and XML bodies have no structure to scrub by, so they are left out,
//! and the event's `request_body` context says so, unless you opt in with
//! [`SentryLayer::capture_text_bodies`]: they are then scrubbed by pattern (see
//! [`DefaultScrubber`]). Binary and multipart bodies are never recorded. Replace any scrubber
//! with a closure: [`SentryLayer::header_scrubber`], [`SentryLayer::cookie_scrubber`],
//! [`SentryLayer::body_scrubber`].
//!
//! A panic in a handler is reported once, as an unhandled exception with mechanism `tower` and
//! [`EventSource::Http`](crate::EventSource::Http), with the stack at the panic when the panic hook
//! (feature `panic`, installed by [`init`](crate::init)) saw it, and answered with `500`.
//!
//! # Capturing user feedback
//!
//! The [`on_panic`](SentryLayer::on_panic) page runs in the request's context after the panic
//! was reported, so [`last_event_id_and_source`](crate::last_event_id_and_source) answers the
//! event's id with [`EventSource::Http`](crate::EventSource::Http) and the page can offer
//! Sentry's report dialog:
//!
//! ```
//! use axum::body::Body;
//! use watchpost::tower::{HandlerPanic, SentryLayer};
//! use watchpost::{last_event_id_and_source, EventSource, ReportDialog};
//!
//! fn error_page(_panic: &HandlerPanic) -> http::Response<Body> {
//!     let dialog = match last_event_id_and_source() {
//!         // Can add options: .option("title", "My custom title")
//!         Some((event_id, EventSource::Http)) => ReportDialog::new(event_id).to_html(),
//!         _ => None,
//!     };
//!     let html = format!("<h1>Something went wrong</h1>\n{}", dialog.unwrap_or_default());
//!     http::Response::builder()
//!         .status(500)
//!         .header("content-type", "text/html; charset=utf-8")
//!         .body(Body::from(html))
//!         .unwrap_or_default()
//! }
//!
//! let layer = SentryLayer::new().on_panic(error_page);
//! # let _ = layer;
//! ```
//!
//! To send feedback from your own form instead, use
//! [`capture_user_feedback`](crate::capture_user_feedback).

mod body;
mod catch;
mod future;
mod layer;
mod patterns;
mod report;
mod request;
mod scrub;
mod service;
#[cfg(test)]
mod tests;
mod values;

#[cfg(feature = "panic")]
pub(crate) use catch::defer_panic;

pub use body::{RecordingBody, WrapBody};
pub use future::ResponseFuture;
pub use layer::{SentryLayer, DEFAULT_BODY_LIMIT};
pub use report::{HandlerPanic, PanicResponse};
pub use request::ClientAddress;
pub use scrub::{BodyScrubber, CookieScrubber, DefaultScrubber, HeaderScrubber, FILTERED};
pub use service::SentryService;
