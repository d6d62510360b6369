//! `ClientOptions`: every setting of the SDK, with the Elixir client's option names in the docs.

use crate::hooks::{AfterSend, BeforeSend, BeforeSendLog, Filter};
use crate::session::SessionMode;
use crate::source_context::SourceTable;
use crate::trace::SamplingContext;
use crate::transport::HttpClient;
use crate::Error;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// When the capture call learns the outcome of sending (Elixir's `send_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SendResult {
    /// Send on a background worker; capture calls return at once with the event id
    /// (Elixir's `:none`). The default.
    #[default]
    Background,
    /// Send on the caller's thread and return the server's answer (Elixir's `:sync`).
    /// Useful in tests and short-lived tools.
    Sync,
}

/// What the background queue does when it is full (option
/// [`queue_overflow_policy`](ClientOptions::queue_overflow_policy)). Either way the dropped
/// event is counted as `queue_overflow`, or written to the offline cache when
/// [`cache_dir`](ClientOptions::cache_dir) is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum QueueOverflowPolicy {
    /// Keep what is queued and drop the new event. The default.
    #[default]
    DropNewest,
    /// Drop the oldest queued event to make room for the new one.
    DropOldest,
}

/// Configuration of the SDK, passed to [`init`](crate::init).
///
/// ```
/// use watchpost::{ClientOptions, SendResult};
/// let options = ClientOptions::new()
///     .dsn("https://public@sentry.example.com/1")
///     .environment("staging")
///     .release("my-app@1.2.3")
///     .tag("region", "eu-west")
///     .send_result(SendResult::Background);
/// assert!(options.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) dsn: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) included_environments: Option<Vec<String>>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) release: Option<String>,
    pub(crate) server_name: Option<String>,
    pub(crate) http_client: Option<Arc<dyn HttpClient>>,
    pub(crate) pool_max_connections: usize,
    pub(crate) http_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) before_send: Option<Arc<dyn BeforeSend>>,
    pub(crate) enable_logs: bool,
    pub(crate) before_send_log: Option<Arc<dyn BeforeSendLog>>,
    pub(crate) after_send: Option<Arc<dyn AfterSend>>,
    pub(crate) sample_rate: f64,
    pub(crate) traces_sample_rate: Option<f64>,
    pub(crate) traces_sampler: Option<Arc<TracesSampler>>,
    pub(crate) send_result: SendResult,
    pub(crate) send_max_attempts: u32,
    pub(crate) in_app_module_allow_list: Vec<String>,
    pub(crate) report_deps: bool,
    pub(crate) enable_source_code_context: bool,
    pub(crate) root_source_code_paths: Vec<PathBuf>,
    pub(crate) context_lines: usize,
    #[cfg(feature = "source-rules")]
    pub(crate) source_code_exclude_patterns: Vec<String>,
    #[cfg(feature = "source-rules")]
    pub(crate) source_code_path_pattern: String,
    pub(crate) source_table: Option<SourceTable>,
    pub(crate) filter: Option<Arc<dyn Filter>>,
    pub(crate) log_level: log::Level,
    pub(crate) max_breadcrumbs: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) queue_max_bytes: usize,
    pub(crate) max_attachment_size: usize,
    pub(crate) send_default_pii: bool,
    pub(crate) debug: bool,
    pub(crate) use_env: bool,
    pub(crate) queue_overflow_policy: QueueOverflowPolicy,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) cache_max_envelopes: usize,
    pub(crate) cache_max_bytes: u64,
    /// `None`: not set (`SENTRY_SPOTLIGHT` may set it); `Some(None)`: off; `Some(Some(url))`: on.
    pub(crate) spotlight: Option<Option<String>>,
    pub(crate) send_client_reports: bool,
    pub(crate) lower_thread_priority: bool,
    pub(crate) auto_session_tracking: bool,
    pub(crate) session_mode: SessionMode,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            dsn: None,
            environment: None,
            included_environments: None,
            tags: BTreeMap::new(),
            release: None,
            server_name: None,
            http_client: None,
            pool_max_connections: 50,
            http_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            before_send: None,
            enable_logs: false,
            before_send_log: None,
            after_send: None,
            sample_rate: 1.0,
            traces_sample_rate: None,
            traces_sampler: None,
            send_result: SendResult::Background,
            send_max_attempts: 4,
            in_app_module_allow_list: Vec::new(),
            report_deps: true,
            enable_source_code_context: true,
            root_source_code_paths: Vec::new(),
            context_lines: 3,
            #[cfg(feature = "source-rules")]
            source_code_exclude_patterns: Vec::new(),
            #[cfg(feature = "source-rules")]
            source_code_path_pattern: "**/*.rs".to_owned(),
            source_table: None,
            filter: None,
            log_level: log::Level::Warn,
            max_breadcrumbs: 100,
            shutdown_timeout: Duration::from_secs(2),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            queue_max_bytes: DEFAULT_QUEUE_MAX_BYTES,
            max_attachment_size: crate::event::MAX_ATTACHMENT_BYTES,
            send_default_pii: false,
            debug: false,
            use_env: true,
            queue_overflow_policy: QueueOverflowPolicy::DropNewest,
            cache_dir: None,
            cache_max_envelopes: DEFAULT_CACHE_MAX_ENVELOPES,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            spotlight: None,
            send_client_reports: true,
            lower_thread_priority: true,
            auto_session_tracking: false,
            session_mode: SessionMode::Application,
        }
    }
}

