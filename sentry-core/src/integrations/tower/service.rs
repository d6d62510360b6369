//! [`SentryService`]: per-request context, request data and the panic catch around `call`.

use super::body::{note_body_left_out, BodyKind, LeftOut, Recorder, RecordingBody, WrapBody};
use super::catch::catch;
use super::future::ResponseFuture;
use super::layer::Settings;
use super::report::{report_caught_panic, report_handler_panic, PanicResponse};
use super::scrub::LayerBodyScrubber;
use crate::context::Context;
use crate::session::{RequestSessionGuard, SessionMode};
use crate::trace::{start_transaction, Transaction, TransactionContext, TransactionSource};
use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tower_service::Service;

/// The service [`SentryLayer`](super::SentryLayer) wraps around yours.
pub struct SentryService<S, P = (), W = ()> {
    pub(crate) inner: S,
    pub(crate) settings: Arc<Settings>,
    pub(crate) panic_response: Arc<P>,
    pub(crate) wrap_body: Arc<W>,
}

impl<S: Clone, P, W> Clone for SentryService<S, P, W> {
    fn clone(&self) -> Self {
        SentryService {
            inner: self.inner.clone(),
            settings: self.settings.clone(),
            panic_response: self.panic_response.clone(),
            wrap_body: self.wrap_body.clone(),
        }
    }
}

impl<S: fmt::Debug, P, W> fmt::Debug for SentryService<S, P, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryService")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, P, W, ReqBody, ResBody> Service<http::Request<ReqBody>> for SentryService<S, P, W>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    P: PanicResponse<ResBody>,
    W: WrapBody<ReqBody>,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, P, ResBody>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let context = self.settings.request_context();
        let session = start_request_session(&context);
        let send_default_pii = context.client().map(|c| c.options().send_default_pii);
        let transaction = send_default_pii.and_then(|_| {
            // The request's own trace: the one its headers continue, or a new one.
            context.continue_trace(
                req.headers()
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
            );
            start_request_transaction(&req, &context)
        });
        let request_line = self
            .settings
            .capture_server_errors
            .then(|| format!("{} {}", req.method(), req.uri().path()));
        let req = match send_default_pii {
            // The SDK is off: nothing to record, but panics still become 500s.
            None => req,
            Some(pii) => self.record_request(req, &context, pii),
        };
        let inner = &mut self.inner;
        let caught = context.run(|| catch(|| inner.call(req)));
        match caught.result {
            Ok(future) => {
                context.run(|| caught.records.into_iter().for_each(report_caught_panic));
                ResponseFuture::new(
                    future,
                    context,
                    self.settings.clone(),
                    self.panic_response.clone(),
                    request_line,
                    transaction,
                    session,
                )
            }
            Err(payload) => {
                let response = context.run(|| {
                    let mut records = caught.records;
                    let escaped = records.pop();
                    records.into_iter().for_each(report_caught_panic);
                    let panic =
                        report_handler_panic(super::catch::payload_message(&*payload), escaped);
                    self.panic_response.panic_response(&panic)
                });
                ResponseFuture::ready(
                    response,
                    context,
                    self.settings.clone(),
                    self.panic_response.clone(),
                    transaction,
                    session,
                )
            }
        }
    }
}

impl<S, P, W> SentryService<S, P, W> {
    /// Puts the request interface on the request's scope and, when body capture is on, wraps
    /// the body in a recorder.
    fn record_request<B>(
        &self,
        req: http::Request<B>,
        context: &Context,
        send_default_pii: bool,
    ) -> http::Request<B>
    where
        W: WrapBody<B>,
    {
        let interface = self
            .settings
            .request
            .request_interface(&req, send_default_pii);
        context.update_scope(|scope| scope.set_request(Some(interface)));
        if !self.wrap_body.records() || self.settings.body_limit == 0 {
            return req;
        }
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let kind = content_type
            .as_deref()
            .and_then(BodyKind::from_content_type);
        let kind = match kind {
            Some(BodyKind::Text) if !self.settings.text_bodies => None,
            kind => kind,
        };
        if let (None, Some(content_type)) = (kind, &content_type) {
            let reason = if BodyKind::from_content_type(content_type).is_some() {
                LeftOut::TextNotOptedIn
            } else {
                LeftOut::Binary
            };
            note_body_left_out(context, Some(content_type), reason);
        }
        let recorder = kind.map(|kind| {
            let scrubber = self.settings.body_scrubber.clone().unwrap_or_else(|| {
                Arc::new(LayerBodyScrubber {
                    ip_addresses: !send_default_pii,
                })
            });
            Recorder::new(context.clone(), kind, self.settings.body_limit, scrubber)
        });
        let (parts, body) = req.into_parts();
        http::Request::from_parts(
            parts,
            self.wrap_body.wrap(RecordingBody::new(body, recorder)),
        )
    }
}

/// The request's name (`GET /users/{id}`: the route when the router says which matched, else
/// the path) on every event of the request, and its transaction when tracing is on.
fn start_request_transaction<B>(req: &http::Request<B>, context: &Context) -> Option<Transaction> {
    let (target, source) = match matched_route(req) {
        Some(route) => (route, TransactionSource::Route),
        None => (req.uri().path().to_owned(), TransactionSource::Url),
    };
    let name = format!("{} {target}", req.method());
    context.update_scope(|s| s.transaction = Some(name.clone()));
    let tracing = context
        .client()
        .is_some_and(|c| c.options().tracing_enabled());
    if !tracing {
        return None;
    }
    let tx = context
        .run(|| start_transaction(TransactionContext::new(name, "http.server").source(source)));
    tx.set_data("http.request.method", req.method().as_str());
    Some(tx)
}

/// The request's session, when sessions are tracked per request: events captured in the
/// request's context count against it.
fn start_request_session(context: &Context) -> Option<RequestSessionGuard> {
    let client = context.client()?;
    let per_request = client
        .sessions()
        .is_some_and(|s| s.mode() == SessionMode::Request);
    if !per_request {
        return None;
    }
    let (guard, session) = RequestSessionGuard::start(client);
    context.set_request_session(session);
    Some(guard)
}

/// The route template the router matched, when it says (axum's `MatchedPath`, feature `axum`).
fn matched_route<B>(req: &http::Request<B>) -> Option<String> {
    #[cfg(feature = "axum")]
    if let Some(path) = req.extensions().get::<axum::extract::MatchedPath>() {
        return Some(path.as_str().to_owned());
    }
    let _ = req;
    None
}
