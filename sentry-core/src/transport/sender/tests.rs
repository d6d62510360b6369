use super::upkeep::{MAX_UPKEEP_WAIT, REPORT_INTERVAL};
use super::*;
use crate::transport::ratelimit::MIN_OFFLINE;
use crate::transport::{HttpError, HttpErrorKind, HttpResponse};
use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;

type Answer = Result<HttpResponse, HttpError>;

/// Polls `done` every few milliseconds; panics after 10 s.
fn poll_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the transport no longer presumes the server down (at least `MIN_OFFLINE`).
fn wait_out_the_outage(t: &HttpTransport) {
    poll_until(|| !t.is_offline());
}
/// The headers and body of one request.
type Recorded = (Vec<(&'static str, String)>, Vec<u8>);

/// An HTTP client that plays scripted answers (then `200`) and keeps the requests.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<Recorded>>,
}

impl Scripted {
    fn with(answers: impl IntoIterator<Item = Answer>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().collect()),
            ..Default::default()
        })
    }
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    /// The decoded envelopes received.
    fn envelopes(&self) -> Vec<Envelope> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(headers, body)| {
                let gz = headers
                    .iter()
                    .any(|(k, v)| *k == "Content-Encoding" && v == "gzip");
                let mut raw = Vec::new();
                if gz {
                    flate2::read::GzDecoder::new(body.as_slice())
                        .read_to_end(&mut raw)
                        .unwrap();
                } else {
                    raw.clone_from(body);
                }
                Envelope::parse(&raw).unwrap()
            })
            .collect()
    }
}

impl HttpClient for Scripted {
    fn post(&self, r: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        self.requests
            .lock()
            .unwrap()
            .push((r.headers.to_vec(), r.body.to_vec()));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(status(200)))
    }
}

fn status(code: u16) -> HttpResponse {
    HttpResponse::new(code, Vec::new(), Vec::new())
}

fn with_header(code: u16, k: &str, v: &str) -> HttpResponse {
    HttpResponse::new(code, vec![(k.to_owned(), v.to_owned())], Vec::new())
}

fn refused() -> Answer {
    Err(HttpError::new(
        HttpErrorKind::ConnectionRefused,
        "connection refused",
    ))
}

fn transport(client: Arc<Scripted>, options: ClientOptions) -> (HttpTransport, Arc<Stats>) {
    let dsn: Dsn = "http://public@127.0.0.1:1/1".parse().unwrap();
    let stats = Arc::new(Stats::default());
    (
        HttpTransport::new(&dsn, client, &options, stats.clone()),
        stats,
    )
}

fn event(payload_len: usize) -> Envelope {
    let mut env = Envelope::new();
    env.set_header("event_id", "0123456789abcdef0123456789abcdef");
    env.add_item(EnvelopeItem::new(
        "event",
        format!("{{\"m\":\"{}\"}}", "x".repeat(payload_len)).into_bytes(),
    ));
    env
}

fn with_item(mut env: Envelope, ty: &str) -> Envelope {
    env.add_item(EnvelopeItem::new(ty, b"{}".to_vec()));
    env
}