/// Default length of the background queue. A full queue costs about 3.5 MiB of memory with
/// message events (those past the first 64 wait as JSON, about 350 bytes each).
const DEFAULT_QUEUE_CAPACITY: usize = 100_000;
/// A `traces_sampler`.
pub(crate) type TracesSampler = dyn Fn(&SamplingContext<'_>) -> f64 + Send + Sync;
/// The default memory budget of the background queue.
const DEFAULT_QUEUE_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The smallest memory budget the queue accepts.
const MIN_QUEUE_MAX_BYTES: usize = 64 * 1024;
/// Default cap of the offline cache: as many envelopes as the default queue holds, so a burst
/// that overflows a full queue still fits on disk (Sentry's mobile SDKs keep 30).
const DEFAULT_CACHE_MAX_ENVELOPES: usize = 10_000;
/// Default byte cap of the offline cache.
const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The smallest `cache_max_bytes` accepted.
const MIN_CACHE_MAX_BYTES: u64 = 64 * 1024;

/// The largest `context_lines` accepted: more is never useful and only bloats events.
const MAX_CONTEXT_LINES: usize = 50;

impl ClientOptions {
    /// Options with every default. `SENTRY_DSN`, `SENTRY_ENVIRONMENT` and `SENTRY_RELEASE`
    /// fill values left unset when [`init`](crate::init) runs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The DSN events are sent to (Elixir `dsn`). Without one the SDK captures nothing and sends nothing.
    #[must_use]
    pub fn dsn(mut self, dsn: impl Into<String>) -> Self {
        self.dsn = Some(dsn.into());
        self
    }

    /// The current environment (Elixir `environment_name`); default `production`.
    #[must_use]
    pub fn environment(mut self, name: impl Into<String>) -> Self {
        self.environment = Some(name.into());
        self
    }

    /// Send events only when the environment is one of these (Elixir `included_environments`).
    /// Default: every environment.
    #[must_use]
    pub fn included_environments<I, S>(mut self, envs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.included_environments = Some(envs.into_iter().map(Into::into).collect());
        self
    }

    /// A tag put on every event (Elixir `tags`).
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// The release, such as `my-app@1.2.3` (Elixir `release`).
    #[must_use]
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// The server name put on events (Elixir `server_name`); default: the host name.
    #[must_use]
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Your own HTTP client (Elixir `client` and `hackney_opts`): proxies, custom TLS, ...
    #[must_use]
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Idle connections kept by the default client (Elixir `hackney_pool_max_connections`); default 50.
    #[must_use]
    pub fn pool_max_connections(mut self, n: usize) -> Self {
        self.pool_max_connections = n;
        self
    }

    /// Whole-request timeout of the default client (Elixir `hackney_pool_timeout`); default 5 s.
    #[must_use]
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Connect timeout of the default client; default 2 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Called with each event before it is sent (Elixir `before_send_event`): return it,
    /// changed (e.g. its fingerprint) or not, or `None` to drop it. Takes a closure
    /// `Fn(Event) -> Option<Event>` or any [`BeforeSend`]; `()` removes the hook.
    #[must_use]
    pub fn before_send(mut self, hook: impl BeforeSend + 'static) -> Self {
        self.before_send = Some(Arc::new(hook));
        self
    }

    /// Sends structured logs: the `logger_*!` macros, [`capture_log`](crate::logs::capture_log)
    /// and the records the `log` and `tracing` integrations forward (see
    /// [`logs`](crate::logs)); default false, nothing is buffered or sent.
    #[must_use]
    pub fn enable_logs(mut self, on: bool) -> Self {
        self.enable_logs = on;
        self
    }

    /// Called with each structured log before it is sent: return it, changed or not, or `None`
    /// to drop it (counted). Takes a closure `Fn(Log) -> Option<Log>` or any
    /// [`BeforeSendLog`]; `()` removes the hook. It runs on the worker as the batch is built.
    #[must_use]
    pub fn before_send_log(mut self, hook: impl BeforeSendLog + 'static) -> Self {
        self.before_send_log = Some(Arc::new(hook));
        self
    }

    /// Called after each send attempt with the event and its outcome (Elixir `after_send_event`).
    /// Takes a closure `Fn(&Event, &CaptureOutcome)` (name the argument types:
    /// `|event: &Event, outcome: &CaptureOutcome|`) or any [`AfterSend`]; `()` removes the hook.
    #[must_use]
    pub fn after_send(mut self, hook: impl AfterSend + 'static) -> Self {
        self.after_send = Some(Arc::new(hook));
        self
    }

    /// Turns tracing on: the share of transactions sent, from 0.0 to 1.0, when the caller of
    /// the trace made no decision (a caller's decision is followed); default: off, no
    /// transaction is sent. See [`trace`](crate::trace).
    #[must_use]
    pub fn traces_sample_rate(mut self, rate: f64) -> Self {
        self.traces_sample_rate = Some(rate);
        self
    }

    /// Decides per transaction, instead of [`traces_sample_rate`](Self::traces_sample_rate),
    /// the rate (0.0 to 1.0) it is sampled at, from its name, operation and the caller's
    /// decision. It runs on the thread that starts the transaction, under no SDK lock; a
    /// panicking sampler samples nothing.
    ///
    /// ```
    /// use watchpost::ClientOptions;
    /// let options = ClientOptions::new().traces_sampler(|ctx| match ctx.parent_sampled() {
    ///     Some(decided) => f64::from(u8::from(decided)),
    ///     None if ctx.name().starts_with("GET /health") => 0.0,
    ///     None => 0.2,
    /// });
    /// # drop(options);
    /// ```
    #[must_use]
    pub fn traces_sampler(
        mut self,
        sampler: impl Fn(&SamplingContext<'_>) -> f64 + Send + Sync + 'static,
    ) -> Self {
        self.traces_sampler = Some(Arc::new(sampler));
        self
    }

    /// Fraction of events to send, from 0.0 to 1.0 (Elixir `sample_rate`); default 1.0.
    #[must_use]
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = rate;
        self
    }

    /// Whether capture calls wait for the server (Elixir `send_result`); default [`SendResult::Background`].
    #[must_use]
    pub fn send_result(mut self, mode: SendResult) -> Self {
        self.send_result = mode;
        self
    }

    /// Attempts per event on network errors and 5xx answers (Elixir `send_max_attempts`); default 4.
    #[must_use]
    pub fn send_max_attempts(mut self, n: u32) -> Self {
        self.send_max_attempts = n;
        self
    }

    /// Crate or module prefixes whose frames are in-app (Elixir `in_app_module_allow_list`),
    /// besides your workspace's own crates.
    #[must_use]
    pub fn in_app_module_allow_list<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.in_app_module_allow_list = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// Send the dependency versions recorded at build time as `modules` (Elixir `report_deps`); default true.
    #[must_use]
    pub fn report_deps(mut self, on: bool) -> Self {
        self.report_deps = on;
        self
    }

    /// Attach source lines to frames (Elixir `enable_source_code_context`). Default true; it has an
    /// effect once a table is given with [`source_table`](Self::source_table).
    #[must_use]
    pub fn enable_source_code_context(mut self, on: bool) -> Self {
        self.enable_source_code_context = on;
        self
    }

    /// Source roots (Elixir `root_source_code_paths`). Embedding is configured in `build.rs`;
    /// at run time these roots help map absolute frame paths to table entries.
    #[must_use]
    pub fn root_source_code_paths<I, P>(mut self, roots: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.root_source_code_paths = roots.into_iter().map(Into::into).collect();
        self
    }

    /// Lines of source shown above and below the failing line (Elixir `context_lines`); default 3.
    #[must_use]
    pub fn context_lines(mut self, n: usize) -> Self {
        self.context_lines = n;
        self
    }

    /// Regexes of paths never to read source from (Elixir `source_code_exclude_patterns`).
    /// Checked again at run time, on top of what `build.rs` excluded (where the same option,
    /// `SourceEmbed::exclude`, keeps files out of the binary altogether). Needs the
    /// `source-rules` feature, which brings in `regex` and `glob`.
    #[cfg(feature = "source-rules")]
    #[must_use]
    pub fn source_code_exclude_patterns<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.source_code_exclude_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Glob of source files (Elixir `source_code_path_pattern`); default `**/*.rs`. Checked
    /// at run time on top of `build.rs`'s `SourceEmbed::pattern`. Needs the `source-rules`
    /// feature.
    #[cfg(feature = "source-rules")]
    #[must_use]
    pub fn source_code_path_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.source_code_path_pattern = pattern.into();
        self
    }

    /// The embedded sources, from `embed_sources!()`.
    #[must_use]
    pub fn source_table(mut self, table: SourceTable) -> Self {
        self.source_table = Some(table);
        self
    }

    /// Decides whether to exclude an event, given where it came from (Elixir `filter`). Takes a
    /// closure `Fn(&Event, EventSource) -> bool` or any [`Filter`]; `()` excludes nothing.
    #[must_use]
    pub fn filter(mut self, filter: impl Filter + 'static) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Level at which send failures are logged through the `log` facade (Elixir `log_level`); default warn.
    #[must_use]
    pub fn log_level(mut self, level: log::Level) -> Self {
        self.log_level = level;
        self
    }

    /// Breadcrumbs kept per context, oldest dropped first (Elixir `max_breadcrumbs`); default 100.
    #[must_use]
    pub fn max_breadcrumbs(mut self, n: usize) -> Self {
        self.max_breadcrumbs = n;
        self
    }

    /// How long dropping the [`ClientGuard`](crate::ClientGuard) waits for queued events; default 2 s.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Events the background queue holds before it drops new ones (counted as `queue_overflow`,
    /// or written to the offline cache when [`cache_dir`](Self::cache_dir) is set); default
    /// 100,000. The queue's memory is bounded by [`queue_max_bytes`](Self::queue_max_bytes)
    /// too, whichever is reached first.
    #[must_use]
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// The largest attachment sent, and the most attachment bytes one event carries; default
    /// (and at most) Relay's 100 MiB. A larger one is left out and counted (`send_error`,
    /// category `attachment`); the event is sent without it.
    #[must_use]
    pub fn max_attachment_size(mut self, bytes: usize) -> Self {
        self.max_attachment_size = bytes.min(crate::event::MAX_ATTACHMENT_BYTES);
        self
    }

    /// The memory the events waiting in the background queue may take, in bytes; default
    /// 16 MiB, at least 64 KiB. Beyond it new events are treated as if the queue were full
    /// (see [`queue_capacity`](Self::queue_capacity)).
    ///
    /// While more than 64 events wait, new ones are queued as JSON, and an event that repeats
    /// the previous one captured on its thread but for its id and timestamp shares its JSON: a
    /// queue of repeats costs about 80 bytes per event (100,000 in 8 MB), one of distinct
    /// message events about 450 bytes per event.
    #[must_use]
    pub fn queue_max_bytes(mut self, bytes: usize) -> Self {
        self.queue_max_bytes = bytes;
        self
    }

    /// Track release health: sessions, from which Sentry's releases page shows crash-free
    /// sessions and users. Default false (as in the official Rust SDK). Needs a
    /// [`release`](Self::release); without one no sessions are sent and a warning is logged.
    /// See [`session_mode`](Self::session_mode) and the [`SessionMode`] variants.
    #[must_use]
    pub fn auto_session_tracking(mut self, on: bool) -> Self {
        self.auto_session_tracking = on;
        self
    }

    /// How sessions are tracked when [`auto_session_tracking`](Self::auto_session_tracking)
    /// is on: one per run of the process ([`SessionMode::Application`], the default), or one
    /// per request through the [`tower`](crate::tower) layer, sent as per-minute aggregates
    /// ([`SessionMode::Request`], for services).
    #[must_use]
    pub fn session_mode(mut self, mode: SessionMode) -> Self {
        self.session_mode = mode;
        self
    }

    /// Send personal data (unscrubbed headers, cookies, IPs); default false.
    #[must_use]
    pub fn send_default_pii(mut self, on: bool) -> Self {
        self.send_default_pii = on;
        self
    }

    /// Log what the SDK does (at debug level, through `log`; the transport's messages have the
    /// target `watchpost::transport`); default false.
    #[must_use]
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// What the full background queue drops: the new event (default) or the oldest queued one.
    #[must_use]
    pub fn queue_overflow_policy(mut self, policy: QueueOverflowPolicy) -> Self {
        self.queue_overflow_policy = policy;
        self
    }

    /// Turns on the offline cache in this directory (created if missing); default off.
    ///
    /// Every envelope is written there before it is sent and deleted once the server answered;
    /// what could not be sent (no network, a crash, a kill) is resent later, also by the next
    /// run, oldest first. Events that do not fit the full background queue are written there
    /// too instead of being dropped, by a second thread with a queue of its own
    /// ([`queue_capacity`](Self::queue_capacity) long); only when that one is full as well does
    /// the capturing thread write the event itself (disk I/O, never network). Use one directory
    /// per process.
    #[must_use]
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Envelopes the offline cache keeps at most; the oldest are evicted beyond it (counted as
    /// `cache_overflow`). Default 10,000.
    #[must_use]
    pub fn cache_max_envelopes(mut self, n: usize) -> Self {
        self.cache_max_envelopes = n;
        self
    }

    /// Bytes the offline cache keeps at most; the oldest are evicted beyond it (counted as
    /// `cache_overflow`). Default 64 MiB, at least 64 KiB.
    #[must_use]
    pub fn cache_max_bytes(mut self, bytes: u64) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// Sends a copy of every envelope to the local [Spotlight](https://spotlightjs.com) sidecar
    /// at `http://localhost:8969/stream`; default off, or `SENTRY_SPOTLIGHT` (`true`/`1`/`on` or
    /// a URL). Failures of the copy never affect the real send.
    #[must_use]
    pub fn spotlight(mut self, on: bool) -> Self {
        self.spotlight = Some(on.then(|| crate::transport::SPOTLIGHT_URL.to_owned()));
        self
    }

    /// Like [`spotlight`](Self::spotlight), with the sidecar at `url`.
    #[must_use]
    pub fn spotlight_url(mut self, url: impl Into<String>) -> Self {
        self.spotlight = Some(Some(url.into()));
        self
    }

    /// Report what the SDK dropped, and why, to the server (client reports); default true.
    #[must_use]
    pub fn send_client_reports(mut self, on: bool) -> Self {
        self.send_client_reports = on;
        self
    }

    /// Run the SDK's own threads (the worker, the spill writer, the Spotlight sender) below the
    /// application's priority, so that under CPU pressure the application's threads go first;
    /// default true. On Linux they run 10 nice steps below the thread that called
    /// [`init`](crate::init) (at most 19); on other systems this has no effect. Under a long
    /// CPU saturation the queue then fills sooner, and what does not fit is counted as usual.
    #[must_use]
    pub fn lower_thread_priority(mut self, on: bool) -> Self {
        self.lower_thread_priority = on;
        self
    }

    /// Read `SENTRY_DSN`, `SENTRY_ENVIRONMENT` and `SENTRY_RELEASE` for unset values; default true.
    #[must_use]
    pub fn use_env(mut self, on: bool) -> Self {
        self.use_env = on;
        self
    }

    /// The environment events are tagged with.
    pub fn environment_name(&self) -> &str {
        self.environment.as_deref().unwrap_or("production")
    }

    /// The configured DSN string, if any.
    pub fn dsn_str(&self) -> Option<&str> {
        self.dsn.as_deref()
    }

    /// The included environments, `None` meaning every environment.
    pub fn included_environments_list(&self) -> Option<&[String]> {
        self.included_environments.as_deref()
    }

    /// True when events of the current environment are sent.
    pub fn environment_included(&self) -> bool {
        match &self.included_environments {
            None => true,
            Some(list) => list.iter().any(|e| e == self.environment_name()),
        }
    }

    /// Fills the options left at their defaults from the process's `SENTRY_*` variables: the
    /// same variables, read the same way, as [`from_env`](Self::from_env) (see
    /// [`env_variables`](Self::env_variables)). Options set in code win; `SENTRY_TAGS` adds the
    /// tags the code did not set. A malformed value is an error naming the variable.
    /// [`init`](crate::init) calls this unless [`use_env`](Self::use_env) is off.
    pub fn apply_env(self) -> Result<Self, Error> {
        self.fill_from_vars(std::env::vars())
    }

    /// [`apply_env`](Self::apply_env) over the given variables.
    pub(crate) fn fill_from_vars<I, K, V>(mut self, vars: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let env = ClientOptions::from_vars(vars)?;
        let default = ClientOptions::default();
        macro_rules! fill {
            ($($field:ident),*) => {$(
                if self.$field == default.$field {
                    self.$field = env.$field;
                }
            )*};
        }
        fill!(
            dsn,
            environment,
            release,
            included_environments,
            server_name,
            sample_rate,
            traces_sample_rate,
            send_max_attempts,
            max_breadcrumbs,
            context_lines,
            debug,
            spotlight,
            send_result
        );
        for (k, v) in env.tags {
            self.tags.entry(k).or_insert(v);
        }
        Ok(self)
    }

    /// Whether transactions are sampled at all (`traces_sample_rate` or `traces_sampler` set).
    pub(crate) fn tracing_enabled(&self) -> bool {
        self.traces_sample_rate.is_some() || self.traces_sampler.is_some()
    }

    /// The Spotlight sidecar URL when Spotlight is on.
    pub(crate) fn spotlight_url_if_on(&self) -> Option<&str> {
        self.spotlight.as_ref()?.as_deref()
    }

    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(dsn) = &self.dsn {
            dsn.parse::<crate::Dsn>()
                .map_err(|source| Error::InvalidDsn {
                    dsn: mask_dsn(dsn),
                    source,
                })?;
        }
        if !(0.0..=1.0).contains(&self.sample_rate) || self.sample_rate.is_nan() {
            return Err(Error::option(
                "sample_rate",
                format!("{} is not between 0.0 and 1.0", self.sample_rate),
            ));
        }
        if self.send_max_attempts == 0 {
            return Err(Error::option("send_max_attempts", "must be at least 1"));
        }
        if self.context_lines > MAX_CONTEXT_LINES {
            return Err(Error::option(
                "context_lines",
                format!(
                    "{} is more than the maximum of {MAX_CONTEXT_LINES}",
                    self.context_lines
                ),
            ));
        }
        if let Some(rate) = self.traces_sample_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::option(
                    "traces_sample_rate",
                    format!("{rate} is not between 0.0 and 1.0"),
                ));
            }
        }
        if self.queue_max_bytes < MIN_QUEUE_MAX_BYTES {
            return Err(Error::option("queue_max_bytes", "must be at least 64 KiB"));
        }
        if self.queue_capacity == 0 {
            return Err(Error::option("queue_capacity", "must be at least 1"));
        }
        if self.cache_max_envelopes == 0 {
            return Err(Error::option("cache_max_envelopes", "must be at least 1"));
        }
        if self.cache_max_bytes < MIN_CACHE_MAX_BYTES {
            return Err(Error::option(
                "cache_max_bytes",
                format!(
                    "{} is less than the minimum of {MIN_CACHE_MAX_BYTES}",
                    self.cache_max_bytes
                ),
            ));
        }
        if let Some(url) = self.spotlight_url_if_on() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::option(
                    "spotlight",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
        }
        if self.pool_max_connections == 0 {
            return Err(Error::option("pool_max_connections", "must be at least 1"));
        }
        if self.http_timeout.is_zero() {
            return Err(Error::option("http_timeout", "must be longer than zero"));
        }
        if self.environment_name().trim().is_empty() {
            return Err(Error::option("environment_name", "must not be empty"));
        }
        #[cfg(feature = "source-rules")]
        crate::source_rules::validate(self)?;
        for (k, v) in &self.tags {
            if k.is_empty() || k.chars().count() > 200 || v.chars().count() > 200 {
                return Err(Error::option(
                    "tags",
                    format!("tag `{k}`: keys and values must be 1 to 200 characters"),
                ));
            }
        }
        Ok(())
    }
}

