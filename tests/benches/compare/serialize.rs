//! The same 20-frame error event in each SDK's protocol types, and its serialization into
//! envelope bytes the way each SDK's transport does it.

use crate::stats::{nanos, percentile};
use std::collections::BTreeMap;
use std::time::Instant;

const FRAMES: usize = 20;
/// Calls per timed batch.
const COPIES: usize = 16;
/// Rounds (a batch of each call for each SDK), after the warm-up ones.
const ROUNDS: usize = 1500;
const WARMUP_ROUNDS: usize = 50;

/// The values every frame gets, shared by both SDKs' events.
struct FrameData {
    function: String,
    module: String,
    filename: String,
    abs_path: String,
    lineno: u32,
    colno: u32,
    pre: Vec<String>,
    line: String,
    post: Vec<String>,
    in_app: bool,
    addr: u64,
}

fn frame_data() -> Vec<FrameData> {
    (0..FRAMES)
        .map(|i| {
            let module = format!("my_service::handlers::orders::step_{i}");
            let code = |k: usize| format!("    let value_{k} = compute_{i}(&request, {k}).map_err(Error::from)?;");
            FrameData {
                function: format!("{module}::handle_{i}"),
                filename: format!("src/handlers/orders/step_{i}.rs"),
                abs_path: format!("/home/builder/my-service/src/handlers/orders/step_{i}.rs"),
                module,
                lineno: 40 + i as u32,
                colno: 17,
                pre: (0..3).map(code).collect(),
                line: format!("    let order = repository.load(order_id).await.context(\"loading order {i}\")?;"),
                post: (3..6).map(code).collect(),
                in_app: i >= 8,
                addr: 0x5555_5555_0000 + 0x140 * i as u64,
            }
        })
        .collect()
}

fn tags() -> BTreeMap<String, String> {
    [("region", "eu-west"), ("service", "orders")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn ours_event() -> watchpost::Event {
    use watchpost::protocol::{Event, Exception, Frame, Mechanism, Stacktrace};
    let frames = frame_data()
        .into_iter()
        .map(|d| {
            let mut f = Frame::default();
            f.function = Some(d.function);
            f.module = Some(d.module);
            f.filename = Some(d.filename);
            f.abs_path = Some(d.abs_path);
            f.lineno = Some(d.lineno);
            f.colno = Some(d.colno);
            f.pre_context = d.pre;
            f.context_line = Some(d.line);
            f.post_context = d.post;
            f.in_app = Some(d.in_app);
            f.instruction_addr = Some(format!("{:#x}", d.addr));
            f
        })
        .collect();
    let root = Exception::new("std::io::Error", "no such file: /etc/app.toml");
    let middle = Exception::new("ConfigUnreadable", "config unreadable");
    let mut top = Exception::new("RequestFailed", "request failed");
    top.module = Some("my_service::handlers".to_owned());
    top.mechanism = Some(Mechanism::new("generic", true));
    top.stacktrace = Some(Stacktrace::new(frames));
    let mut event = Event::new();
    event.exception.values = vec![root, middle, top];
    event.release = Some("my-service@1.4.2".to_owned());
    event.environment = Some("production".to_owned());
    event.server_name = Some("orders-7f9c".to_owned());
    event.tags = tags();
    event
}

fn official_event() -> sentry::protocol::Event<'static> {
    use sentry::protocol::{Event, Exception, Frame, Mechanism, Stacktrace};
    let frames = frame_data()
        .into_iter()
        .map(|d| Frame {
            function: Some(d.function),
            module: Some(d.module),
            filename: Some(d.filename),
            abs_path: Some(d.abs_path),
            lineno: Some(u64::from(d.lineno)),
            colno: Some(u64::from(d.colno)),
            pre_context: d.pre,
            context_line: Some(d.line),
            post_context: d.post,
            in_app: Some(d.in_app),
            instruction_addr: Some(d.addr.into()),
            ..Default::default()
        })
        .collect();
    let root = Exception {
        ty: "std::io::Error".into(),
        value: Some("no such file: /etc/app.toml".into()),
        ..Default::default()
    };
    let middle = Exception {
        ty: "ConfigUnreadable".into(),
        value: Some("config unreadable".into()),
        ..Default::default()
    };
    let top = Exception {
        ty: "RequestFailed".into(),
        value: Some("request failed".into()),
        module: Some("my_service::handlers".into()),
        mechanism: Some(Mechanism {
            ty: "generic".into(),
            handled: Some(true),
            ..Default::default()
        }),
        stacktrace: Some(Stacktrace {
            frames,
            ..Default::default()
        }),
        ..Default::default()
    };
    Event {
        exception: vec![root, middle, top].into(),
        level: sentry::Level::Error,
        platform: "native".into(),
        release: Some("my-service@1.4.2".into()),
        environment: Some("production".into()),
        server_name: Some("orders-7f9c".into()),
        tags: tags(),
        ..Default::default()
    }
}

/// Our transport's framing: `Envelope::from_event` (the `event_id` and `sdk` headers, the event
/// as one item) then `to_bytes`.
fn ours_bytes(event: watchpost::Event) -> Vec<u8> {
    match watchpost::protocol::Envelope::from_event(&event) {
        Ok(envelope) => envelope.to_bytes(),
        Err(e) => panic!("our event does not serialize: {e}"),
    }
}

/// The official transport's framing: `Envelope::from(event)` then `to_writer`.
fn official_bytes(event: sentry::protocol::Event<'static>) -> Vec<u8> {
    let envelope = sentry::Envelope::from(event);
    let mut body = Vec::new();
    if let Err(e) = envelope.to_writer(&mut body) {
        panic!("the official event does not serialize: {e}");
    }
    body
}

/// Nanoseconds per call of `f` over one batch of `n` calls.
fn batch(n: usize, mut f: impl FnMut()) -> u64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    nanos(start.elapsed()) / n as u64
}

