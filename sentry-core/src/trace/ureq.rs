//! Trace propagation for outgoing requests made with ureq.

/// A ureq middleware that adds the current context's trace headers (see
/// [`outgoing_headers`](super::outgoing_headers)) to every request, so the services called
/// continue the trace. Headers the request already has are left alone.
///
/// ```
/// let agent: ureq::Agent = ureq::Agent::config_builder()
///     .middleware(watchpost::trace::UreqTracePropagation)
///     .build()
///     .into();
/// # drop(agent);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct UreqTracePropagation;

impl ureq::middleware::Middleware for UreqTracePropagation {
    fn handle(
        &self,
        mut request: ureq::http::Request<ureq::SendBody<'_>>,
        next: ureq::middleware::MiddlewareNext<'_>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        for (name, value) in super::outgoing_headers() {
            let headers = request.headers_mut();
            if headers.contains_key(name) {
                continue;
            }
            if let Ok(value) = ureq::http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        next.handle(request)
    }
}
