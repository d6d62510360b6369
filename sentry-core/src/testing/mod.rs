//! The testing kit (cargo feature `test`): check what your code reports to Sentry.
//!
//! Two tools, both safe in tests that run in parallel:
//!
//! - **In memory**: [`with_captured_events`] runs a closure with a client of its own that keeps
//!   events in memory and returns them as [`Event`](crate::Event)s; [`EventCapture`] does the
//!   same across several steps of a test. Nothing goes over the network.
//! - **Over HTTP**: [`MockServer`] is a real HTTP server on a free loopback port that plays
//!   Sentry: get its DSN, script its answers ([`MockResponse`]: `200`, `429` with rate-limit
//!   headers, `500`, late or no answer), and look at the envelopes and events it received.
//!   [`with_client`] runs a closure with a real HTTP client for it.
//!
//! Both bind the client to a [`Context`] of their own instead of installing it globally as
//! [`init`](crate::init) does, so tests in the same binary never see each other's events. Code
//! run on other threads is covered when it carries the context along (see [`EventCapture`]).
//!
//! ```
//! use watchpost::testing::with_captured_events;
//! use watchpost::{capture_error, Level};
//!
//! fn parse_port(s: &str) -> Option<u16> {
//!     match s.parse() {
//!         Ok(port) => Some(port),
//!         Err(err) => {
//!             capture_error(&err);
//!             None
//!         }
//!     }
//! }
//!
//! let (port, events) = with_captured_events(|| parse_port("http"));
//! assert_eq!(port, None);
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].level, Level::Error);
//! assert_eq!(events[0].exception.values[0].ty, "ParseIntError");
//! ```

mod memory;
mod mock_server;
mod request;
mod response;
mod server;

pub use memory::{
    with_captured_envelopes, with_captured_events, with_captured_events_options, EventCapture,
};
pub use mock_server::MockServer;
pub use request::ReceivedRequest;
pub use response::MockResponse;

use crate::client::build_client;
use crate::context::Context;
use crate::options::ClientOptions;
use std::sync::Arc;

/// Runs `f` with a real client built from `options`, exactly as [`init`](crate::init) builds it,
/// bound to a fresh [`Context`] instead of installed globally: the way to test against a
/// [`MockServer`] in parallel tests. After `f`, queued events are sent (for at most the
/// `shutdown_timeout` option) before this returns.
///
/// The DSN must be in `options`: `SENTRY_DSN` is not read here, so a test never reports to a
/// real project by accident. The panic hook is not installed: panics are not reported.
///
/// ```
/// use watchpost::testing::{with_client, MockServer};
/// use watchpost::{capture_message, ClientOptions, Level, SendResult};
///
/// let server = MockServer::start();
/// let options = ClientOptions::new().dsn(server.dsn()).send_result(SendResult::Sync);
/// let outcome = with_client(options, || capture_message("hello", Level::Info));
/// assert!(outcome.is_accepted());
/// server.assert_event_count(1);
/// ```
///
/// # Panics
///
/// When the options have no DSN or are invalid, and when `f` panics.
pub fn with_client<R>(options: ClientOptions, f: impl FnOnce() -> R) -> R {
    if options.dsn.is_none() {
        panic!("with_client: the options have no DSN; pass one, e.g. `MockServer::dsn()`");
    }
    let client = match build_client(options) {
        Ok(Some(client)) => Arc::new(client),
        Ok(None) => unreachable!("the DSN was checked above"),
        Err(e) => panic!("with_client: invalid ClientOptions: {e}"),
    };
    let result = Context::with_client(client.clone()).run(f);
    client.shutdown();
    result
}