/// Reads `SENTRY_SPOTLIGHT`: a truthy word turns it on at the default URL, a falsy one off,
/// anything else is the URL.
pub(crate) fn spotlight_from_env(v: &str) -> Option<String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "y" | "yes" | "on" => Some(crate::transport::SPOTLIGHT_URL.to_owned()),
        "0" | "false" | "f" | "n" | "no" | "off" => None,
        _ => Some(v.trim().to_owned()),
    }
}

/// A DSN-like string fit for messages and `Debug` output: never its secret, whatever its shape
/// (see [`crate::dsn`]).
pub(crate) fn mask_dsn(dsn: &str) -> String {
    crate::dsn::redacted(dsn)
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("dsn", &self.dsn.as_deref().map(mask_dsn))
            .field("environment", &self.environment_name())
            .field("included_environments", &self.included_environments)
            .field("release", &self.release)
            .field("sample_rate", &self.sample_rate)
            .field("send_result", &self.send_result)
            .field("send_max_attempts", &self.send_max_attempts)
            .field("queue_capacity", &self.queue_capacity)
            .field("queue_max_bytes", &self.queue_max_bytes)
            .field("cache_dir", &self.cache_dir)
            .field("spotlight", &self.spotlight_url_if_on())
            .field("auto_session_tracking", &self.auto_session_tracking)
            .field("session_mode", &self.session_mode)
            .field("enable_logs", &self.enable_logs)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_elixir_client() {
        let o = ClientOptions::new();
        assert_eq!(o.environment_name(), "production");
        assert!(o.environment_included());
        assert_eq!(o.sample_rate, 1.0);
        assert_eq!(o.send_max_attempts, 4);
        assert_eq!(o.context_lines, 3);
        assert_eq!(o.max_breadcrumbs, 100);
        assert_eq!(o.pool_max_connections, 50);
        assert_eq!(o.http_timeout, Duration::from_secs(5));
        assert_eq!(o.log_level, log::Level::Warn);
        #[cfg(feature = "source-rules")]
        assert_eq!(o.source_code_path_pattern, "**/*.rs");
        assert!(o.report_deps);
        assert_eq!(o.send_result, SendResult::Background);
    }

    #[test]
    fn included_environments_gate_sending() {
        let o = ClientOptions::new()
            .environment("dev")
            .included_environments(["prod"]);
        assert!(!o.environment_included());
        let o = o.environment("prod");
        assert!(o.environment_included());
    }

    #[test]
    fn bad_options_name_the_option() {
        let cases: Vec<(ClientOptions, &str)> = vec![
            (ClientOptions::new().sample_rate(1.5), "sample_rate"),
            (ClientOptions::new().sample_rate(f64::NAN), "sample_rate"),
            (
                ClientOptions::new().send_max_attempts(0),
                "send_max_attempts",
            ),
            (ClientOptions::new().context_lines(500), "context_lines"),
            (ClientOptions::new().queue_capacity(0), "queue_capacity"),
            (
                ClientOptions::new().queue_max_bytes(1000),
                "queue_max_bytes",
            ),
            (
                ClientOptions::new().pool_max_connections(0),
                "pool_max_connections",
            ),
            (
                ClientOptions::new().http_timeout(Duration::ZERO),
                "http_timeout",
            ),
            (ClientOptions::new().environment(" "), "environment_name"),
            #[cfg(feature = "source-rules")]
            (
                ClientOptions::new().source_code_exclude_patterns(["(unclosed"]),
                "source_code_exclude_patterns",
            ),
            #[cfg(feature = "source-rules")]
            (
                ClientOptions::new().source_code_path_pattern("***/["),
                "source_code_path_pattern",
            ),
            (ClientOptions::new().tag("", "x"), "tags"),
            (
                ClientOptions::new().cache_max_envelopes(0),
                "cache_max_envelopes",
            ),
            (ClientOptions::new().cache_max_bytes(10), "cache_max_bytes"),
            (
                ClientOptions::new().spotlight_url("localhost:8969"),
                "spotlight",
            ),
        ];
        for (o, name) in cases {
            match o.validate() {
                Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("{name}: expected InvalidOption, got {other:?}"),
            }
        }
    }

    #[test]
    fn bad_dsn_is_a_typed_error_with_the_secret_masked() {
        let err = ClientOptions::new()
            .dsn("http://pub:topsecret@host")
            .validate()
            .unwrap_err();
        match &err {
            Error::InvalidDsn { dsn, source } => {
                assert_eq!(dsn, "http://***@host");
                assert_eq!(*source, crate::DsnError::MissingProjectId);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn spotlight_env_values() {
        assert_eq!(
            spotlight_from_env("true").as_deref(),
            Some("http://localhost:8969/stream")
        );
        assert_eq!(
            spotlight_from_env(" ON ").as_deref(),
            Some("http://localhost:8969/stream")
        );
        assert_eq!(spotlight_from_env("0"), None);
        assert_eq!(
            spotlight_from_env("http://127.0.0.1:9/stream").as_deref(),
            Some("http://127.0.0.1:9/stream")
        );
        assert_eq!(
            ClientOptions::new().spotlight(true).spotlight_url_if_on(),
            Some("http://localhost:8969/stream")
        );
        assert_eq!(
            ClientOptions::new().spotlight(false).spotlight_url_if_on(),
            None
        );
    }

    #[test]
    fn debug_output_masks_the_secret() {
        let o = ClientOptions::new().dsn("http://pub:topsecret@host/1");
        assert!(!format!("{o:?}").contains("topsecret"));
    }
}