/// Nanoseconds per call of `f`, which consumes its event, over one batch: the copies are made
/// before the batch is timed (few, so they stay in the CPU caches as a just-captured event
/// would), and dropping them is part of the call, as in the transport.
fn consuming_batch<E: Clone>(event: &E, f: fn(E) -> Vec<u8>) -> u64 {
    let copies: Vec<E> = (0..COPIES).map(|_| event.clone()).collect();
    let start = Instant::now();
    for copy in copies {
        std::hint::black_box(f(copy));
    }
    nanos(start.elapsed()) / COPIES as u64
}

/// One SDK's event and how its transport frames it.
struct Subject<E> {
    event: E,
    bytes: fn(E) -> Vec<u8>,
    json: fn(&E) -> usize,
    envelope: Vec<u64>,
    json_ns: Vec<u64>,
    clone: Vec<u64>,
}

impl<E: Clone> Subject<E> {
    fn new(event: E, bytes: fn(E) -> Vec<u8>, json: fn(&E) -> usize) -> Self {
        Subject {
            event,
            bytes,
            json,
            envelope: Vec::new(),
            json_ns: Vec::new(),
            clone: Vec::new(),
        }
    }

    /// One round: a batch of each kind of call.
    fn round(&mut self) {
        self.envelope.push(consuming_batch(&self.event, self.bytes));
        let (event, json) = (&self.event, self.json);
        self.json_ns.push(batch(COPIES, || {
            std::hint::black_box(json(event));
        }));
        self.clone.push(batch(COPIES, || {
            std::hint::black_box(event.clone());
        }));
    }

    fn result(mut self) -> Serialized {
        Serialized {
            bytes: (self.bytes)(self.event.clone()).len(),
            envelope_ns: percentile(&mut self.envelope, 50.0),
            json_ns: percentile(&mut self.json_ns, 50.0),
            clone_ns: percentile(&mut self.clone, 50.0),
        }
    }
}

/// What [`measure`] found for one SDK.
#[derive(Debug, Default)]
pub(crate) struct Serialized {
    /// Nanoseconds to turn an owned event into envelope bytes (and drop it).
    pub(crate) envelope_ns: u64,
    /// Nanoseconds of `serde_json::to_vec(&event)` alone.
    pub(crate) json_ns: u64,
    /// Nanoseconds of cloning the event (not part of the figures above).
    pub(crate) clone_ns: u64,
    /// Size of the envelope.
    pub(crate) bytes: usize,
}

/// Serializes each SDK's event into envelope bytes the way its transport does, in rounds that
/// alternate between the two SDKs so both see the same machine (this group installs no SDK, so
/// one process runs both). Returns (ours, official).
pub(crate) fn measure() -> (Serialized, Serialized) {
    let mut ours = Subject::new(ours_event(), ours_bytes, |e| {
        serde_json::to_vec(e).map_or(0, |v| v.len())
    });
    let mut official = Subject::new(official_event(), official_bytes, |e| {
        serde_json::to_vec(e).map_or(0, |v| v.len())
    });
    for _ in 0..WARMUP_ROUNDS {
        ours.round();
        official.round();
    }
    ours = Subject::new(ours.event, ours.bytes, ours.json);
    official = Subject::new(official.event, official.bytes, official.json);
    for i in 0..ROUNDS {
        if i % 2 == 0 {
            ours.round();
            official.round();
        } else {
            official.round();
            ours.round();
        }
    }
    (ours.result(), official.result())
}
