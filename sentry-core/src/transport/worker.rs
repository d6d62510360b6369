//! The background worker: one thread, a bounded queue, the transport's upkeep between jobs, and
//! flush and shutdown that wait at most their timeout.
//!
//! The queue is lock-free ([`SegQueue`] plus an atomic count for the bound), and a sleeping
//! worker is woken with `unpark` (a busy one naps between batches and is not woken for each
//! event, see `sleep`): a capturing thread never takes a lock the worker holds. That matters
//! because the worker runs at a lower priority (`lower_thread_priority`): a lock it held while
//! the scheduler left it waiting for a CPU would stall every capturing thread behind it.
//!
//! While the queue is deep, a booster thread at the application's priority takes jobs too
//! (see `boost`), so a busy application does not starve delivery.
//!
//! At shutdown the thread that shuts down lends a hand: it starts a drain thread at its own
//! priority that takes jobs from the same queue, so events captured before `main` ends are
//! delivered even when every CPU is busy and the lowered worker gets none. Whatever is still
//! queued at the deadline is counted, and a last client report with those counts is sent in the
//! time reserved for it ([`REPORT_RESERVE`]).

mod boost;
mod sleep;

pub(crate) use sleep::STAY_NAPPING;

use super::stats::{DropReason, Stats};
use super::{debug_log, Transport};
use crate::options::QueueOverflowPolicy;
use crossbeam_queue::SegQueue;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// The part of the shutdown timeout kept for the last client report: a quarter, at most 1 s.
pub(crate) const REPORT_RESERVE: (u32, Duration) = (4, Duration::from_secs(1));

/// What the worker needs to know of a job besides running it.
pub(crate) trait Job: Send + 'static {
    /// The category it is counted under when the worker drops it.
    fn category(&self) -> &'static str;

    /// What it is charged against the queue's memory budget (`WorkerConfig::max_bytes`):
    /// about the memory it holds while it waits.
    fn bytes(&self) -> usize {
        0
    }

    /// Counts it as not delivered, for `reason`: by default one item of its category.
    fn record_drop(&self, stats: &Stats, reason: DropReason) {
        stats.record_drop(reason, self.category(), 1);
    }
}

enum Task<J> {
    Job(J),
    /// A flush marker: everything queued before it has run when a consumer completes it.
    Flush(u64),
}

/// What flush and shutdown wait on; only they and the consumers' progress reports lock it.
#[derive(Default)]
struct Progress {
    flush_done: u64,
    exited: bool,
}

type RunFn<J> = dyn Fn(J) + Send + Sync;

struct Shared<J> {
    queue: SegQueue<Task<J>>,
    /// Jobs in `queue` (markers not included): the bound is checked against it.
    jobs: AtomicUsize,
    /// What the jobs in `queue` are charged (`Job::bytes`), checked against `max_bytes`.
    bytes: AtomicUsize,
    /// Consumers that hold a task they took (or are about to look at the queue).
    busy: AtomicUsize,
    flush_queued: AtomicU64,
    closed: AtomicBool,
    /// Whether the worker runs, naps or sleeps (see `sleep`).
    sleep: AtomicU8,
    nap_for: Duration,
    /// Times a capture or flush unparked the worker.
    #[cfg(test)]
    unparks: AtomicUsize,
    worker: OnceLock<Thread>,
    /// The booster thread, when there is one (see `boost`).
    booster: OnceLock<Thread>,
    /// The booster has looked at a shallow queue and is about to park (or parked).
    booster_idle: AtomicBool,
    progress: Mutex<Progress>,
    /// Signalled when a job or marker is done, a consumer goes idle, or the thread exits.
    progressed: Condvar,
    run: Box<RunFn<J>>,
    stats: Arc<Stats>,
}

