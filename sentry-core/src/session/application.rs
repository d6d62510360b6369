//! The application session: one per run of the process, and the marker files that let the next
//! run report a run that never closed its session as `abnormal`.
//!
//! A marker is `<cache_dir>/sessions/<sid>.json`, written at start and held under an exclusive
//! file lock for the life of the process. The operating system releases the lock however the
//! process ends, so a marker whose lock can be taken belongs to a run that is gone: if it is
//! still there, that run never closed its session. Markers of live processes (two programs
//! sharing a cache directory) stay locked and are left alone.

use super::update::{epoch_secs, Status, Update};
use super::{lock, EventHealth};
use serde_json::{json, Value};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// The most markers of earlier runs read at start.
const MAX_MARKERS: usize = 100;
/// The largest marker read; anything bigger is not ours.
const MAX_MARKER_BYTES: u64 = 4096;

/// The run's session.
#[derive(Debug)]
pub(crate) struct AppSession {
    sid: Uuid,
    release: String,
    environment: String,
    started: SystemTime,
    started_at: Instant,
    state: Mutex<State>,
    marker: Mutex<Option<Marker>>,
}

#[derive(Debug, Default)]
struct State {
    errors: u64,
    did: Option<String>,
    crashed: bool,
    closed: bool,
}

/// The marker file of this run, locked while it exists.
#[derive(Debug)]
struct Marker {
    path: PathBuf,
    // Holds the lock; closing the file releases it.
    _file: File,
}

impl AppSession {
    /// Opens the run's session; with `marker_dir`, writes and locks its marker there (a
    /// failure is logged and the run goes on without one).
    pub(crate) fn open(
        release: &str,
        environment: &str,
        marker_dir: Option<PathBuf>,
        log_level: log::Level,
    ) -> AppSession {
        let session = AppSession {
            sid: Uuid::new_v4(),
            release: release.to_owned(),
            environment: environment.to_owned(),
            started: SystemTime::now(),
            started_at: Instant::now(),
            state: Mutex::new(State::default()),
            marker: Mutex::new(None),
        };
        if let Some(dir) = marker_dir {
            match session.write_marker(&dir) {
                Ok(marker) => *lock(&session.marker) = Some(marker),
                Err(e) => {
                    log::log!(target: "watchpost", log_level, "could not write the session marker in {} ({e}); a run that is killed will not be reported as abnormal", dir.display());
                }
            }
        }
        session
    }

    fn write_marker(&self, dir: &Path) -> std::io::Result<Marker> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.json", self.sid.simple()));
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)?;
        file.try_lock().map_err(std::io::Error::from)?;
        let content = json!({
            "sid": self.sid.hyphenated().to_string(),
            "started": epoch_secs(self.started),
            "release": self.release,
            "environment": self.environment,
        });
        file.write_all(content.to_string().as_bytes())?;
        Ok(Marker { path, _file: file })
    }

    fn update(&self, state: &State, status: Status, init: bool, duration: Option<f64>) -> Value {
        Update {
            sid: self.sid,
            did: state.did.as_deref(),
            init,
            started: self.started,
            status,
            errors: state.errors,
            duration,
            release: &self.release,
            environment: &self.environment,
        }
        .to_json()
    }

    /// The first update: the session started.
    pub(crate) fn opening_update(&self) -> Value {
        self.update(&lock(&self.state), Status::Ok, true, None)
    }

    /// Counts an error of the run; the update to send when the session changed in a way
    /// Sentry must learn now (its first error, a crash). Nothing once it crashed or closed.
    pub(crate) fn record(&self, health: EventHealth, did: Option<String>) -> Option<Value> {
        let mut state = lock(&self.state);
        if state.crashed || state.closed || health == EventHealth::Fine {
            return None;
        }
        state.errors += 1;
        if state.did.is_none() {
            state.did = did;
        }
        if health == EventHealth::Crashed {
            state.crashed = true;
            let duration = self.started_at.elapsed().as_secs_f64();
            return Some(self.update(&state, Status::Crashed, false, Some(duration)));
        }
        (state.errors == 1).then(|| self.update(&state, Status::Ok, false, None))
    }

    /// Ends the session at shutdown: the `exited` update, unless it crashed. The marker goes.
    pub(crate) fn close(&self) -> Option<Value> {
        let update = {
            let mut state = lock(&self.state);
            let update = (!state.crashed && !state.closed).then(|| {
                let duration = self.started_at.elapsed().as_secs_f64();
                self.update(&state, Status::Exited, false, Some(duration))
            });
            state.closed = true;
            update
        };
        self.remove_marker();
        update
    }

    /// Removes the marker once the session has ended (a crash was reported), so the next run
    /// does not report it again as abnormal.
    pub(crate) fn forget_marker_if_ended(&self) {
        let ended = {
            let state = lock(&self.state);
            state.crashed || state.closed
        };
        if ended {
            self.remove_marker();
        }
    }

    fn remove_marker(&self) {
        if let Some(marker) = lock(&self.marker).take() {
            let _ = fs::remove_file(&marker.path);
        }
    }
}

/// The `abnormal` updates of earlier runs whose markers are still in `dir` and no longer
/// locked; their markers are removed.
pub(crate) fn abnormal_ends(dir: &Path, log_level: log::Level) -> Vec<Value> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut updates = Vec::new();
    for entry in entries.flatten().take(MAX_MARKERS) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match read_unlocked(&path) {
            Ok(Some(update)) => {
                updates.push(update);
                let _ = fs::remove_file(&path);
            }
            // A live process holds it.
            Ok(None) => {}
            Err(e) => {
                log::log!(target: "watchpost", log_level, "the session marker {} could not be read ({e}); removed", path.display());
                let _ = fs::remove_file(&path);
            }
        }
    }
    updates
}

/// The `abnormal` update of a marker no process holds; `None` while one does.
fn read_unlocked(path: &Path) -> std::io::Result<Option<Value>> {
    let mut file = File::open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    let mut text = String::new();
    Read::by_ref(&mut file)
        .take(MAX_MARKER_BYTES)
        .read_to_string(&mut text)?;
    let marker: Value = serde_json::from_str(&text)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a session marker");
    let sid: Uuid = marker["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let started = marker["started"].as_u64().ok_or_else(bad)?;
    let started = UNIX_EPOCH + std::time::Duration::from_secs(started);
    let text_of = |key: &str| marker[key].as_str().map(str::to_owned).ok_or_else(bad);
    let (release, environment) = (text_of("release")?, text_of("environment")?);
    let update = Update {
        sid,
        did: None,
        init: false,
        started,
        status: Status::Abnormal,
        errors: 0,
        duration: None,
        release: &release,
        environment: &environment,
    }
    .to_json();
    Ok(Some(update))
}
