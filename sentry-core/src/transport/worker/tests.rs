use super::*;
use crate::envelope::Envelope;
use crate::error::SendError;
use crate::transport::Sent;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{channel, Receiver};

/// A transport that only counts its upkeep, flush and close calls.
#[derive(Debug, Default)]
struct Upkeep {
    upkeeps: AtomicUsize,
    flushes: AtomicUsize,
    closes: AtomicUsize,
}

impl Transport for Upkeep {
    fn send(&self, _: Envelope) -> Result<Sent, SendError> {
        Ok(Sent { server_id: None })
    }
    fn upkeep(&self) -> Duration {
        self.upkeeps.fetch_add(1, Ordering::SeqCst);
        Duration::from_millis(20)
    }
    fn flush(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
    }
    fn close(&self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Job for u32 {
    fn category(&self) -> &'static str {
        "error"
    }
}

fn config(capacity: usize, policy: QueueOverflowPolicy) -> WorkerConfig {
    WorkerConfig {
        capacity,
        max_bytes: usize::MAX,
        policy,
        debug: false,
        sends: true,
        after_upkeep: None,
        lower_priority: false,
        // Sleep until woken: every test exercises the wake-up path unless it asks for naps.
        nap_for: Duration::ZERO,
    }
}

/// A worker whose jobs each wait for a message on the returned gate; jobs run go to `done`.
fn gated(
    capacity: usize,
    policy: QueueOverflowPolicy,
) -> (
    Worker<u32>,
    std::sync::mpsc::Sender<()>,
    Receiver<u32>,
    Arc<Stats>,
) {
    let (gate_tx, gate_rx) = channel::<()>();
    let (done_tx, done_rx) = channel::<u32>();
    let gate = Mutex::new(gate_rx);
    let stats = Arc::new(Stats::default());
    let w = Worker::spawn(
        "t",
        config(capacity, policy),
        Arc::new(Upkeep::default()),
        stats.clone(),
        move |j: u32| {
            let _ = gate.lock().unwrap().recv();
            let _ = done_tx.send(j);
        },
    )
    .unwrap();
    (w, gate_tx, done_rx, stats)
}

/// Polls `done` until it holds, failing the test after 10 s.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// Waits until the worker has taken every queued job (it then blocks on the gate).
fn wait_until_taken(stats: &Stats) {
    wait_for("the worker to take its job", || {
        stats.snapshot().queue_depth == 0
    });
}

#[test]
fn full_queue_hands_the_new_job_back() {
    let (w, gate, done, stats) = gated(2, QueueOverflowPolicy::DropNewest);
    w.submit(0).unwrap();
    wait_until_taken(&stats);
    let rejected: Vec<u32> = (1..10).filter_map(|i| w.submit(i).err()).collect();
    assert_eq!(rejected, (3..10).collect::<Vec<_>>());
    assert_eq!(stats.snapshot().queue_depth, 2);
    assert!(!w.flush(Duration::from_millis(50)));
    for _ in 0..3 {
        gate.send(()).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert_eq!(done.try_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(stats.snapshot().queue_depth, 0);
    assert!(w.shutdown(Duration::from_secs(1)));
    assert_eq!(w.submit(99), Err(99));
}

#[test]
fn drop_oldest_hands_the_oldest_queued_job_back() {
    let (w, gate, done, stats) = gated(2, QueueOverflowPolicy::DropOldest);
    w.submit(0).unwrap();
    wait_until_taken(&stats);
    w.submit(1).unwrap();
    w.submit(2).unwrap();
    assert_eq!(w.submit(3), Err(1));
    // A job that may only take free room hands itself back and evicts nothing.
    assert_eq!(w.submit_if_room(9), Err(9));
    assert_eq!(w.submit(4), Err(2));
    for _ in 0..3 {
        gate.send(()).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert_eq!(done.try_iter().collect::<Vec<_>>(), vec![0, 3, 4]);
}

#[test]
fn flush_runs_the_transport_flush_after_the_queued_jobs() {
    let t = Arc::new(Upkeep::default());
    let ran = Arc::new(AtomicUsize::new(0));
    let w = Worker::spawn(
        "t",
        config(10, QueueOverflowPolicy::DropNewest),
        t.clone(),
        Arc::default(),
        {
            let ran = ran.clone();
            move |_: u32| {
                std::thread::sleep(Duration::from_millis(20));
                ran.fetch_add(1, Ordering::SeqCst);
            }
        },
    )
    .unwrap();
    for i in 0..5 {
        w.submit(i).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert_eq!(ran.load(Ordering::SeqCst), 5);
    assert_eq!(t.flushes.load(Ordering::SeqCst), 1);
}

#[test]
fn upkeep_runs_while_the_queue_is_idle() {
    let t = Arc::new(Upkeep::default());
    let w = Worker::spawn(
        "t",
        config(10, QueueOverflowPolicy::DropNewest),
        t.clone(),
        Arc::default(),
        |_: u32| {},
    )
    .unwrap();
    // With no job at all, the upkeep keeps running at the interval the transport asks for.
    wait_for("three upkeeps", || t.upkeeps.load(Ordering::SeqCst) >= 3);
    assert!(w.shutdown(Duration::from_secs(1)));
}

#[test]
fn no_job_waits_for_a_wake_up_that_never_comes() {
    // Without upkeep or naps the worker sleeps until woken: a lost wake-up would leave a job
    // unrun.
    let (w, done_rx) = napping(Duration::ZERO);
    for i in 0..2000 {
        // Alternate between a worker that is surely asleep and one that may be busy.
        if i % 2 == 0 {
            std::thread::yield_now();
        }
        w.submit(i).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(i));
    }
    let burst: Vec<u32> = (0..50).collect();
    for &i in &burst {
        w.submit(i).unwrap();
    }
    let got: Vec<u32> = (0..50)
        .map(|_| done_rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    assert_eq!(got, burst);
}

#[test]
fn housekeeping_runs_after_each_upkeep() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    fn count() {
        RUNS.fetch_add(1, Ordering::SeqCst);
    }
    let t = Arc::new(Upkeep::default());
    let w = Worker::spawn(
        "t",
        WorkerConfig {
            after_upkeep: Some(Arc::new(count)),
            ..config(10, QueueOverflowPolicy::DropNewest)
        },
        t.clone(),
        Arc::default(),
        |_: u32| {},
    )
    .unwrap();
    wait_for("three upkeeps", || t.upkeeps.load(Ordering::SeqCst) >= 3);
    assert!(w.shutdown(Duration::from_secs(1)));
    let (runs, upkeeps) = (
        RUNS.load(Ordering::SeqCst),
        t.upkeeps.load(Ordering::SeqCst),
    );
    assert!(
        runs >= 3 && runs == upkeeps,
        "{runs} runs, {upkeeps} upkeeps"
    );
}

#[test]
fn a_worker_that_does_not_send_leaves_the_transport_alone() {
    let t = Arc::new(Upkeep::default());
    let w = Worker::spawn(
        "t",
        WorkerConfig {
            sends: false,
            ..config(10, QueueOverflowPolicy::DropNewest)
        },
        t.clone(),
        Arc::default(),
        |_: u32| std::thread::sleep(Duration::from_millis(400)),
    )
    .unwrap();
    w.submit(1).unwrap();
    w.submit(2).unwrap();
    assert!(w.flush(Duration::from_secs(5)), "its jobs run");
    w.submit(3).unwrap();
    assert!(
        !w.shutdown(Duration::from_millis(100)),
        "job 3 is still running"
    );
    assert_eq!(t.upkeeps.load(Ordering::SeqCst), 0);
    assert_eq!(t.flushes.load(Ordering::SeqCst), 0);
    assert_eq!(t.closes.load(Ordering::SeqCst), 0);
}

#[test]
fn shutdown_does_not_hang_on_a_stuck_job_and_counts_what_was_left() {
    let t = Arc::new(Upkeep::default());
    let stats = Arc::new(Stats::default());
    let w = Worker::spawn(
        "t",
        config(10, QueueOverflowPolicy::DropNewest),
        t.clone(),
        stats.clone(),
        |_: u32| std::thread::sleep(Duration::from_secs(3)),
    )
    .unwrap();
    for i in 0..4 {
        w.submit(i).unwrap();
    }
    let start = Instant::now();
    assert!(!w.shutdown(Duration::from_millis(200)));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(t.closes.load(Ordering::SeqCst), 1);
    let s = stats.snapshot();
    // Job 0 is still running on the worker, job 1 on the drain thread; 2 and 3 were dropped.
    assert_eq!(s.dropped_for(DropReason::NetworkError), 2);
    assert_eq!(s.queue_depth, 0);
}

#[test]
fn a_panicking_job_is_counted_and_the_worker_goes_on() {
    let stats = Arc::new(Stats::default());
    let ran = Arc::new(AtomicUsize::new(0));
    let w = Worker::spawn(
        "t",
        config(10, QueueOverflowPolicy::DropNewest),
        Arc::new(Upkeep::default()),
        stats.clone(),
        {
            let ran = ran.clone();
            move |j: u32| {
                assert!(j != 1, "job 1 panics");
                ran.fetch_add(1, Ordering::SeqCst);
            }
        },
    )
    .unwrap();
    for i in 0..3 {
        w.submit(i).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    assert_eq!(
        stats.snapshot().dropped_for(DropReason::InternalSdkError),
        1
    );
}

#[cfg(target_os = "linux")]
#[test]
fn jobs_run_below_the_spawning_threads_priority_when_asked() {
    use crate::thread_priority::{current_nice, STEPS};
    let parent = current_nice().unwrap();
    for (lower, expected) in [(true, (parent + STEPS).min(19)), (false, parent)] {
        let (tx, rx) = channel::<Option<i32>>();
        let w = Worker::spawn(
            "t",
            WorkerConfig {
                lower_priority: lower,
                ..config(10, QueueOverflowPolicy::DropNewest)
            },
            Arc::new(Upkeep::default()),
            Arc::default(),
            move |_: u32| {
                let _ = tx.send(current_nice());
            },
        )
        .unwrap();
        w.submit(1).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Some(expected),
            "lower_priority {lower}"
        );
        assert!(w.shutdown(Duration::from_secs(1)));
    }
    assert_eq!(
        current_nice(),
        Some(parent),
        "the spawning thread is untouched"
    );
}

#[test]
fn shutdown_delivers_the_queue_when_the_worker_gets_no_cpu() {
    // The worker is stuck in job 0 (as a lowered worker is when every CPU is busy): the
    // shutting-down thread's drain thread runs the rest.
    let (release_tx, release_rx) = channel::<()>();
    let release = Mutex::new(release_rx);
    let ran_on = Arc::new(Mutex::new(Vec::<(u32, String)>::new()));
    let stats = Arc::new(Stats::default());
    let w = Worker::spawn(
        "sentry-transport",
        config(100, QueueOverflowPolicy::DropNewest),
        Arc::new(Upkeep::default()),
        stats.clone(),
        {
            let ran_on = ran_on.clone();
            move |j: u32| {
                if j == 0 {
                    let _ = release.lock().unwrap().recv();
                }
                let name = std::thread::current().name().unwrap_or("").to_owned();
                ran_on.lock().unwrap().push((j, name));
            }
        },
    )
    .unwrap();
    w.submit(0).unwrap();
    wait_until_taken(&stats);
    for i in 1..=20 {
        w.submit(i).unwrap();
    }
    // Not drained (job 0 still runs), but every queued job ran and none was dropped.
    assert!(!w.shutdown(Duration::from_millis(1500)));
    let ran = ran_on.lock().unwrap().clone();
    assert_eq!(ran.len(), 20, "{ran:?}");
    assert!(
        ran.iter().all(|(_, t)| t == "sentry-transport-drain"),
        "{ran:?}"
    );
    assert_eq!(stats.snapshot().dropped_for(DropReason::NetworkError), 0);
    release_tx.send(()).unwrap();
}

#[test]
fn shutdown_sends_a_last_client_report_after_counting_what_was_left() {
    let t = Arc::new(Upkeep::default());
    let stats = Arc::new(Stats::default());
    let (release_tx, release_rx) = channel::<()>();
    let release = Mutex::new(release_rx);
    let w = Worker::spawn(
        "t",
        config(10, QueueOverflowPolicy::DropNewest),
        t.clone(),
        stats.clone(),
        move |_: u32| {
            let _ = release.lock().unwrap().recv();
        },
    )
    .unwrap();
    for i in 0..5 {
        w.submit(i).unwrap();
    }
    assert!(!w.shutdown(Duration::from_millis(400)));
    // Worker and drain thread each hold one job; three were counted, then reported.
    assert_eq!(stats.snapshot().dropped_for(DropReason::NetworkError), 3);
    assert_eq!(
        t.flushes.load(Ordering::SeqCst),
        1,
        "the last client report"
    );
    drop(release_tx);
}

/// A lowered worker (so with a booster) whose jobs record the name of the thread that ran them.
fn lowered_recording(
    run_extra: impl Fn(&str) + Send + Sync + 'static,
) -> (Worker<u32>, Arc<Mutex<Vec<String>>>) {
    let ran_on = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = config(1_000, QueueOverflowPolicy::DropNewest);
    cfg.lower_priority = true;
    let w = Worker::spawn("t", cfg, Arc::new(Upkeep::default()), Arc::default(), {
        let ran_on = ran_on.clone();
        move |_: u32| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            run_extra(&name);
            ran_on.lock().unwrap().push(name);
        }
    })
    .unwrap();
    (w, ran_on)
}

#[test]
fn a_deep_queue_is_worked_by_the_booster_too() {
    // The worker's first job waits until the booster has run one: without a booster taking
    // jobs from the deep queue, it would wait out its 10 s and the test fails.
    let boosted = Arc::new((Mutex::new(false), Condvar::new()));
    let (w, ran_on) = lowered_recording({
        let boosted = boosted.clone();
        move |thread: &str| {
            let (flag, cv) = &*boosted;
            let mut seen = flag.lock().unwrap();
            if thread == "t-boost" {
                *seen = true;
                cv.notify_all();
            } else {
                let deadline = Instant::now() + Duration::from_secs(10);
                while !*seen && Instant::now() < deadline {
                    seen = cv.wait_timeout(seen, Duration::from_millis(100)).unwrap().0;
                }
            }
        }
    });
    for i in 0..(super::boost::BOOST_DEPTH as u32 + 36) {
        w.submit(i).unwrap();
    }
    assert!(w.flush(Duration::from_secs(20)));
    assert!(*boosted.0.lock().unwrap(), "the booster ran no job");
    let ran_on = ran_on.lock().unwrap();
    assert_eq!(
        ran_on.len(),
        super::boost::BOOST_DEPTH + 36,
        "each job ran once"
    );
    assert!(w.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_shallow_queue_stays_with_the_lowered_worker() {
    let (w, ran_on) = lowered_recording(|_| {});
    for round in 0..20 {
        for i in 0..5 {
            w.submit(round * 5 + i).unwrap();
        }
        assert!(w.flush(Duration::from_secs(10)));
    }
    let ran_on = ran_on.lock().unwrap();
    assert_eq!(ran_on.len(), 100);
    assert!(ran_on.iter().all(|t| t == "t"), "{ran_on:?}");
    assert!(w.shutdown(Duration::from_secs(5)));
}

/// A worker without upkeep that sends jobs' numbers to the returned channel, and naps for
/// `nap_for` after a job.
fn napping(nap_for: Duration) -> (Worker<u32>, Receiver<u32>) {
    let (done_tx, done_rx) = channel::<u32>();
    let w = Worker::spawn(
        "t",
        WorkerConfig {
            nap_for,
            // No upkeep: its timer would wake the worker too.
            sends: false,
            ..config(100, QueueOverflowPolicy::DropNewest)
        },
        Arc::new(Upkeep::default()),
        Arc::default(),
        move |j: u32| {
            let _ = done_tx.send(j);
        },
    )
    .unwrap();
    (w, done_rx)
}

/// Submits 100 jobs one by one, each once the worker is parked in `state`; returns how many
/// times a submit unparked it.
fn unparks_for_a_trickle(w: &Worker<u32>, done: &Receiver<u32>, state: u8) -> usize {
    let before = w.shared.unparks.load(Ordering::SeqCst);
    for i in 0..100 {
        wait_for("the worker to park", || {
            w.shared.sleep.load(Ordering::SeqCst) == state
        });
        w.submit(i).unwrap();
        assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(i));
    }
    w.shared.unparks.load(Ordering::SeqCst) - before
}

#[test]
fn a_napping_worker_takes_a_trickle_of_jobs_without_being_woken_for_each() {
    let (w, done) = napping(Duration::from_secs(60));
    // The first job wakes the worker from its sleep; then it naps between jobs.
    w.submit(1000).unwrap();
    assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(1000));
    assert_eq!(unparks_for_a_trickle(&w, &done, super::sleep::NAPPING), 0);
    // A worker without naps sleeps, and is woken for each job.
    let (w, done) = napping(Duration::ZERO);
    assert_eq!(unparks_for_a_trickle(&w, &done, super::sleep::ASLEEP), 100);
}

#[test]
fn a_deep_queue_or_a_flush_wakes_a_napping_worker_at_once() {
    let (w, done) = napping(Duration::from_secs(60));
    w.submit(0).unwrap();
    assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(0));
    let before = w.shared.unparks.load(Ordering::Relaxed);
    for i in 1..=super::sleep::WAKE_DEPTH as u32 {
        w.submit(i).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert!(w.shared.unparks.load(Ordering::Relaxed) > before);
}

/// A job charged `.1` bytes.
#[derive(Debug, PartialEq)]
struct Weighted(u32, usize);

impl Job for Weighted {
    fn category(&self) -> &'static str {
        "error"
    }
    fn bytes(&self) -> usize {
        self.1
    }
}

#[test]
fn the_queue_refuses_a_job_over_its_memory_budget_and_frees_what_leaves() {
    let (gate_tx, gate_rx) = channel::<()>();
    let gate = Mutex::new(gate_rx);
    let w = Worker::spawn(
        "t",
        WorkerConfig {
            max_bytes: 1_000,
            ..config(100, QueueOverflowPolicy::DropNewest)
        },
        Arc::new(Upkeep::default()),
        Arc::default(),
        move |_: Weighted| {
            let _ = gate.lock().unwrap().recv();
        },
    )
    .unwrap();
    // The worker takes the first and waits at the gate; the queue then holds 900 bytes.
    w.submit(Weighted(0, 100)).unwrap();
    wait_for("the worker to take job 0", || {
        w.shared.jobs.load(Ordering::SeqCst) == 0
    });
    for i in 1..=3 {
        w.submit(Weighted(i, 300)).unwrap();
    }
    assert_eq!(
        w.submit(Weighted(4, 200)),
        Err(Weighted(4, 200)),
        "over 1,000 bytes"
    );
    assert_eq!(w.shared.bytes.load(Ordering::SeqCst), 900);
    // A small one still fits; once the queue drains, its bytes are free again.
    w.submit(Weighted(5, 100)).unwrap();
    for _ in 0..5 {
        gate_tx.send(()).unwrap();
    }
    assert!(w.flush(Duration::from_secs(5)));
    assert_eq!(w.shared.bytes.load(Ordering::SeqCst), 0);
    // A job larger than the whole budget is accepted into an empty queue.
    gate_tx.send(()).unwrap();
    w.submit(Weighted(6, 5_000)).unwrap();
    assert!(w.flush(Duration::from_secs(5)));
}
