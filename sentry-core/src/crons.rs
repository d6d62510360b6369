//! Cron monitoring: check-ins that tell Sentry a scheduled job started, finished, failed or
//! did not run at all (Elixir's `Sentry.CheckIn`).
//!
//! [`with_monitor`] wraps a job: an `in_progress` check-in when it starts, then `ok` or `error`
//! (an `Err` or a panic) with its duration. A [`MonitorConfig`] sent with the first check-in
//! creates or updates the monitor in Sentry, so a job that stops running shows as missed.
//!
//! ```
//! use watchpost::crons::{with_monitor, MonitorConfig, MonitorSchedule};
//!
//! let config = MonitorConfig::new(MonitorSchedule::crontab("0 3 * * *"))
//!     .checkin_margin(5)
//!     .max_runtime(30);
//! let report = with_monitor("nightly-report", Some(config), || -> Result<u32, std::io::Error> {
//!     // ... the job
//!     Ok(42)
//! });
//! assert_eq!(report.unwrap(), 42);
//! ```

use crate::context::Context;
use crate::envelope::{Envelope, EnvelopeItem};
use crate::error::SendError;
use serde_json::{json, Map, Value};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Instant;
use uuid::Uuid;

/// The most characters of a monitor slug Sentry keeps.
const MAX_SLUG_CHARS: usize = 50;

/// The status a check-in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckInStatus {
    /// The job started.
    InProgress,
    /// The job finished successfully.
    Ok,
    /// The job failed.
    Error,
}

impl CheckInStatus {
    fn as_str(self) -> &'static str {
        match self {
            CheckInStatus::InProgress => "in_progress",
            CheckInStatus::Ok => "ok",
            CheckInStatus::Error => "error",
        }
    }
}

/// When a monitored job is expected to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorSchedule {
    /// A crontab expression such as `0 3 * * *`.
    Crontab(String),
    /// Every `value` `unit`s.
    Interval {
        /// How many units.
        value: u32,
        /// The unit.
        unit: IntervalUnit,
    },
}

impl MonitorSchedule {
    /// A crontab schedule.
    pub fn crontab(expression: impl Into<String>) -> Self {
        MonitorSchedule::Crontab(expression.into())
    }

    /// An interval schedule.
    pub fn interval(value: u32, unit: IntervalUnit) -> Self {
        MonitorSchedule::Interval { value, unit }
    }

    fn to_json(&self) -> Value {
        match self {
            MonitorSchedule::Crontab(expr) => json!({ "type": "crontab", "value": expr }),
            MonitorSchedule::Interval { value, unit } => {
                json!({ "type": "interval", "value": value, "unit": unit.as_str() })
            }
        }
    }
}

/// The unit of an interval schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntervalUnit {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Months.
    Month,
    /// Years.
    Year,
}

impl IntervalUnit {
    fn as_str(self) -> &'static str {
        match self {
            IntervalUnit::Minute => "minute",
            IntervalUnit::Hour => "hour",
            IntervalUnit::Day => "day",
            IntervalUnit::Week => "week",
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        }
    }
}

/// A monitor's settings, sent with a check-in to create or update the monitor in Sentry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    schedule: MonitorSchedule,
    checkin_margin: Option<u32>,
    max_runtime: Option<u32>,
    timezone: Option<String>,
    failure_issue_threshold: Option<u32>,
    recovery_threshold: Option<u32>,
}

impl MonitorConfig {
    /// A monitor on `schedule`; the rest Sentry's defaults.
    pub fn new(schedule: MonitorSchedule) -> Self {
        MonitorConfig {
            schedule,
            checkin_margin: None,
            max_runtime: None,
            timezone: None,
            failure_issue_threshold: None,
            recovery_threshold: None,
        }
    }

    /// Minutes after the expected time before a missing check-in counts as missed.
    #[must_use]
    pub fn checkin_margin(mut self, minutes: u32) -> Self {
        self.checkin_margin = Some(minutes);
        self
    }

    /// Minutes a job may run before it counts as timed out.
    #[must_use]
    pub fn max_runtime(mut self, minutes: u32) -> Self {
        self.max_runtime = Some(minutes);
        self
    }

    /// The time zone of a crontab schedule, such as `Europe/Vienna` (default UTC).
    #[must_use]
    pub fn timezone(mut self, tz: impl Into<String>) -> Self {
        self.timezone = Some(tz.into());
        self
    }

    /// Consecutive failed check-ins before Sentry opens an issue.
    #[must_use]
    pub fn failure_issue_threshold(mut self, n: u32) -> Self {
        self.failure_issue_threshold = Some(n);
        self
    }

