//! [`ResponseFuture`]: polls the inner future in the request's context, catching panics.

use super::catch::{catch, payload_message};
use super::layer::Settings;
use super::report::{
    report_caught_panic, report_handler_panic, report_server_error, PanicResponse,
};
use crate::context::Context;
use crate::session::RequestSessionGuard;
use crate::trace::{SpanStatus, Transaction};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// The response future of [`SentryService`](super::SentryService).
    pub struct ResponseFuture<F, P, B> {
        #[pin]
        state: State<F, B>,
        context: Context,
        settings: Arc<Settings>,
        panic_response: Arc<P>,
        request_line: Option<String>,
        transaction: Option<Transaction>,
        session: Option<RequestSessionGuard>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Running { #[pin] future: F },
        Ready { response: Option<http::Response<B>> },
        Done,
    }
}

impl<F, P, B> fmt::Debug for ResponseFuture<F, P, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl<F, P, B> ResponseFuture<F, P, B> {
    pub(crate) fn new(
        future: F,
        context: Context,
        settings: Arc<Settings>,
        panic_response: Arc<P>,
        request_line: Option<String>,
        transaction: Option<Transaction>,
        session: Option<RequestSessionGuard>,
    ) -> Self {
        ResponseFuture {
            state: State::Running { future },
            context,
            settings,
            panic_response,
            request_line,
            transaction,
            session,
        }
    }

    /// A future that answers `response` at once (the inner `call` panicked).
    pub(crate) fn ready(
        response: http::Response<B>,
        context: Context,
        settings: Arc<Settings>,
        panic_response: Arc<P>,
        transaction: Option<Transaction>,
        session: Option<RequestSessionGuard>,
    ) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
            context,
            settings,
            panic_response,
            request_line: None,
            transaction,
            session,
        }
    }
}

impl<F, P, B, E> Future for ResponseFuture<F, P, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    P: PanicResponse<B>,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let future = match this.state.as_mut().project() {
            StateProj::Running { future } => future,
            StateProj::Ready { response } => {
                let response = response.take();
                this.state.set(State::Done);
                return match response {
                    Some(response) => {
                        finish(
                            this.transaction.take(),
                            this.session.take(),
                            Some(response.status().as_u16()),
                        );
                        Poll::Ready(Ok(response))
                    }
                    None => Poll::Pending,
                };
            }
            // Polled after completion: a contract violation of the caller; never resolves.
            StateProj::Done => return Poll::Pending,
        };
        let context = this.context;
        let caught = context.run(|| catch(|| future.poll(cx)));
        let mut records = caught.records;
        match caught.result {
            Ok(Poll::Pending) => {
                context.run(|| records.into_iter().for_each(report_caught_panic));
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => {
                context.run(|| {
                    records.into_iter().for_each(report_caught_panic);
                    if let (Ok(response), Some(line)) = (&output, this.request_line.as_deref()) {
                        if this.settings.capture_server_errors
                            && response.status().is_server_error()
                        {
                            report_server_error(response.status(), line);
                        }
                    }
                });
                this.state.set(State::Done);
                let status = output.as_ref().ok().map(|r| r.status().as_u16());
                finish(this.transaction.take(), this.session.take(), status);
                Poll::Ready(output)
            }
            Err(payload) => {
                // The inner future is broken now: drop it (a panic in its drop is a panic of its
                // own, for the hook to report) and answer for it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    this.state.set(State::Done)
                }));
                let response = context.run(|| {
                    let escaped = records.pop();
                    records.into_iter().for_each(report_caught_panic);
                    let panic = report_handler_panic(payload_message(&*payload), escaped);
                    this.panic_response.panic_response(&panic)
                });
                finish(
                    this.transaction.take(),
                    this.session.take(),
                    Some(response.status().as_u16()),
                );
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// Finishes the request's transaction and counts its session with the response status
/// (`None`: the service failed without a response).
fn finish(
    transaction: Option<Transaction>,
    session: Option<RequestSessionGuard>,
    status: Option<u16>,
) {
    if let Some(session) = session {
        session.finish(status);
    }
    let Some(tx) = transaction else { return };
    match status {
        Some(code) => {
            tx.set_status(SpanStatus::from_http(code));
            tx.set_data("http.response.status_code", code);
        }
        None => tx.set_status(SpanStatus::InternalError),
    }
    tx.finish();
}
