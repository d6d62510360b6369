//! The two SDKs behind one small interface, set up the same way: default transport (ureq),
//! background sending, the panic integration installed by `init`.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Which SDK a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Sdk {
    /// This workspace's `watchpost`.
    Ours,
    /// The official `sentry` crate.
    Official,
    /// No SDK at all: the harness's own cost.
    Bare,
}

impl Sdk {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sdk::Ours => "ours",
            Sdk::Official => "official",
            Sdk::Bare => "none",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Sdk> {
        [Sdk::Ours, Sdk::Official, Sdk::Bare]
            .into_iter()
            .find(|sdk| sdk.name() == s)
    }
}

/// An initialized SDK; dropping it shuts the SDK down as the application would.
pub(crate) struct Session {
    sdk: Sdk,
    guard: Option<Box<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sdk", &self.sdk)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Initializes `sdk` for `dsn`. `attach_stacktrace` is the official SDK's switch for stack
    /// traces on `capture_error`; ours always takes one for errors (and takes it raw).
    pub(crate) fn init(sdk: Sdk, dsn: &str, attach_stacktrace: bool) -> Session {
        let guard: Option<Box<dyn Any + Send + Sync>> = match sdk {
            Sdk::Ours => {
                let options = watchpost::ClientOptions::new().dsn(dsn);
                let guard = watchpost::init(options).expect("our SDK accepts the bench options");
                Some(Box::new(guard))
            }
            Sdk::Official => {
                let mut options = sentry::ClientOptions::default();
                options.attach_stacktrace = attach_stacktrace;
                Some(Box::new(sentry::init((dsn, options))))
            }
            Sdk::Bare => None,
        };
        Session { sdk, guard }
    }

    pub(crate) fn capture_message(&self, message: &str) {
        match self.sdk {
            Sdk::Ours => {
                std::hint::black_box(watchpost::capture_message(message, watchpost::Level::Info));
            }
            Sdk::Official => {
                std::hint::black_box(sentry::capture_message(message, sentry::Level::Info));
            }
            Sdk::Bare => {
                std::hint::black_box(message.to_owned());
            }
        }
    }

    pub(crate) fn capture_error(&self, err: &RequestFailed) {
        match self.sdk {
            Sdk::Ours => {
                std::hint::black_box(watchpost::capture_error(err));
            }
            Sdk::Official => {
                std::hint::black_box(sentry::capture_error(err));
            }
            Sdk::Bare => {
                std::hint::black_box(err.to_string());
            }
        }
    }

    /// Initializes `sdk` for `dsn` with performance monitoring at `traces_sample_rate`.
    pub(crate) fn init_traced(sdk: Sdk, dsn: &str, traces_sample_rate: f64) -> Session {
        let guard: Option<Box<dyn Any + Send + Sync>> = match sdk {
            Sdk::Ours => {
                let options = watchpost::ClientOptions::new()
                    .dsn(dsn)
                    .traces_sample_rate(traces_sample_rate);
                let guard = watchpost::init(options).expect("our SDK accepts the bench options");
                Some(Box::new(guard))
            }
            Sdk::Official => {
                let options =
                    sentry::ClientOptions::default().traces_sample_rate(traces_sample_rate as f32);
                Some(Box::new(sentry::init((dsn, options))))
            }
            Sdk::Bare => None,
        };
        Session { sdk, guard }
    }

    /// A request-sized trace: one transaction with `spans` child spans, each with one data
    /// value, finished.
    pub(crate) fn trace(&self, spans: usize) {
        match self.sdk {
            Sdk::Ours => {
                use watchpost::trace::{start_transaction, TransactionContext};
                let tx =
                    start_transaction(TransactionContext::new("GET /users/{id}", "http.server"));
                for i in 0..spans {
                    let span = tx.start_child("db.query", "SELECT * FROM users WHERE id = $1");
                    span.set_data("rows", i);
                    span.finish();
                }
                tx.finish();
            }
            Sdk::Official => {
                let ctx = sentry::TransactionContext::new("GET /users/{id}", "http.server");
                let tx = sentry::start_transaction(ctx);
                for i in 0..spans {
                    let span = tx.start_child("db.query", "SELECT * FROM users WHERE id = $1");
                    span.set_data("rows", i.into());
                    span.finish();
                }
                tx.finish();
            }
            Sdk::Bare => {
                std::hint::black_box(spans);
            }
        }
    }

    /// Initializes `sdk` for `dsn` with structured logs on.
    pub(crate) fn init_logs(sdk: Sdk, dsn: &str) -> Session {
        let guard: Option<Box<dyn Any + Send + Sync>> = match sdk {
            Sdk::Ours => {
                let options = watchpost::ClientOptions::new().dsn(dsn).enable_logs(true);
                let guard = watchpost::init(options).expect("our SDK accepts the bench options");
                Some(Box::new(guard))
            }
            // Its logs captured by hand are always sent (`enable_logs` is deprecated).
            Sdk::Official => Some(Box::new(sentry::init((
                dsn,
                sentry::ClientOptions::default(),
            )))),
            Sdk::Bare => None,
        };
        Session { sdk, guard }
    }

    /// One structured log at info level with a format argument.
    pub(crate) fn log_line(&self, n: u64) {
        match self.sdk {
            Sdk::Ours => {
                std::hint::black_box(watchpost::logger_info!("order {} shipped late", n));
            }
            #[cfg(feature = "compare-logs")]
            Sdk::Official => sentry::logger_info!("order {} shipped late", n),
            #[cfg(not(feature = "compare-logs"))]
            Sdk::Official => {
                std::hint::black_box(n);
            }
            Sdk::Bare => {
                std::hint::black_box(format!("order {n} shipped late"));
            }
        }
    }

    /// Waits until queued events are sent, at most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        match self.sdk {
            Sdk::Ours => watchpost::flush(timeout),
            Sdk::Official => sentry::Hub::current()
                .client()
                .is_none_or(|c| c.flush(Some(timeout))),
            Sdk::Bare => true,
        }
    }

    /// Hands the SDK's guard out, to drop it elsewhere (a shutdown that may hang).
    pub(crate) fn into_guard(mut self) -> Option<Box<dyn Any + Send + Sync>> {
        self.guard.take()
    }
}

/// A three-level error chain: request failed ← config unreadable ← io::Error.
#[derive(Debug)]
pub(crate) struct RequestFailed(ConfigUnreadable);

#[derive(Debug)]
pub(crate) struct ConfigUnreadable(std::io::Error);

impl RequestFailed {
    pub(crate) fn sample() -> Self {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file: /etc/app.toml");
        RequestFailed(ConfigUnreadable(io))
    }
}

impl fmt::Display for RequestFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request failed")
    }
}

impl fmt::Display for ConfigUnreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("config unreadable")
    }
}

impl Error for RequestFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

impl Error for ConfigUnreadable {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

/// Runs `f` `depth` calls deep, so stack traces have application frames to walk and resolve.
#[inline(never)]
pub(crate) fn nested<R>(depth: usize, f: &mut dyn FnMut() -> R) -> R {
    if depth == 0 {
        return f();
    }
    std::hint::black_box(nested(std::hint::black_box(depth - 1), f))
}