impl<J: Job> Shared<J> {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        // Plain data; a panic while it was locked leaves it usable.
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        drop(self.lock());
        self.progressed.notify_all();
    }

    /// Waits for `progressed` until `done` holds or `deadline` passes; true when `done` held.
    fn wait_until(&self, deadline: Instant, done: impl Fn(&Self, &Progress) -> bool) -> bool {
        let mut p = self.lock();
        while !done(self, &p) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            p = self
                .progressed
                .wait_timeout(p, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Takes the next task, counting this consumer busy while it holds one.
    fn take(&self) -> Option<Task<J>> {
        self.busy.fetch_add(1, Ordering::SeqCst);
        match self.queue.pop() {
            Some(task) => {
                if let Task::Job(job) = &task {
                    self.left_queue(job);
                }
                Some(task)
            }
            None => {
                self.done_with_task();
                None
            }
        }
    }

    /// Counts a job that was taken out of the queue.
    fn left_queue(&self, job: &J) {
        self.jobs.fetch_sub(1, Ordering::SeqCst);
        self.bytes.fetch_sub(job.bytes(), Ordering::SeqCst);
        self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }

    fn done_with_task(&self) {
        self.busy.fetch_sub(1, Ordering::SeqCst);
        self.notify();
    }

    /// Runs a task taken with [`take`](Self::take), then counts this consumer free again.
    fn perform(&self, task: Task<J>, upkeep: Option<&Upkeep>) {
        match task {
            Task::Job(job) => {
                let category = job.category();
                // A panic in a job must not kill the consumer (and silently stop delivery).
                if catch_unwind(AssertUnwindSafe(|| (self.run)(job))).is_err() {
                    self.stats
                        .record_drop(DropReason::InternalSdkError, category, 1);
                    log::error!(target: "watchpost", "the Sentry worker panicked while sending an event; it was dropped");
                }
                self.done_with_task();
            }
            Task::Flush(id) => {
                // Done once no other consumer still runs a job taken before this marker.
                self.done_with_task();
                self.wait_until(far_future(), |s, _| s.busy.load(Ordering::SeqCst) == 0);
                if let Some(u) = upkeep {
                    let _ = catch_unwind(AssertUnwindSafe(|| u.transport.flush()));
                }
                let mut p = self.lock();
                p.flush_done = p.flush_done.max(id);
                drop(p);
                self.progressed.notify_all();
            }
        }
    }

    /// Empties the queue after shutdown: jobs are counted (`network_error`: not delivered in
    /// time), flush markers are answered. Returns how many jobs there were.
    fn sweep(&self) -> u64 {
        let mut dropped = 0;
        let mut last_marker = 0;
        while let Some(task) = self.queue.pop() {
            match task {
                Task::Job(job) => {
                    self.left_queue(&job);
                    job.record_drop(&self.stats, DropReason::NetworkError);
                    dropped += 1;
                }
                Task::Flush(id) => last_marker = last_marker.max(id),
            }
        }
        if last_marker > 0 {
            let mut p = self.lock();
            p.flush_done = p.flush_done.max(last_marker);
        }
        self.notify();
        dropped
    }

    /// Nothing queued and nothing running.
    fn drained(&self) -> bool {
        self.jobs.load(Ordering::SeqCst) == 0 && self.busy.load(Ordering::SeqCst) == 0
    }
}

/// A deadline that never comes (for waits that end by progress alone).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365)
}

/// A thread that runs jobs from a bounded queue. When the queue is full, `submit` hands a job
/// back at once (the new one or the oldest, per the policy): the caller never waits.
pub(crate) struct Worker<J: Job> {
    shared: Arc<Shared<J>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    capacity: usize,
    max_bytes: usize,
    policy: QueueOverflowPolicy,
    transport: Arc<dyn Transport>,
    debug: bool,
    sends: bool,
    name: String,
}