    /// Consecutive successful check-ins before Sentry resolves the issue.
    #[must_use]
    pub fn recovery_threshold(mut self, n: u32) -> Self {
        self.recovery_threshold = Some(n);
        self
    }

    fn to_json(&self) -> Value {
        let mut config = Map::new();
        config.insert("schedule".into(), self.schedule.to_json());
        let numbers = [
            ("checkin_margin", self.checkin_margin),
            ("max_runtime", self.max_runtime),
            ("failure_issue_threshold", self.failure_issue_threshold),
            ("recovery_threshold", self.recovery_threshold),
        ];
        for (key, value) in numbers {
            if let Some(v) = value {
                config.insert(key.into(), v.into());
            }
        }
        if let Some(tz) = &self.timezone {
            config.insert("timezone".into(), tz.clone().into());
        }
        Value::Object(config)
    }
}

/// One check-in of a monitor.
#[derive(Debug, Clone)]
pub struct CheckIn {
    slug: String,
    status: CheckInStatus,
    check_in_id: Uuid,
    duration: Option<f64>,
    config: Option<MonitorConfig>,
}

impl CheckIn {
    /// A check-in of the monitor `slug` (lowercase letters, digits, `-` and `_`; cut to 50
    /// characters) with a new check-in id.
    pub fn new(slug: impl Into<String>, status: CheckInStatus) -> Self {
        let mut slug: String = slug.into();
        if let Some((i, _)) = slug.char_indices().nth(MAX_SLUG_CHARS) {
            slug.truncate(i);
        }
        CheckIn {
            slug,
            status,
            check_in_id: Uuid::new_v4(),
            duration: None,
            config: None,
        }
    }

    /// Closes the check-in `id` opened before (the id [`capture_check_in`] returned).
    #[must_use]
    pub fn closing(mut self, id: Uuid) -> Self {
        self.check_in_id = id;
        self
    }

    /// How long the job ran, in seconds.
    #[must_use]
    pub fn duration(mut self, seconds: f64) -> Self {
        self.duration = Some(seconds).filter(|s| s.is_finite() && *s >= 0.0);
        self
    }

    /// Creates or updates the monitor with `config`.
    #[must_use]
    pub fn monitor_config(mut self, config: MonitorConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The `check_in` item's payload, with the client's release and environment and the
    /// context's trace.
    fn to_json(&self, ctx: &Context, release: Option<&str>, environment: &str) -> Value {
        let mut item = json!({
            "check_in_id": self.check_in_id.simple().to_string(),
            "monitor_slug": self.slug,
            "status": self.status.as_str(),
            "environment": environment,
        });
        if let Some(release) = release {
            item["release"] = release.into();
        }
        if let Some(duration) = self.duration {
            item["duration"] = duration.into();
        }
        if let Some(config) = &self.config {
            item["monitor_config"] = config.to_json();
        }
        let mut trace = ctx.scope().propagation.trace_context();
        trace.insert("type".into(), "trace".into());
        item["contexts"] = json!({ "trace": trace });
        item
    }
}

/// Sends a check-in (queued like an event in background mode) and returns its check-in id,
/// to close it with a later one ([`CheckIn::closing`]).
pub fn capture_check_in(check_in: CheckIn) -> Result<Uuid, SendError> {
    let ctx = Context::current();
    let Some(client) = ctx.client() else {
        return Err(SendError::NoDsn);
    };
    let o = client.options();
    let payload = check_in.to_json(&ctx, o.release.as_deref(), o.environment_name());
    let item = EnvelopeItem::json("check_in", &payload).map_err(SendError::serialize)?;
    let mut envelope = Envelope::from_sdk(None);
    envelope.add_item(item);
    client.send_envelope(check_in.check_in_id, envelope)?;
    Ok(check_in.check_in_id)
}

/// Runs `job` as a monitored run of `slug`: an `in_progress` check-in (with `config`, when
/// given) before, and `ok` or `error` with the duration after. A panic reports `error` and goes
/// on unwinding. Sending never fails the job: a check-in that cannot be sent is counted.
pub fn with_monitor<T, E>(
    slug: &str,
    config: Option<MonitorConfig>,
    job: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut opening = CheckIn::new(slug, CheckInStatus::InProgress);
    if let Some(config) = config {
        opening = opening.monitor_config(config);
    }
    let id = opening.check_in_id;
    let _ = capture_check_in(opening);
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(job));
    let status = match &result {
        Ok(Ok(_)) => CheckInStatus::Ok,
        _ => CheckInStatus::Error,
    };
    let closing = CheckIn::new(slug, status)
        .closing(id)
        .duration(started.elapsed().as_secs_f64());
    let _ = capture_check_in(closing);
    match result {
        Ok(outcome) => outcome,
        Err(panic) => resume_unwind(panic),
    }
}
