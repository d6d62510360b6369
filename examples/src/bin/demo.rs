//! The demo: reports a real error chain, a message and a panic from a worker thread.
//!
//! - With `SENTRY_DSN` set, the events go to that server.
//! - Without it, the demo starts an embedded receiver on 127.0.0.1, sends the events there and
//!   prints each one as it arrived, source context included.
//!
//! Run it with `cargo run -p examples --bin demo`.

use serde_json::Value;
use std::fmt;
use std::time::Duration;
use watchpost::testing::MockServer;
use watchpost::{Breadcrumb, ClientOptions, Level, SourceTable, User};

/// This crate's sources, embedded at build time by `build.rs`.
static SOURCES: SourceTable = watchpost::embed_sources!();

/// Starting the service failed.
#[derive(Debug)]
struct StartupError {
    source: ConfigError,
}

/// The configuration could not be loaded.
#[derive(Debug)]
struct ConfigError {
    path: String,
    source: std::io::Error,
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the service could not start")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read the configuration file {}", self.path)
    }
}

impl std::error::Error for StartupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn load_config(path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError {
        path: path.to_owned(),
        source,
    })
}

fn start_service() -> Result<(), StartupError> {
    let config =
        load_config("/nonexistent/demo-service.toml").map_err(|source| StartupError { source })?;
    println!("loaded {} bytes of configuration", config.len());
    Ok(())
}

fn apply_discount(prices: &[u32], index: usize) -> u32 {
    let price = prices[index];
    price - price / 10
}

fn main() {
    let from_env = std::env::var("SENTRY_DSN")
        .ok()
        .filter(|d| !d.trim().is_empty());
    let receiver = match &from_env {
        Some(_) => None,
        None => Some(MockServer::start()),
    };
    let dsn = match (&from_env, &receiver) {
        (Some(dsn), _) => dsn.clone(),
        (None, Some(server)) => server.dsn(),
        (None, None) => unreachable!("a receiver is started when SENTRY_DSN is unset"),
    };
    let guard = match watchpost::init(
        ClientOptions::new()
            .dsn(dsn)
            .release(concat!("watchpost-demo@", env!("CARGO_PKG_VERSION")))
            .environment("demo")
            .source_table(SOURCES),
    ) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::exit(2);
        }
    };
    match &receiver {
        Some(server) => println!(
            "No SENTRY_DSN set: sending to the embedded receiver at {}\n",
            server.url()
        ),
        None => println!("Sending to the SENTRY_DSN server\n"),
    }

    watchpost::set_user_context(User::with_id("demo-user"));
    watchpost::set_tags_context([("component", "demo")]);
    watchpost::add_breadcrumb(Breadcrumb::new("demo", "service starting"));

    if let Err(err) = start_service() {
        let outcome = watchpost::capture_error(&err);
        println!("captured the startup error: {outcome:?}");
    }
    let outcome = watchpost::capture_message("the demo ran its checks", Level::Warning);
    println!("captured a message: {outcome:?}");

    let worker = std::thread::Builder::new()
        .name("discount-worker".into())
        .spawn(|| apply_discount(&[100, 250], 7))
        .expect("can spawn a thread");
    if worker.join().is_err() {
        println!("the discount worker panicked (reported by the panic hook)");
    }

    if !guard.flush(Duration::from_secs(10)) {
        eprintln!("demo: not every event was delivered within 10 s");
    }
    let stats = guard.stats();
    println!(
        "\ndelivered {} envelope(s), dropped {}",
        stats.sent,
        stats.dropped_total()
    );

    if let Some(server) = receiver {
        let events = server.wait_for_events(3, Duration::from_secs(10));
        println!("\nThe embedded receiver got {} event(s):", events.len());
        for (i, event) in events.iter().enumerate() {
            print_event(i + 1, event);
        }
    }
    drop(guard);
}

/// Prints an event the way a person wants to read it in a terminal.
fn print_event(n: usize, e: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let exceptions = e["exception"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let title = match exceptions.last() {
        Some(x) => format!("{}: {}", s(&x["type"]), s(&x["value"])),
        None => s(&e["logentry"]["formatted"]),
    };
    println!("\n━━ event {n} ━━ [{}] {title}", s(&e["level"]));
    println!(
        "   id {}  environment {}  release {}",
        s(&e["event_id"]),
        s(&e["environment"]),
        s(&e["release"])
    );
    if let Some(tags) = e["tags"].as_object() {
        let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
        println!("   tags: {}", tags.join(", "));
    }
    if exceptions.len() > 1 {
        println!("   cause chain (root cause first):");
        for x in &exceptions {
            println!("     - {}: {}", s(&x["type"]), s(&x["value"]));
        }
    }
    let Some(frames) = exceptions
        .last()
        .and_then(|x| x["stacktrace"]["frames"].as_array())
    else {
        return;
    };
    println!("   stack trace (most recent call last, in-app frames):");
    for f in frames.iter().filter(|f| f["in_app"] == true) {
        let line = f["lineno"].as_u64().unwrap_or(0);
        println!(
            "     {}:{line} in {}",
            s(&f["filename"]),
            f["function"].as_str().unwrap_or("?")
        );
        if let Some(ctx) = f["context_line"].as_str() {
            let pre = f["pre_context"].as_array().cloned().unwrap_or_default();
            let post = f["post_context"].as_array().cloned().unwrap_or_default();
            let first = line as usize - pre.len();
            for (i, l) in pre.iter().enumerate() {
                println!("       {:>4} │ {}", first + i, s(l));
            }
            println!("     > {line:>4} │ {ctx}");
            for (i, l) in post.iter().enumerate() {
                println!("       {:>4} │ {}", line as usize + 1 + i, s(l));
            }
        }
    }
}
