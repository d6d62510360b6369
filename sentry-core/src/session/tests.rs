use super::aggregate::{Aggregates, Outcome};
use super::application::{abnormal_ends, AppSession};
use super::{EventHealth, Sessions};
use crate::event::{Exception, Mechanism};
use crate::{ClientOptions, Event, Level, SessionMode};
use serde_json::Value;

fn exception(handled: Option<bool>) -> Event {
    let mut exc = Exception::new("panic", "boom");
    if let Some(handled) = handled {
        exc.mechanism = Some(Mechanism::new("panic", handled));
    }
    let mut event = Event::new();
    event.exception.values.push(exc);
    event
}

#[test]
fn events_are_fine_errored_or_crashed() {
    assert_eq!(
        EventHealth::of(&Event::message("hi", Level::Info)),
        EventHealth::Fine
    );
    assert_eq!(
        EventHealth::of(&Event::message("warn", Level::Warning)),
        EventHealth::Fine
    );
    assert_eq!(
        EventHealth::of(&Event::message("bad", Level::Error)),
        EventHealth::Errored
    );
    let mut info_exception = exception(None);
    info_exception.level = Level::Info;
    assert_eq!(EventHealth::of(&info_exception), EventHealth::Errored);
    assert_eq!(
        EventHealth::of(&exception(Some(true))),
        EventHealth::Errored
    );
    assert_eq!(
        EventHealth::of(&exception(Some(false))),
        EventHealth::Crashed
    );
}

#[test]
fn aggregates_count_by_minute_and_leave_zero_counts_out() {
    let mut a = Aggregates::default();
    let minute = 1_764_864_000; // 2025-12-04T16:00:00Z
    a.add(minute + 5, Outcome::Exited);
    a.add(minute + 59, Outcome::Exited);
    a.add(minute + 30, Outcome::Crashed);
    a.add(minute + 61, Outcome::Errored);
    let taken = a.take();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0]["started"], "2025-12-04T16:00:00.000000Z");
    assert_eq!(taken[0]["exited"], 2);
    assert_eq!(taken[0]["crashed"], 1);
    assert!(taken[0].get("errored").is_none());
    assert_eq!(taken[1]["started"], "2025-12-04T16:01:00.000000Z");
    assert_eq!(taken[1]["errored"], 1);
    assert!(a.take().is_empty(), "taking starts afresh");
}

#[test]
fn aggregates_hold_a_bounded_number_of_minutes_and_lose_no_count() {
    let mut a = Aggregates::default();
    for minute in 0..10_000u64 {
        a.add(minute * 60, Outcome::Exited);
    }
    assert_eq!(a.len(), 60);
    let total: u64 = a.take().iter().map(|m| m["exited"].as_u64().unwrap()).sum();
    assert_eq!(total, 10_000);
}

#[test]
fn the_first_error_and_a_crash_are_sent_at_once_and_nothing_after_a_crash() {
    let s = AppSession::open("app@1", "production", None, log::Level::Warn);
    let opening = s.opening_update();
    assert_eq!(opening["init"], true);
    assert_eq!(opening["status"], "ok");
    assert_eq!(opening["attrs"]["release"], "app@1");
    assert!(opening.get("errors").is_none());

    let first = s
        .record(EventHealth::Errored, Some("user-7".into()))
        .expect("the first error is sent");
    assert_eq!(first["errors"], 1);
    assert_eq!(first["status"], "ok");
    assert_eq!(first["init"], false);
    assert_eq!(first["did"], "user-7");
    assert_eq!(first["sid"], opening["sid"]);
    assert!(
        s.record(EventHealth::Errored, None).is_none(),
        "later errors wait"
    );

    let crash = s
        .record(EventHealth::Crashed, None)
        .expect("a crash is sent");
    assert_eq!(crash["status"], "crashed");
    assert_eq!(crash["errors"], 3);
    assert!(crash["duration"].as_f64().is_some());
    assert!(s.record(EventHealth::Errored, None).is_none());
    assert!(s.close().is_none(), "a crashed session stays crashed");
}

