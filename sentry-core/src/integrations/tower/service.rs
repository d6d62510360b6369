//! [`SentryService`]: per-request context, request data and the panic catch around `call`.

use super::body::{note_body_left_out, BodyKind, LeftOut, Recorder, RecordingBody, WrapBody};
use super::catch::catch;
use super::future::ResponseFuture;
use super::layer::Settings;
use super::report::{report_caught_panic, report_handler_panic, PanicResponse};
use super::scrub::LayerBodyScrubber;
use crate::context::Context;
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
        let send_default_pii = context.client().map(|c| c.options().send_default_pii);
        if send_default_pii.is_some() {
            // The request's own trace: the one its headers continue, or a new one.
            context.continue_trace(
                req.headers()
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
            );
        }
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
