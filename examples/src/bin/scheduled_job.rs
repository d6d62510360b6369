//! A scheduled job as it would run from cron or a Kubernetes CronJob: one monitored run of
//! `nightly-report` (an `in_progress` check-in with the monitor's config, then `ok` or `error`
//! with the duration), structured logs along the way (linked to the job's trace), an event with a small file attached, and
//! the run's release-health session.
//!
//! ```text
//! SENTRY_DSN=https://key@sentry.example.com/1 cargo run -p examples --bin scheduled_job
//! SENTRY_DSN=... JOB_FAIL=1 cargo run -p examples --bin scheduled_job   # the job fails
//! ```
//!
//! Without `SENTRY_DSN` the job runs and nothing is sent. The process exits with status 1 when
//! the job failed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use watchpost::crons::{with_monitor, MonitorConfig, MonitorSchedule};
use watchpost::{Attachment, CaptureOptions, ClientOptions, Level, SourceTable};

/// This crate's sources, embedded at build time by `build.rs`.
static SOURCES: SourceTable = watchpost::embed_sources!();

/// Why the report could not be made.
#[derive(Debug)]
struct ReportError {
    export: PathBuf,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the upstream export {} is missing",
            self.export.display()
        )
    }
}

impl std::error::Error for ReportError {}

fn main() -> ExitCode {
    // SENTRY_DSN, SENTRY_ENVIRONMENT and SENTRY_RELEASE come from the environment.
    let guard = watchpost::init(
        ClientOptions::new()
            .release(concat!("scheduled-job@", env!("CARGO_PKG_VERSION")))
            .source_table(SOURCES)
            .auto_session_tracking(true)
            .enable_logs(true),
    )
    .expect("valid Sentry options");

    let fail = std::env::var("JOB_FAIL").is_ok_and(|v| v == "1");
    let workdir = std::env::temp_dir().join(format!("nightly-report-{}", std::process::id()));
    let config = MonitorConfig::new(MonitorSchedule::crontab("0 3 * * *"))
        .checkin_margin(5)
        .max_runtime(30)
        .timezone("UTC");
    let outcome = with_monitor("nightly-report", Some(config), || {
        nightly_report(&workdir, fail)
    });

    let code = match outcome {
        Ok(rows) => {
            println!("nightly-report: {rows} rows written");
            ExitCode::SUCCESS
        }
        Err(err) => {
            let manifest = Attachment::path(workdir.join("manifest.txt"));
            watchpost::capture_error_with(&err, CaptureOptions::new().attachment(manifest));
            eprintln!("nightly-report failed: {err}");
            ExitCode::from(1)
        }
    };
    guard.flush(Duration::from_secs(5));
    drop(guard);
    let _ = std::fs::remove_dir_all(&workdir);
    code
}

/// The job: writes its manifest, then the report from the upstream export (missing with
/// `fail`).
fn nightly_report(workdir: &Path, fail: bool) -> Result<usize, ReportError> {
    std::fs::create_dir_all(workdir).map_err(|_| ReportError {
        export: workdir.to_owned(),
    })?;
    let export = workdir.join(if fail { "missing.csv" } else { "export.csv" });
    let manifest = format!("job = nightly-report\nexport = {}\n", export.display());
    let _ = std::fs::write(workdir.join("manifest.txt"), manifest);
    if !fail {
        let _ = std::fs::write(&export, "sku,qty\n42,7\n43,1\n");
    }
    watchpost::logger_info!(job = "nightly-report"; "reading the export {}", export.display());
    let rows = match std::fs::read_to_string(&export) {
        Ok(text) => text.lines().skip(1).count(),
        Err(e) => {
            watchpost::logger_error!("the export {} cannot be read: {}", export.display(), e);
            return Err(ReportError { export });
        }
    };
    watchpost::logger_info!(job = "nightly-report"; "{} rows read", rows);
    let report = workdir.join("report.txt");
    let _ = std::fs::write(&report, format!("{rows} rows\n"));
    watchpost::capture_message_with(
        "nightly report written",
        Level::Info,
        CaptureOptions::new().attachment(Attachment::path(report)),
    );
    Ok(rows)
}