#[test]
fn closing_reports_exited_with_the_errors_and_the_duration() {
    let s = AppSession::open("app@1", "staging", None, log::Level::Warn);
    let _ = s.record(EventHealth::Errored, None);
    let _ = s.record(EventHealth::Errored, None);
    let last = s.close().expect("the closing update");
    assert_eq!(last["status"], "exited");
    assert_eq!(last["errors"], 2);
    assert_eq!(last["attrs"]["environment"], "staging");
    assert!(last["duration"].as_f64().is_some_and(|d| d >= 0.0));
    assert!(s.close().is_none(), "closed once");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "watchpost-sessions-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn markers(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn a_run_that_never_closed_is_reported_abnormal_once_its_lock_is_gone() {
    let dir = temp_dir("abnormal");
    let s = AppSession::open("app@1", "production", Some(dir.clone()), log::Level::Warn);
    let sid = s.opening_update()["sid"].clone();
    assert_eq!(markers(&dir), 1);
    assert!(
        abnormal_ends(&dir, log::Level::Warn).is_empty(),
        "a live run's marker is locked"
    );
    assert_eq!(markers(&dir), 1);

    drop(s); // as a killed process: the lock goes, the marker stays
    let ends: Vec<Value> = abnormal_ends(&dir, log::Level::Warn);
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["sid"], sid);
    assert_eq!(ends[0]["status"], "abnormal");
    assert_eq!(ends[0]["init"], false);
    assert_eq!(ends[0]["attrs"]["release"], "app@1");
    assert_eq!(markers(&dir), 0, "reported once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_or_crashed_run_leaves_no_marker() {
    let dir = temp_dir("closed");
    let closed = AppSession::open("app@1", "production", Some(dir.clone()), log::Level::Warn);
    let crashed = AppSession::open("app@1", "production", Some(dir.clone()), log::Level::Warn);
    assert_eq!(markers(&dir), 2);
    let _ = closed.close();
    let _ = crashed.record(EventHealth::Crashed, None);
    crashed.forget_marker_if_ended();
    assert_eq!(markers(&dir), 0);
    drop((closed, crashed));
    assert!(abnormal_ends(&dir, log::Level::Warn).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_marker_that_is_not_ours_is_removed_without_an_update() {
    let dir = temp_dir("garbage");
    std::fs::write(dir.join("junk.json"), b"{\"not\": \"a marker\"}").unwrap();
    std::fs::write(dir.join("notes.txt"), b"left alone").unwrap();
    assert!(abnormal_ends(&dir, log::Level::Trace).is_empty());
    assert!(!dir.join("junk.json").exists());
    assert!(dir.join("notes.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sessions_need_the_option_and_a_release() {
    assert!(Sessions::start(&ClientOptions::new().release("a@1")).is_none());
    assert!(Sessions::start(&ClientOptions::new().auto_session_tracking(true)).is_none());
    let s = Sessions::start(
        &ClientOptions::new()
            .auto_session_tracking(true)
            .release("a@1")
            .session_mode(SessionMode::Request),
    )
    .unwrap();
    assert_eq!(s.mode(), SessionMode::Request);
    assert!(
        s.take_due(true).is_none(),
        "nothing to send in request mode yet"
    );
}

#[test]
fn application_mode_sends_the_opening_update_then_the_closing_one() {
    let s = Sessions::start(
        &ClientOptions::new()
            .auto_session_tracking(true)
            .release("a@1"),
    )
    .unwrap();
    let opening = s.take_due(false).expect("the opening update is due");
    assert_eq!(opening.items().len(), 1);
    assert_eq!(opening.items()[0].ty(), "session");
    assert!(s.take_due(false).is_none());
    s.close();
    let closing = s.take_due(true).unwrap();
    let update = closing.items()[0].payload_json().unwrap();
    assert_eq!(update["status"], "exited");
}

#[test]
fn request_aggregates_go_every_60_seconds_or_when_all_are_asked_for() {
    let s = Sessions::start(
        &ClientOptions::new()
            .auto_session_tracking(true)
            .release("a@1")
            .session_mode(SessionMode::Request),
    )
    .unwrap();
    s.record_request(Outcome::Exited, 1_764_864_000);
    assert!(s.take_due(false).is_none(), "not due yet");
    let earlier = std::time::Instant::now()
        .checked_sub(std::time::Duration::from_secs(61))
        .unwrap();
    *s.last_aggregate.lock().unwrap() = earlier;
    let due = s.take_due(false).expect("due after 60 s");
    let item = due.items()[0].payload_json().unwrap();
    assert_eq!(due.items()[0].ty(), "sessions");
    assert_eq!(item["aggregates"][0]["exited"], 1);
    assert_eq!(item["attrs"]["release"], "a@1");
    s.record_request(Outcome::Crashed, 1_764_864_000);
    assert!(s.take_due(false).is_none(), "the clock starts again");
    assert!(s.take_due(true).is_some());
    assert!(s.take_due(true).is_none(), "nothing left");
}