fn dropped(stats: &Stats, reason: DropReason, category: &str) -> u64 {
    stats
        .snapshot()
        .dropped
        .get(&(reason, category.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_5xx_is_retried_and_delivered_once() {
    let client = Scripted::with([Ok(status(500)), Ok(status(502))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    assert!(t.send(event(10)).is_ok());
    assert_eq!(client.count(), 3);
    let s = stats.snapshot();
    assert_eq!((s.sent, s.retried, s.dropped_total()), (1, 2, 0));
}

#[test]
fn a_5xx_beyond_send_max_attempts_is_a_send_error() {
    let client = Scripted::with((0..5).map(|_| Ok(status(503))));
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(3));
    assert!(matches!(
        t.send(event(10)),
        Err(SendError::Status { status: 503, .. })
    ));
    assert_eq!(client.count(), 3);
    assert_eq!(dropped(&stats, DropReason::SendError, "error"), 1);
    // An answer, even an error, means the server is up: the next send is attempted.
    assert!(t.send(event(10)).is_ok());
}

#[test]
fn retry_after_on_a_5xx_is_honoured() {
    let client = Scripted::with([Ok(with_header(503, "Retry-After", "1"))]);
    let (t, _) = transport(client, ClientOptions::new());
    let start = Instant::now();
    assert!(t.send(event(10)).is_ok());
    assert!(start.elapsed() >= Duration::from_secs(1));
}

#[test]
fn a_413_and_other_4xx_are_never_retried() {
    for code in [400, 403, 413] {
        let client = Scripted::with([Ok(status(code))]);
        let (t, stats) = transport(client.clone(), ClientOptions::new());
        assert!(t.send(event(10)).is_err());
        assert_eq!(client.count(), 1, "{code}");
        assert_eq!(dropped(&stats, DropReason::SendError, "error"), 1, "{code}");
    }
}

#[test]
fn a_429_for_errors_drops_later_events_but_not_other_categories() {
    let client = Scripted::with([Ok(with_header(429, "X-Sentry-Rate-Limits", "60:error:key"))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    assert!(t.send(event(10)).is_err());
    assert!(
        matches!(t.send(event(10)), Err(SendError::RateLimited { retry_after }) if retry_after > 50)
    );
    assert!(t.send(with_item(Envelope::new(), "check_in")).is_ok());
    assert_eq!(
        client.count(),
        2,
        "the 429 is not retried and the limited event never goes out"
    );
    assert_eq!(dropped(&stats, DropReason::RatelimitBackoff, "error"), 2);
    // An envelope with an event and an attachment loses only the event.
    assert!(t.send(with_item(event(10), "attachment")).is_ok());
    let last = client.envelopes().pop().unwrap();
    let types: Vec<_> = last.items().iter().map(|i| i.ty().to_owned()).collect();
    assert_eq!(types, ["attachment", "client_report"]);
}

#[test]
fn a_bare_429_limits_everything() {
    let client = Scripted::with([Ok(status(429))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    assert!(t.send(event(10)).is_err());
    assert!(t.send(with_item(Envelope::new(), "session")).is_err());
    assert_eq!(client.count(), 1);
    assert_eq!(dropped(&stats, DropReason::RatelimitBackoff, "session"), 1);
}

#[test]
fn no_answer_is_retried_then_counted_and_later_sends_wait_out_the_outage() {
    let client = Scripted::with((0..3).map(|_| refused()));
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(3));
    assert!(matches!(t.send(event(10)), Err(SendError::Network(_))));
    assert_eq!(client.count(), 3);
    // Right after, the server is presumed down: no attempt, counted at once.
    assert!(matches!(t.send(event(10)), Err(SendError::Unreachable)));
    assert_eq!(client.count(), 3);
    let s = stats.snapshot();
    assert_eq!((s.retried, s.dropped_for(DropReason::NetworkError)), (2, 2));
    wait_out_the_outage(&t);
    assert!(t.send(event(10)).is_ok());
}

#[test]
fn drops_ride_along_as_a_client_report_and_come_back_if_it_fails() {
    let client = Scripted::with([Ok(status(500))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(1));
    stats.record_drop(DropReason::QueueOverflow, "error", 7);
    assert!(t.send(event(10)).is_err());
    let first = &client.envelopes()[0];
    assert_eq!(first.items()[1].ty(), "client_report");
    // The 500 lost that report: its counts (and the send_error) go out with the next envelope.
    assert!(t.send(event(10)).is_ok());
    let report = client.envelopes()[1].items()[1].payload_json().unwrap();
    let items = report["discarded_events"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["reason"] == "queue_overflow" && i["quantity"] == 7),
        "{report}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["reason"] == "send_error" && i["quantity"] == 1),
        "{report}"
    );
    assert!(!stats.has_unreported());
}

#[test]
fn client_reports_can_be_switched_off() {
    let client = Scripted::with([]);
    let (t, stats) = transport(
        client.clone(),
        ClientOptions::new().send_client_reports(false),
    );
    stats.record_drop(DropReason::SampleRate, "error", 1);
    t.send(event(10)).unwrap();
    t.flush();
    assert_eq!(client.envelopes().len(), 1);
    assert_eq!(client.envelopes()[0].items().len(), 1);
}

#[test]
fn flush_sends_pending_drops_as_a_standalone_client_report() {
    let client = Scripted::with([]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    t.flush();
    assert_eq!(client.count(), 0, "nothing to report");
    stats.record_drop(DropReason::BeforeSend, "error", 2);
    t.flush();
    let envs = client.envelopes();
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0].items().len(), 1);
    assert_eq!(envs[0].items()[0].ty(), "client_report");
    assert_eq!(
        stats.snapshot().sent,
        0,
        "a report on its own is not a sent envelope"
    );
}

#[test]
fn large_bodies_are_gzipped_and_small_ones_are_not() {
    let client = Scripted::with([]);
    let (t, _) = transport(client.clone(), ClientOptions::new());
    // Under and over the 16 KiB threshold.
    t.send(event(10_000)).unwrap();
    t.send(event(20_000)).unwrap();
    let reqs = client.requests.lock().unwrap().clone();
    let gz = |i: usize| {
        reqs[i]
            .0
            .iter()
            .any(|(k, v)| *k == "Content-Encoding" && v == "gzip")
    };
    assert!(!gz(0));
    assert!(gz(1));
    assert!(reqs[1].1.len() < 1000);
    let envs = client.envelopes();
    assert_eq!(
        envs[1].items()[0].payload(),
        event(20_000).items()[0].payload()
    );
    assert!(envs[1].headers().contains_key("sent_at"));
}

#[test]
fn close_cuts_a_retry_backoff_short() {
    let client = Scripted::with([Ok(with_header(503, "Retry-After", "30"))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    let t = Arc::new(t);
    let sender = std::thread::spawn({
        let t = t.clone();
        move || t.send(event(10))
    });
    // Closed once the first attempt was answered: the sender is in (or entering) its backoff.
    poll_until(|| client.count() == 1);
    let start = Instant::now();
    t.close();
    assert!(sender.join().unwrap().is_err());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(client.count(), 1);
    assert_eq!(dropped(&stats, DropReason::SendError, "error"), 1);
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn tempdir(name: &str) -> TempDir {
    let dir =
        std::env::temp_dir().join(format!("sentry-sender-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    TempDir(dir)
}

#[test]
fn with_a_cache_an_unanswered_envelope_is_kept_and_resent_by_upkeep() {
    let dir = tempdir("resend");
    let client = Scripted::with([refused()]);
    let options = ClientOptions::new().send_max_attempts(1).cache_dir(&dir.0);
    let (t, stats) = transport(client.clone(), options);
    assert!(t.send(event(10)).is_err());
    let s = stats.snapshot();
    assert_eq!((s.cached, s.dropped_total()), (1, 0), "kept, not dropped");
    // While the server is presumed down, upkeep waits.
    t.upkeep();
    assert_eq!(client.count(), 1);
    wait_out_the_outage(&t);
    t.upkeep();
    assert_eq!(client.count(), 2);
    let s = stats.snapshot();
    assert_eq!((s.cached, s.sent), (0, 1));
    let resent = &client.envelopes()[1];
    assert_eq!(resent.items()[0].payload(), event(10).items()[0].payload());
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn with_a_cache_an_answered_envelope_is_deleted_even_when_rejected() {
    let dir = tempdir("answered");
    let client = Scripted::with([Ok(status(400))]);
    let (t, stats) = transport(client, ClientOptions::new().cache_dir(&dir.0));
    assert!(t.send(event(10)).is_err());
    assert!(t.send(event(10)).is_ok());
    let s = stats.snapshot();
    assert_eq!(
        (s.cached, s.sent, s.dropped_for(DropReason::SendError)),
        (0, 1, 1)
    );
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn stored_envelopes_wait_for_upkeep_and_are_not_resent_while_rate_limited() {
    let dir = tempdir("limited");
    let client = Scripted::with([Ok(with_header(
        200,
        "X-Sentry-Rate-Limits",
        "60:transaction:key",
    ))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().cache_dir(&dir.0));
    assert!(t.can_store());
    t.store(event(10)).unwrap();
    assert_eq!(client.count(), 0);
    t.upkeep();
    assert_eq!(client.count(), 1);
    t.store(event(10)).unwrap();
    t.upkeep();
    assert_eq!(
        client.count(),
        1,
        "a limit on any category holds the cache back"
    );
    assert_eq!(stats.snapshot().cached, 1);
}

#[test]
fn upkeep_sends_a_due_client_report_on_its_own() {
    let client = Scripted::with([]);
    let (t, stats) = transport(client.clone(), ClientOptions::new());
    stats.record_drop(DropReason::QueueOverflow, "error", 3);
    let wait = t.upkeep();
    assert_eq!(client.count(), 0, "not due yet");
    assert!(wait <= MAX_UPKEEP_WAIT);
    *t.last_report.lock().unwrap() = Instant::now() - REPORT_INTERVAL;
    t.upkeep();
    let envs = client.envelopes();
    assert_eq!(envs.len(), 1);
    let report = envs[0].items()[0].payload_json().unwrap();
    assert_eq!(report["discarded_events"][0]["quantity"], 3);
}

fn timed_out() -> Answer {
    Err(HttpError::new(
        HttpErrorKind::TimedOut,
        "timed out (RecvResponse)",
    ))
}

#[test]
fn a_3xx_is_a_send_error_never_sent_and_never_retried() {
    for code in [301, 302, 303, 307, 308] {
        let redirect = with_header(code, "Location", "http://127.0.0.2:9/elsewhere");
        let client = Scripted::with([Ok(redirect)]);
        let (t, stats) = transport(client.clone(), ClientOptions::new());
        assert!(
            matches!(t.send(event(10)), Err(SendError::Status { status, .. }) if status == code)
        );
        assert_eq!(client.count(), 1, "{code}");
        let s = stats.snapshot();
        assert_eq!((s.sent, s.retried), (0, 0), "{code}");
        assert_eq!(dropped(&stats, DropReason::SendError, "error"), 1, "{code}");
    }
}

#[test]
fn a_timeout_is_not_retried_and_later_sends_wait_out_the_outage() {
    let client = Scripted::with([timed_out(), timed_out()]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(4));
    assert!(matches!(t.send(event(10)), Err(SendError::Network(_))));
    assert_eq!(client.count(), 1, "one attempt only");
    // The next envelope does not wait for another timeout: counted at once.
    assert!(matches!(t.send(event(10)), Err(SendError::Unreachable)));
    assert_eq!(client.count(), 1);
    let s = stats.snapshot();
    assert_eq!((s.retried, s.dropped_for(DropReason::NetworkError)), (0, 2));
}

#[test]
fn a_client_report_on_a_failed_envelope_goes_out_on_its_own_at_the_next_upkeep() {
    let client = Scripted::with([Ok(status(500))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(1));
    stats.record_drop(DropReason::QueueOverflow, "error", 7);
    assert!(t.send(event(10)).is_err());
    assert_eq!(client.envelopes()[0].items()[1].ty(), "client_report");
    assert!(t.upkeep() <= MAX_UPKEEP_WAIT);
    let envs = client.envelopes();
    assert_eq!(envs.len(), 2, "the report was sent again at once");
    assert_eq!(envs[1].items().len(), 1);
    let report = envs[1].items()[0].payload_json().unwrap();
    let quantity = |reason: &str| {
        report["discarded_events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["reason"] == reason)
            .map(|i| i["quantity"].clone())
    };
    assert_eq!(quantity("queue_overflow"), Some(7.into()), "{report}");
    assert_eq!(quantity("send_error"), Some(1.into()), "{report}");
    assert!(!stats.has_unreported());
}

#[test]
fn a_standalone_report_that_fails_waits_for_the_report_interval() {
    let client = Scripted::with([Ok(status(500)), Ok(status(500))]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(1));
    stats.record_drop(DropReason::QueueOverflow, "error", 1);
    assert!(t.send(event(10)).is_err());
    t.upkeep();
    assert_eq!(client.count(), 2, "sent again on its own once");
    t.upkeep();
    assert_eq!(client.count(), 2, "not again at every upkeep");
    assert!(
        stats.has_unreported(),
        "still counted, for the next envelope or interval"
    );
}

#[test]
fn a_due_report_held_back_by_an_outage_waits_for_its_end() {
    let client = Scripted::with([refused()]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(1));
    stats.record_drop(DropReason::QueueOverflow, "error", 1);
    assert!(t.send(event(10)).is_err());
    let wait = t.upkeep();
    assert_eq!(
        client.count(),
        1,
        "nothing is sent while the server is down"
    );
    assert!(
        wait > Duration::ZERO && wait <= MIN_OFFLINE,
        "upkeep waits for the outage to end, without spinning: {wait:?}"
    );
    assert!(stats.has_unreported());
}

#[test]
fn no_text_of_the_transport_shows_the_secret() {
    let dsn: Dsn = "http://public:TOPSECRET@127.0.0.1:1/1".parse().unwrap();
    let client = Scripted::with([
        Ok(HttpResponse::new(
            400,
            vec![(
                "X-Sentry-Error".to_owned(),
                "bad auth: sentry_key=public, sentry_secret=TOPSECRET".to_owned(),
            )],
            Vec::new(),
        )),
        Err(HttpError::new(
            HttpErrorKind::Other,
            "refused; header was sentry_secret=TOPSECRET",
        )
        .with_source(std::io::Error::other("its source names TOPSECRET too"))),
    ]);
    let stats = Arc::new(Stats::default());
    let options = ClientOptions::new().send_max_attempts(1);
    let t = HttpTransport::new(&dsn, client.clone(), &options, stats);
    let first = t.send(event(10)).unwrap_err();
    let second = t.send(event(10)).unwrap_err();
    // The scripted client keeps the requests (and prints them): only the transport is judged.
    let requests = std::mem::take(&mut *client.requests.lock().unwrap());
    for text in [
        first.to_string(),
        format!("{first:?}"),
        second.to_string(),
        format!("{second:?}"),
        crate::transport::error_chain(&second),
        format!("{t:?}"),
    ] {
        assert!(!text.contains("TOPSECRET"), "{text}");
    }
    // The secret does go to the DSN's host, in the header meant for it.
    let (headers, _) = &requests[0];
    assert!(headers
        .iter()
        .any(|(k, v)| *k == "X-Sentry-Auth" && v.ends_with("sentry_secret=TOPSECRET")));
}

fn logs(n: u64) -> Envelope {
    let mut env = Envelope::new();
    env.add_item(
        EnvelopeItem::new("log", vec![b' '; 500])
            .with_header("item_count", n)
            .with_header("content_type", "application/vnd.sentry.items.log+json"),
    );
    env
}

#[test]
fn a_log_item_counts_each_of_its_logs_when_limited_rejected_or_unanswered() {
    let client = Scripted::with([
        Ok(with_header(200, "X-Sentry-Rate-Limits", "60:log_item:key")),
        Ok(status(413)),
    ]);
    let (t, stats) = transport(client.clone(), ClientOptions::new().send_max_attempts(1));
    // Accepted, and from then on `log_item` is limited: the next one never goes out.
    assert!(t.send(logs(100)).is_ok());
    assert!(matches!(
        t.send(logs(40)),
        Err(SendError::RateLimited { .. })
    ));
    assert_eq!(
        dropped(&stats, DropReason::RatelimitBackoff, "log_item"),
        40
    );
    assert_eq!(
        dropped(&stats, DropReason::RatelimitBackoff, "log_byte"),
        500
    );
    // Events are not limited; a rejected envelope counts the logs it carried.
    let client = Scripted::with([Ok(status(413)), refused()]);
    let (t, stats) = transport(client, ClientOptions::new().send_max_attempts(1));
    let mut mixed = logs(7);
    mixed.add_item(EnvelopeItem::new("event", b"{}".to_vec()));
    assert!(t.send(mixed).is_err());
    assert_eq!(dropped(&stats, DropReason::SendError, "log_item"), 7);
    assert_eq!(dropped(&stats, DropReason::SendError, "error"), 1);
    assert!(t.send(logs(9)).is_err());
    assert_eq!(dropped(&stats, DropReason::NetworkError, "log_item"), 9);
    assert_eq!(
        stats.snapshot().dropped_total(),
        17,
        "log_byte is a size, not items"
    );
}