impl<J: Job> std::fmt::Debug for Worker<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .field("queued", &self.shared.jobs.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// How the worker is set up.
#[derive(Clone)]
pub(crate) struct WorkerConfig {
    pub(crate) capacity: usize,
    /// The most the queued jobs may be charged in all (`Job::bytes`).
    pub(crate) max_bytes: usize,
    pub(crate) policy: QueueOverflowPolicy,
    pub(crate) debug: bool,
    /// The jobs send through the transport: this worker runs its upkeep and flush, and stops
    /// its retries when shutdown gives up. False for a worker that only writes to disk.
    pub(crate) sends: bool,
    /// Run after each upkeep (at least every 5 s with the HTTP transport) by a worker that
    /// sends: housekeeping such as releasing idle debug info and sending buffered items that
    /// are due. May run on the worker and the booster at once.
    pub(crate) after_upkeep: Option<Housekeeping>,
    /// Run the thread below the spawning thread's priority (see `thread_priority`).
    pub(crate) lower_priority: bool,
    /// How long after its last job the worker naps rather than sleeps (see `sleep`); zero:
    /// it always sleeps until woken.
    pub(crate) nap_for: Duration,
}

impl<J: Job> Worker<J> {
    /// Starts the thread. `run` is called for each job; between jobs, and whenever the queue is
    /// idle for the time it asks, the transport's upkeep runs. `run` may be called from two
    /// threads at once during shutdown (the worker and the drain thread).
    pub(crate) fn spawn(
        name: &str,
        config: WorkerConfig,
        transport: Arc<dyn Transport>,
        stats: Arc<Stats>,
        run: impl Fn(J) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: SegQueue::new(),
            jobs: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            flush_queued: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            sleep: AtomicU8::new(sleep::AWAKE),
            nap_for: config.nap_for,
            #[cfg(test)]
            unparks: AtomicUsize::new(0),
            worker: OnceLock::new(),
            booster: OnceLock::new(),
            booster_idle: AtomicBool::new(false),
            progress: Mutex::new(Progress::default()),
            progressed: Condvar::new(),
            run: Box::new(run),
            stats,
        });
        let upkeep = config.sends.then_some(Upkeep {
            transport: transport.clone(),
            after: config.after_upkeep,
        });
        let handle = crate::thread_priority::spawn(name, config.lower_priority, {
            let shared = shared.clone();
            let upkeep = upkeep.clone();
            move || run_loop(&shared, upkeep.as_ref())
        })?;
        // A lowered sending worker gets a booster at the caller's priority; without one, a
        // busy application would hold back delivery until it went idle.
        if config.lower_priority && config.sends {
            if let Err(e) = boost::spawn(&format!("{name}-boost"), &shared, upkeep) {
                debug_log!(
                    config.debug,
                    "no booster thread ({e}); the worker sends alone"
                );
            }
        }
        let _ = shared.worker.set(handle.thread().clone());
        // The thread may have parked before its handle was known: wake it to look again.
        handle.thread().unpark();
        Ok(Worker {
            shared,
            handle: Mutex::new(Some(handle)),
            capacity: config.capacity.max(1),
            max_bytes: config.max_bytes,
            policy: config.policy,
            transport,
            debug: config.debug,
            sends: config.sends,
            name: name.to_owned(),
        })
    }

    /// Queues a job. When the queue is full, hands back the job that does not fit: the new one
    /// ([`DropNewest`](QueueOverflowPolicy::DropNewest)) or the oldest queued one
    /// ([`DropOldest`](QueueOverflowPolicy::DropOldest)). After shutdown, hands back the new one.
    /// Takes no lock.
    pub(crate) fn submit(&self, job: J) -> Result<(), J> {
        self.submit_with(job, self.policy)
    }

    /// Queues a job only if there is room: never evicts a queued one, whatever the policy.
    pub(crate) fn submit_if_room(&self, job: J) -> Result<(), J> {
        self.submit_with(job, QueueOverflowPolicy::DropNewest)
    }

    fn submit_with(&self, job: J, policy: QueueOverflowPolicy) -> Result<(), J> {
        let s = &*self.shared;
        if s.closed.load(Ordering::SeqCst) {
            return Err(job);
        }
        let mut evicted = None;
        let weight = job.bytes();
        let before = s.jobs.fetch_add(1, Ordering::SeqCst);
        let bytes_before = s.bytes.fetch_add(weight, Ordering::SeqCst);
        // Over either bound; a job alone in the queue always fits.
        let full = before >= self.capacity
            || (before > 0 && bytes_before.saturating_add(weight) > self.max_bytes);
        if full {
            let evict = match policy {
                QueueOverflowPolicy::DropOldest => self.pop_oldest_job(),
                _ => None,
            };
            match evict {
                Some(old) => evicted = Some(old),
                None => {
                    s.jobs.fetch_sub(1, Ordering::SeqCst);
                    s.bytes.fetch_sub(weight, Ordering::SeqCst);
                    return Err(job);
                }
            }
        }
        s.queue.push(Task::Job(job));
        s.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        if s.closed.load(Ordering::SeqCst) {
            // Shutdown closed the queue while this job went in: count it rather than strand it.
            s.sweep();
        }
        s.wake_worker(before + 1 >= sleep::WAKE_DEPTH);
        if before + 1 >= boost::BOOST_DEPTH {
            s.wake_booster();
        }
        evicted.map_or(Ok(()), Err)
    }

    /// Takes the oldest queued job out (its slot is reused by the caller's). Flush markers met
    /// on the way go back to the end of the queue: their flush then waits a little longer, but
    /// still only returns once everything queued before it ran.
    fn pop_oldest_job(&self) -> Option<J> {
        let s = &*self.shared;
        for _ in 0..8 {
            match s.queue.pop()? {
                Task::Job(old) => {
                    s.left_queue(&old);
                    return Some(old);
                }
                marker @ Task::Flush(_) => s.queue.push(marker),
            }
        }
        None
    }

    /// Waits until every job queued before the call has run (and the pending client report has
    /// gone out), at most `timeout`. Returns true when they all ran.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.flush_until(Instant::now() + timeout)
    }

    fn flush_until(&self, deadline: Instant) -> bool {
        let s = &*self.shared;
        if s.lock().exited || s.closed.load(Ordering::SeqCst) {
            return s.drained();
        }
        let id = s.flush_queued.fetch_add(1, Ordering::SeqCst) + 1;
        s.queue.push(Task::Flush(id));
        s.wake_worker(true);
        s.wait_until(deadline, |_, p| p.flush_done >= id || p.exited) && s.lock().flush_done >= id
    }

    /// Waits until `done` holds, checked again after every job and every upkeep round, at most
    /// until `deadline`. True when it held.
    pub(crate) fn wait_for(&self, deadline: Instant, done: impl Fn() -> bool) -> bool {
        self.shared.wait_until(deadline, |_, _| done())
    }

    /// Stops taking jobs once the queue has drained or the deadline nears, and returns true
    /// when it drained. While it waits, a drain thread at the calling thread's priority takes
    /// jobs too. Jobs still queued when the drain time is up are dropped and counted
    /// (`network_error`: they could not be delivered in time); a sending worker then stops the
    /// transport's retries and sends a last client report within the time reserved for it. The
    /// worker thread is joined only if it finished by the deadline, so a stuck send never hangs
    /// shutdown.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let s = &*self.shared;
        let start = Instant::now();
        let deadline = start + timeout;
        let reserve = if self.sends {
            (timeout / REPORT_RESERVE.0).min(REPORT_RESERVE.1)
        } else {
            Duration::ZERO
        };
        let drain_deadline = deadline - reserve;
        if !s.drained() {
            self.start_drain_thread();
        }
        let drained = s.wait_until(drain_deadline, |s, _| s.drained());
        s.closed.store(true, Ordering::SeqCst);
        s.release_booster();
        let left = s.sweep();
        if left > 0 {
            debug_log!(
                self.debug,
                "shutdown timed out: {left} queued events dropped"
            );
        }
        if self.sends {
            if !drained {
                self.transport.close();
            }
            self.send_last_report(deadline);
        }
        if let Some(t) = s.worker.get() {
            t.unpark();
        }
        let exited = s.wait_until(deadline, |_, p| p.exited);
        if !exited {
            debug_log!(
                self.debug,
                "shutdown: the worker is still busy; not waiting for it"
            );
            return false;
        }
        if let Some(h) = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            // The thread has left its loop: this join returns at once.
            let _ = h.join();
        }
        drained && left == 0
    }

    /// A thread at the caller's priority that takes jobs until the queue is empty. Not joined:
    /// it ends by itself, and a send it is stuck in must not hold up the caller.
    fn start_drain_thread(&self) {
        let shared = self.shared.clone();
        let name = format!("{}-drain", self.name);
        let spawned = crate::thread_priority::spawn(&name, false, move || {
            while !shared.closed.load(Ordering::SeqCst) {
                match shared.take() {
                    Some(task) => shared.perform(task, None),
                    None => return,
                }
            }
        });
        if let Err(e) = spawned {
            debug_log!(self.debug, "shutdown: no drain thread ({e})");
        }
    }

    /// Sends the pending client report (with the counts of this shutdown) on a thread of the
    /// caller's priority, waiting for it until `deadline`.
    fn send_last_report(&self, deadline: Instant) {
        let transport = self.transport.clone();
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let spawned = crate::thread_priority::spawn("sentry-last-report", false, {
            let done = done.clone();
            move || {
                let _ = catch_unwind(AssertUnwindSafe(|| transport.flush()));
                *done.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
                done.1.notify_all();
            }
        });
        if spawned.is_err() {
            return;
        }
        let (m, cv) = &*done;
        let mut finished = m.lock().unwrap_or_else(PoisonError::into_inner);
        while !*finished {
            let now = Instant::now();
            if now >= deadline {
                debug_log!(
                    self.debug,
                    "shutdown: the last client report did not finish in time"
                );
                return;
            }
            finished = cv
                .wait_timeout(finished, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// A sending worker's housekeeping, run after each upkeep.
pub(crate) type Housekeeping = Arc<dyn Fn() + Send + Sync>;

/// The upkeep a sending worker runs: the transport's, then its own housekeeping.
#[derive(Clone)]
struct Upkeep {
    transport: Arc<dyn Transport>,
    after: Option<Housekeeping>,
}

impl Upkeep {
    /// Runs both; returns how long until the next round.
    fn run(&self) -> Duration {
        let wait = catch_unwind(AssertUnwindSafe(|| self.transport.upkeep()))
            .unwrap_or(Duration::from_secs(1));
        if let Some(after) = &self.after {
            let _ = catch_unwind(AssertUnwindSafe(|| after()));
        }
        wait
    }
}

/// The worker thread's loop: tasks in order, the upkeep when due, parked when there is nothing
/// to do.
fn run_loop<J: Job>(shared: &Shared<J>, upkeep: Option<&Upkeep>) {
    /// Marks the worker exited however the loop ends.
    struct Exited<'a, J: Job>(&'a Shared<J>);
    impl<J: Job> Drop for Exited<'_, J> {
        fn drop(&mut self) {
            self.0.lock().exited = true;
            self.0.progressed.notify_all();
        }
    }
    let _exited = Exited(shared);
    // Upkeep right away: envelopes cached by an earlier run start going out.
    let mut next_upkeep = upkeep.map(|_| Instant::now());
    let mut last_job = None;
    loop {
        if let Some(task) = shared.take() {
            last_job = Some(Instant::now());
            shared.perform(task, upkeep);
        } else if shared.closed.load(Ordering::SeqCst) {
            return;
        } else {
            sleep::park_worker(shared, next_upkeep, last_job);
        }
        if let (Some(u), Some(due)) = (upkeep, next_upkeep) {
            if Instant::now() >= due {
                next_upkeep = Some(Instant::now() + u.run());
                // A flush may be waiting for the offline cache to empty.
                shared.notify();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests;
