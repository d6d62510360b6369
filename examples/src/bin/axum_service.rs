//! An axum service reporting to Sentry: the tower layer (per-request context, request data,
//! panics answered with an error page that offers Sentry's user-feedback dialog), the `log`
//! backend, and a feedback form that sends user feedback.
//!
//! - With `SENTRY_DSN` set, events go to that server.
//! - Without it, an embedded receiver on 127.0.0.1 takes them and each is printed as it arrives.
//!
//! Run it with `cargo run -p examples --bin axum_service`, then open <http://127.0.0.1:3000/>
//! (`PORT` picks another port).

use axum::body::Body;
use axum::extract::{ConnectInfo, Form, Path};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use watchpost::log::SentryLogger;
use watchpost::testing::MockServer;
use watchpost::tower::{HandlerPanic, SentryLayer, DEFAULT_BODY_LIMIT};
use watchpost::{ClientOptions, EventSource, ReportDialog, SourceTable, User, UserFeedback};

/// This crate's sources, embedded at build time by `build.rs`.
static SOURCES: SourceTable = watchpost::embed_sources!();

/// The application's own logger: the `log` backend forwards every record here.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "{:<5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }
    fn flush(&self) {}
}

async fn index() -> Html<&'static str> {
    Html(
        "<h1>watchpost axum example</h1>\n<ul>\n\
         <li><a href=\"/checkout\">/checkout</a>: a handler that panics (error page with the feedback dialog)</li>\n\
         <li><a href=\"/orders/7\">/orders/7</a>: an error logged with <code>log::error!</code></li>\n\
         </ul>\n",
    )
}

/// Sets request data on the request's own context, then panics: the layer reports the panic
/// with the request and answers with [`error_page`].
async fn checkout() -> &'static str {
    watchpost::set_user_context(User::with_id("customer-17"));
    watchpost::set_tags_context([("feature", "checkout")]);
    log::info!("loading the cart"); // a breadcrumb of this request
    let prices: Vec<u32> = Vec::new();
    let total: u32 = prices[0] * 2; // index out of bounds: a panic
    log::info!("total {total}");
    "paid"
}

/// An order that cannot be found: logged as an error (an event from the `log` backend) and
/// answered with 404.
async fn order(Path(id): Path<u32>) -> Response {
    log::error!(order_id = id; "order {id} not found in the database");
    (axum::http::StatusCode::NOT_FOUND, "no such order").into_response()
}

/// The `500` page for a panicked handler. It runs in the request's context after the panic was
/// reported, so the last event is the panic's, from [`EventSource::Http`].
fn error_page(_panic: &HandlerPanic) -> http::Response<Body> {
    let (dialog, form) = match watchpost::last_event_id_and_source() {
        Some((event_id, EventSource::Http)) => {
            let dialog = ReportDialog::new(event_id)
                .option("title", "It looks like we're having issues.")
                .to_html()
                .unwrap_or_default();
            let form = format!(
                "<form method=\"post\" action=\"/feedback\">\n\
                 <input type=\"hidden\" name=\"event_id\" value=\"{}\">\n\
                 <input name=\"name\" placeholder=\"Name\"> <input name=\"email\" placeholder=\"Email\">\n\
                 <textarea name=\"comments\" placeholder=\"What happened?\"></textarea>\n\
                 <button>Send feedback</button>\n</form>\n",
                event_id.simple()
            );
            (dialog, form)
        }
        _ => (String::new(), String::new()),
    };
    let html = format!("<h1>Something went wrong</h1>\n{form}{dialog}");
    http::Response::builder()
        .status(500)
        .header("content-type", "text/html; charset=utf-8")
        .body(Body::from(html))
        .unwrap_or_default()
}

/// Sends the feedback form's contents as user feedback for the event.
async fn feedback(Form(form): Form<HashMap<String, String>>) -> Html<&'static str> {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut feedback = UserFeedback::new(field("comments"))
        .name(field("name"))
        .contact_email(field("email"));
    if let Ok(id) = uuid::Uuid::parse_str(&field("event_id")) {
        feedback = feedback.associated_event_id(id);
    }
    // Queued for the SDK's worker: no network wait on the async thread.
    match watchpost::capture_user_feedback(feedback) {
        Ok(_) => Html("<p>Thank you, your feedback was sent.</p>"),
        Err(_) => Html("<p>Sorry, the feedback could not be sent.</p>"),
    }
}

fn app() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/checkout", get(checkout))
        .route("/orders/{id}", get(order))
        .route("/feedback", post(feedback))
        .layer(
            SentryLayer::new()
                .on_panic(error_page)
                .client_address(|ext: &http::Extensions| {
                    ext.get::<ConnectInfo<SocketAddr>>()
                        .map(|ConnectInfo(addr)| addr.ip())
                })
                .capture_request_body(DEFAULT_BODY_LIMIT, Body::new),
        )
}

/// Prints each event the embedded receiver gets, as it arrives.
fn print_events(server: MockServer) {
    let mut seen = 0;
    loop {
        let events = server.wait_for_events(seen + 1, Duration::from_secs(3600));
        for e in &events[seen..] {
            let exc = e["exception"]["values"].as_array().and_then(|v| v.last());
            let title = match exc {
                Some(x) => format!(
                    "{}: {}",
                    x["type"].as_str().unwrap_or(""),
                    x["value"].as_str().unwrap_or("")
                ),
                None => e["logentry"]["formatted"].as_str().unwrap_or("").to_owned(),
            };
            println!(
                "\n[receiver] event {} [{}] {title}\n           request {} {}, tags {}",
                e["event_id"].as_str().unwrap_or(""),
                e["level"].as_str().unwrap_or(""),
                e["request"]["method"].as_str().unwrap_or("-"),
                e["request"]["url"].as_str().unwrap_or("-"),
                e["tags"],
            );
        }
        seen = events.len();
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let from_env = std::env::var("SENTRY_DSN")
        .ok()
        .filter(|d| !d.trim().is_empty());
    let receiver = if from_env.is_none() {
        Some(MockServer::start())
    } else {
        None
    };
    let dsn = match (&from_env, &receiver) {
        (Some(dsn), _) => dsn.clone(),
        (None, Some(server)) => server.dsn(),
        (None, None) => String::new(),
    };
    let _guard = match watchpost::init(
        ClientOptions::new()
            .dsn(dsn)
            .release(concat!(
                "watchpost-axum-example@",
                env!("CARGO_PKG_VERSION")
            ))
            .environment("example")
            .source_table(SOURCES),
    ) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("axum_service: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = SentryLogger::new()
        .forward_to(Box::new(StderrLogger))
        .install()
    {
        eprintln!("axum_service: could not install the logger: {e}");
    }
    if let Some(server) = receiver {
        println!(
            "No SENTRY_DSN set: sending to the embedded receiver at {}",
            server.url()
        );
        std::thread::spawn(move || print_events(server));
    }

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
