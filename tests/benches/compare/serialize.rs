//! The same 20-frame error event in each SDK's protocol types, and its serialization into
//! envelope bytes the way each SDK's transport does it.

use crate::peers::Sdk;
use crate::stats::{nanos, percentile};
use std::collections::BTreeMap;
use std::time::Instant;

const FRAMES: usize = 20;
const BATCH: usize = 2000;
const BATCHES: usize = 25;

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

fn ours_event() -> sentry_core::Event {
    use sentry_core::{Event, Exception, Frame, Mechanism, Stacktrace};
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

/// Our transport's framing: `event_id` and `sdk` envelope headers, the event as one item.
fn ours_bytes(event: sentry_core::Event) -> Vec<u8> {
    let mut envelope = sentry_core::Envelope::new();
    let mut buf = uuid::Uuid::encode_buffer();
    envelope.set_header(
        "event_id",
        event.event_id.simple().encode_lower(&mut buf).to_owned(),
    );
    envelope.set_header(
        "sdk",
        serde_json::json!({"name": sentry_core::SDK_NAME, "version": sentry_core::SDK_VERSION}),
    );
    match sentry_core::EnvelopeItem::json("event", &event) {
        Ok(item) => envelope.add_item(item),
        Err(e) => panic!("our event does not serialize: {e}"),
    }
    envelope.to_bytes()
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

/// Median nanoseconds per call of `f` over batches.
fn per_call(mut f: impl FnMut()) -> u64 {
    for _ in 0..BATCH / 4 {
        f();
    }
    let mut batches: Vec<u64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            nanos(start.elapsed()) / BATCH as u64
        })
        .collect();
    percentile(&mut batches, 50.0)
}

/// What [`measure`] found.
#[derive(Debug, Default)]
pub(crate) struct Serialized {
    /// Nanoseconds to turn the event into envelope bytes, the clone taken out.
    pub(crate) envelope_ns: u64,
    /// Nanoseconds of `serde_json::to_vec(&event)` alone.
    pub(crate) json_ns: u64,
    /// Nanoseconds of cloning the event.
    pub(crate) clone_ns: u64,
    /// Size of the envelope.
    pub(crate) bytes: usize,
}

/// Both SDKs' envelope APIs consume or copy the event, so each call clones it; the cost of that
/// clone, measured on its own, is subtracted.
pub(crate) fn measure(sdk: Sdk) -> Serialized {
    fn run<E: Clone>(event: E, bytes: fn(E) -> Vec<u8>, json: fn(&E) -> usize) -> Serialized {
        let size = bytes(event.clone()).len();
        let clone_ns = per_call(|| {
            std::hint::black_box(event.clone());
        });
        let total = per_call(|| {
            std::hint::black_box(bytes(event.clone()));
        });
        let json_ns = per_call(|| {
            std::hint::black_box(json(&event));
        });
        Serialized {
            envelope_ns: total.saturating_sub(clone_ns),
            json_ns,
            clone_ns,
            bytes: size,
        }
    }
    match sdk {
        Sdk::Ours => run(ours_event(), ours_bytes, |e| {
            serde_json::to_vec(e).map_or(0, |v| v.len())
        }),
        Sdk::Official => run(official_event(), official_bytes, |e| {
            serde_json::to_vec(e).map_or(0, |v| v.len())
        }),
        Sdk::Bare => Serialized::default(),
    }
}
