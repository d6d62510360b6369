//! The service and its future driven by hand, without a web framework.

use super::{HandlerPanic, SentryLayer};
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use tower_layer::Layer;
use tower_service::Service;

/// A service whose behaviour is a closure of the request path.
#[derive(Clone)]
struct Handler(fn(&str) -> Result<http::Response<String>, ()>);

impl Service<http::Request<String>> for Handler {
    type Response = http::Response<String>;
    type Error = ();
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<http::Response<String>, ()>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<String>) -> Self::Future {
        if req.uri().path() == "/panic-in-call" {
            panic!("call panicked");
        }
        let path = req.uri().path().to_owned();
        let handler = self.0;
        // The handler runs when the future is polled, so its panic happens inside `poll`.
        Box::pin(async move { handler(&path) })
    }
}

/// Polls `future` to completion on this thread (the futures here never wait).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn get(
    service: &mut impl Service<http::Request<String>, Response = http::Response<String>, Error = ()>,
    path: &str,
) -> http::Response<String> {
    let req = http::Request::builder()
        .uri(path)
        .body(String::new())
        .expect("valid request");
    block_on(service.call(req)).expect("the layer answers")
}

fn ok(path: &str) -> Result<http::Response<String>, ()> {
    if path == "/panic" {
        panic!("handler panicked");
    }
    Ok(http::Response::new(format!("ok {path}")))
}

#[test]
fn responses_pass_through_unchanged() {
    let mut service = SentryLayer::new().layer(Handler(ok));
    let resp = get(&mut service, "/hello");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), "ok /hello");
}

#[test]
fn a_panic_in_poll_or_call_becomes_an_empty_500() {
    let mut service = SentryLayer::new().layer(Handler(ok));
    for path in ["/panic", "/panic-in-call"] {
        let resp = get(&mut service, path);
        assert_eq!(resp.status(), 500, "{path}");
        assert!(resp.body().is_empty());
    }
    assert_eq!(
        get(&mut service, "/after").status(),
        200,
        "the service keeps working"
    );
}

#[test]
fn the_panic_response_sees_the_message() {
    let page = |p: &HandlerPanic| {
        let mut resp = http::Response::new(format!("sorry: {}", p.message));
        *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        resp
    };
    let mut service = SentryLayer::new().on_panic(page).layer(Handler(ok));
    assert_eq!(
        get(&mut service, "/panic").body(),
        "sorry: handler panicked"
    );
}

#[cfg(feature = "test")]
mod with_events {
    use super::*;
    use crate::testing::EventCapture;
    use crate::EventSource;

    #[test]
    fn a_panic_is_reported_with_the_request_and_the_page_knows_its_id() {
        let capture = EventCapture::new();
        let page = |p: &HandlerPanic| {
            let last = crate::last_event_id_and_source();
            assert_eq!(last.map(|(_, source)| source), Some(EventSource::Http));
            assert_eq!(last.map(|(id, _)| id), p.event_id);
            http::Response::new(
                p.event_id
                    .map(|id| id.simple().to_string())
                    .unwrap_or_default(),
            )
        };
        let layer = SentryLayer::new()
            .base_context(capture.context().clone())
            .on_panic(page);
        let mut service = layer.layer(Handler(ok));
        let resp = get(&mut service, "/panic?token=abc");

        let events = capture.events();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(resp.body(), &event.event_id.simple().to_string());
        let exc = &event.exception.values[0];
        assert_eq!(
            (exc.ty.as_str(), exc.value.as_deref()),
            ("panic", Some("handler panicked"))
        );
        let mechanism = exc.mechanism.as_ref().expect("mechanism");
        assert_eq!(
            (mechanism.ty.as_str(), mechanism.handled),
            ("tower", Some(false))
        );
        let request = event.request.as_ref().expect("request");
        assert_eq!(request.query_string.as_deref(), Some("token=[Filtered]"));
    }

    #[test]
    fn requests_do_not_leak_into_each_other_or_the_base() {
        let capture = EventCapture::new();
        capture.run(|| crate::set_tags_context([("app", "shop")]));
        fn tagged(path: &str) -> Result<http::Response<String>, ()> {
            crate::set_tags_context([("path", path)]);
            crate::capture_message(path, crate::Level::Info);
            Ok(http::Response::new(String::new()))
        }
        let mut service = SentryLayer::new()
            .base_context(capture.context().clone())
            .layer(Handler(tagged));
        get(&mut service, "/a");
        get(&mut service, "/b");
        let events = capture.events();
        let tags: Vec<_> = events
            .iter()
            .map(|e| (e.tags["app"].as_str(), e.tags["path"].as_str()))
            .collect();
        assert_eq!(tags, [("shop", "/a"), ("shop", "/b")]);
        assert!(capture
            .context()
            .configure_scope(|s| !s.tags().contains_key("path")));
    }
}
