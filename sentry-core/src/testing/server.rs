//! The HTTP side of the mock server: a thread running a current-thread tokio runtime that serves
//! HTTP/1.1 with hyper, records each request and answers as scripted.

use super::request::ReceivedRequest;
use super::response::{MockResponse, Reaction};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What the server has received and what it will answer next.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) requests: Vec<ReceivedRequest>,
    pub(crate) scripted: VecDeque<MockResponse>,
    pub(crate) default: MockResponse,
}

/// The state, shared by the server thread and the test, and a condvar signalled on each request.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a request and returns the answer scripted for it.
    fn record(&self, request: ReceivedRequest) -> MockResponse {
        let mut state = self.lock();
        state.requests.push(request);
        let response = state
            .scripted
            .pop_front()
            .unwrap_or_else(|| state.default.clone());
        self.arrived.notify_all();
        response
    }

    /// Waits until `done` holds or `timeout` passes; returns the state either way.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'_, State> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .arrived
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state
    }
}

/// The running server thread.
#[derive(Debug)]
pub(crate) struct ServerThread {
    shutdown: Option<oneshot::Sender<()>>,
    done: mpsc::Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

/// Binds a free loopback port and starts serving on a new thread.
pub(crate) fn spawn(shared: Arc<Shared>) -> io::Result<(SocketAddr, ServerThread)> {
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    // Registering the socket needs the runtime's reactor, which `enter` provides on this thread.
    let listener = {
        let _entered = runtime.enter();
        TcpListener::from_std(std_listener)?
    };
    let (shutdown_tx, shutdown_rx) = oneshot::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("sentry-mock-server-{}", addr.port()))
        .spawn(move || {
            runtime.block_on(serve(listener, shared, shutdown_rx));
            // Dropping the runtime drops every connection task, also those never answering.
            drop(runtime);
            let _ = done_tx.send(());
        })?;
    Ok((
        addr,
        ServerThread {
            shutdown: Some(shutdown_tx),
            done: done_rx,
            handle: Some(handle),
        },
    ))
}

impl ServerThread {
    /// Stops the server and joins its thread if it ends within `timeout`; never hangs.
    pub(crate) fn stop(&mut self, timeout: Duration) -> bool {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let ended = self.done.recv_timeout(timeout).is_ok();
        if ended {
            if let Some(handle) = self.handle.take() {
                // The thread has sent its last message: joining returns at once.
                let _ = handle.join();
            }
        }
        ended
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone()));
                }
                // Out of file descriptors or similar: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

/// Serves the requests of one connection.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| answer(shared.clone(), req));
    // Errors (client gone, scripted close) end only this connection.
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Records the request, then answers as scripted.
async fn answer(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, io::Error> {
    let (parts, body) = req.into_parts();
    let raw_body = body
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes()
        .to_vec();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let request = ReceivedRequest::new(
        parts.method.as_str().to_owned(),
        parts.uri.path().to_owned(),
        parts.uri.query().map(str::to_owned),
        headers,
        raw_body,
    );
    let event_id = request.event_id().map(str::to_owned);
    let script = shared.record(request);

    if !script.delay.is_zero() {
        tokio::time::sleep(script.delay).await;
    }
    match script.reaction {
        Reaction::Answer => {}
        Reaction::NeverAnswer => std::future::pending::<()>().await,
        // An error from the service makes hyper drop the connection without writing anything.
        Reaction::CloseConnection => return Err(io::Error::other("connection closed as scripted")),
    }
    let mut response = Response::new(Full::new(Bytes::from(script.body_for(event_id.as_deref()))));
    *response.status_mut() =
        StatusCode::from_u16(script.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    let has_content_type = script
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if (200..300).contains(&script.status) && !has_content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    for (name, value) in &script.headers {
        // `MockResponse::header` checked both already.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    Ok(response)
}
