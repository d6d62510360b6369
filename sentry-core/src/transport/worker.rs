//! The background worker: one thread, a bounded queue, the transport's upkeep between jobs, and
//! flush and shutdown that wait at most their timeout.
//!
//! The queue is a `Mutex<VecDeque>` rather than a channel: dropping the *oldest* job
//! ([`QueueOverflowPolicy::DropOldest`]) and counting the jobs left over when shutdown gives up
//! both need to reach into it. Waiting for work is a `Condvar` wait with a timeout (the
//! `recv_timeout` of a channel) so the upkeep runs when the queue is idle.

use super::stats::{DropReason, Stats};
use super::{debug_log, Transport};
use crate::options::QueueOverflowPolicy;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the worker needs to know of a job besides running it.
pub(crate) trait Job: Send + 'static {
    /// The category it is counted under when the worker drops it.
    fn category(&self) -> &'static str;
}

enum Task<J> {
    Job(J),
    /// A flush marker: everything queued before it has run when the worker reaches it.
    Flush(u64),
}

struct State<J> {
    queue: VecDeque<Task<J>>,
    /// Jobs in `queue` (markers not included).
    jobs: usize,
    /// The id of the last flush marker queued, and of the last one the worker reached.
    flush_queued: u64,
    flush_done: u64,
    closed: bool,
    exited: bool,
    /// The worker is waiting on `work`. A job queued while it is busy needs no wake-up call: it
    /// finds the job when it looks next. Saves the caller a syscall per event in a burst.
    idle: bool,
}

struct Shared<J> {
    state: Mutex<State<J>>,
    /// Signalled when a task is queued or the worker is closed.
    work: Condvar,
    /// Signalled when a flush marker is reached or the thread exits.
    progress: Condvar,
}

impl<J> Shared<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        // The state is plain data; a panic while it was locked leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for `progress` until `done` holds or `deadline` passes; returns the guard and
    /// whether `done` held.
    fn wait_for_progress<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<J>>,
        deadline: Instant,
        done: impl Fn(&State<J>) -> bool,
    ) -> (MutexGuard<'a, State<J>>, bool) {
        while !done(&st) {
            let now = Instant::now();
            if now >= deadline {
                return (st, false);
            }
            st = self
                .progress
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        (st, true)
    }
}

/// A thread that runs jobs from a bounded queue. When the queue is full, `submit` hands a job
/// back at once (the new one or the oldest, per the policy): the caller never waits.
pub(crate) struct Worker<J: Job> {
    shared: Arc<Shared<J>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    capacity: usize,
    policy: QueueOverflowPolicy,
    transport: Arc<dyn Transport>,
    stats: Arc<Stats>,
    debug: bool,
    sends: bool,
}

impl<J: Job> std::fmt::Debug for Worker<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .field("queued", &self.shared.lock().jobs)
            .finish_non_exhaustive()
    }
}

/// How the worker is set up.
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    pub(crate) capacity: usize,
    pub(crate) policy: QueueOverflowPolicy,
    pub(crate) debug: bool,
    /// The jobs send through the transport: this worker runs its upkeep and flush, and stops
    /// its retries when shutdown gives up. False for a worker that only writes to disk.
    pub(crate) sends: bool,
    /// Run after each upkeep (at least every 5 s with the HTTP transport) by a worker that
    /// sends: housekeeping such as releasing idle debug info.
    pub(crate) after_upkeep: Option<fn()>,
    /// Run the thread below the spawning thread's priority (see `thread_priority`).
    pub(crate) lower_priority: bool,
}

impl<J: Job> Worker<J> {
    /// Starts the thread. `run` is called for each job, in order; between jobs, and whenever
    /// the queue is idle for the time it asks, the transport's upkeep runs.
    pub(crate) fn spawn(
        name: &str,
        config: WorkerConfig,
        transport: Arc<dyn Transport>,
        stats: Arc<Stats>,
        run: impl FnMut(J) + Send + 'static,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                jobs: 0,
                flush_queued: 0,
                flush_done: 0,
                closed: false,
                exited: false,
                idle: false,
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let handle = crate::thread_priority::spawn(name, config.lower_priority, {
            let shared = shared.clone();
            let transport = transport.clone();
            let stats = stats.clone();
            let upkeep = config.sends.then_some(Upkeep {
                transport,
                after: config.after_upkeep,
            });
            move || run_loop(&shared, upkeep.as_ref(), &stats, run)
        })?;
        Ok(Worker {
            shared,
            handle: Mutex::new(Some(handle)),
            capacity: config.capacity.max(1),
            policy: config.policy,
            transport,
            stats,
            debug: config.debug,
            sends: config.sends,
        })
    }

    /// Queues a job. When the queue is full, hands back the job that does not fit: the new one
    /// ([`DropNewest`](QueueOverflowPolicy::DropNewest)) or the oldest queued one
    /// ([`DropOldest`](QueueOverflowPolicy::DropOldest)). After shutdown, hands back the new one.
    pub(crate) fn submit(&self, job: J) -> Result<(), J> {
        let mut st = self.shared.lock();
        if st.closed {
            return Err(job);
        }
        let mut evicted = None;
        if st.jobs >= self.capacity {
            match self.policy {
                QueueOverflowPolicy::DropOldest => {
                    // Markers stay: a flush waiting on one must still be answered.
                    if let Some(i) = st.queue.iter().position(|t| matches!(t, Task::Job(_))) {
                        if let Some(Task::Job(old)) = st.queue.remove(i) {
                            st.jobs -= 1;
                            self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                            evicted = Some(old);
                        }
                    }
                }
                _ => return Err(job),
            }
        }
        st.queue.push_back(Task::Job(job));
        st.jobs += 1;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        let wake = st.idle;
        drop(st);
        if wake {
            self.shared.work.notify_one();
        }
        evicted.map_or(Ok(()), Err)
    }

    /// Waits until every job queued before the call has run (and the pending client report has
    /// gone out), at most `timeout`. Returns true when they all ran.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.flush_until(Instant::now() + timeout)
    }

    fn flush_until(&self, deadline: Instant) -> bool {
        let mut st = self.shared.lock();
        if st.exited {
            return st.jobs == 0;
        }
        let id = match st.queue.back() {
            // A marker is already last: waiting for it covers this call too.
            Some(Task::Flush(id)) => *id,
            _ => {
                st.flush_queued += 1;
                let id = st.flush_queued;
                st.queue.push_back(Task::Flush(id));
                self.shared.work.notify_one();
                id
            }
        };
        let (st, _) = self
            .shared
            .wait_for_progress(st, deadline, |st| st.flush_done >= id || st.exited);
        st.flush_done >= id
    }

    /// Stops taking jobs and lets the queue drain for at most `timeout`. When that is not
    /// enough, the transport stops retrying and the jobs still queued are dropped and counted
    /// (`network_error`: they could not be delivered in time). The thread is joined only if it
    /// finished by the deadline, so a stuck send never hangs shutdown. Returns true when drained.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let drained = self.flush_until(deadline);
        let leftover: Vec<J> = {
            let mut st = self.shared.lock();
            st.closed = true;
            let jobs = std::mem::take(&mut st.queue)
                .into_iter()
                .filter_map(|t| match t {
                    Task::Job(j) => Some(j),
                    Task::Flush(_) => None,
                })
                .collect();
            st.jobs = 0;
            jobs
        };
        self.shared.work.notify_all();
        if !leftover.is_empty() {
            let n = leftover.len() as u64;
            self.stats.queue_depth.fetch_sub(n, Ordering::Relaxed);
            for job in &leftover {
                self.stats
                    .record_drop(DropReason::NetworkError, job.category(), 1);
            }
            debug_log!(self.debug, "shutdown timed out: {n} queued events dropped");
        }
        if !drained && self.sends {
            self.transport.close();
        }
        let (st, exited) = self
            .shared
            .wait_for_progress(self.shared.lock(), deadline, |st| st.exited);
        drop(st);
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
        drained
    }
}

/// What the worker does next.
enum Next<J> {
    Task(Task<J>),
    Upkeep,
    Exit,
}

/// The upkeep a sending worker runs: the transport's, then its own housekeeping.
struct Upkeep {
    transport: Arc<dyn Transport>,
    after: Option<fn()>,
}

impl Upkeep {
    /// Runs both; returns how long until the next round.
    fn run(&self) -> Duration {
        let wait = catch_unwind(AssertUnwindSafe(|| self.transport.upkeep()))
            .unwrap_or(Duration::from_secs(1));
        if let Some(after) = self.after {
            let _ = catch_unwind(after);
        }
        wait
    }
}

/// `upkeep`: what this worker runs between jobs and on flush, if it sends.
fn run_loop<J: Job>(
    shared: &Shared<J>,
    upkeep: Option<&Upkeep>,
    stats: &Stats,
    mut run: impl FnMut(J),
) {
    /// Marks the worker exited however the loop ends.
    struct Exited<'a, J>(&'a Shared<J>);
    impl<J> Drop for Exited<'_, J> {
        fn drop(&mut self) {
            self.0.lock().exited = true;
            self.0.progress.notify_all();
        }
    }
    let _exited = Exited(shared);
    // Upkeep right away: envelopes cached by an earlier run start going out.
    let mut next_upkeep = upkeep.map(|_| Instant::now());
    loop {
        match next_step(shared, next_upkeep) {
            Next::Exit => return,
            Next::Task(Task::Job(job)) => {
                stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                let category = job.category();
                // A panic in a job must not kill the worker (and silently stop delivery).
                if catch_unwind(AssertUnwindSafe(|| run(job))).is_err() {
                    stats.record_drop(DropReason::InternalSdkError, category, 1);
                    log::error!(target: "sentry_core", "the Sentry worker panicked while sending an event; it was dropped");
                }
            }
            Next::Task(Task::Flush(id)) => {
                if let Some(u) = upkeep {
                    let _ = catch_unwind(AssertUnwindSafe(|| u.transport.flush()));
                }
                let mut st = shared.lock();
                st.flush_done = st.flush_done.max(id);
                shared.progress.notify_all();
            }
            Next::Upkeep => {}
        }
        if let (Some(u), Some(due)) = (upkeep, next_upkeep) {
            if Instant::now() >= due {
                next_upkeep = Some(Instant::now() + u.run());
            }
        }
    }
}

/// Takes the next task, or waits for one until the upkeep is due (if there is one).
fn next_step<J>(shared: &Shared<J>, next_upkeep: Option<Instant>) -> Next<J> {
    let mut st = shared.lock();
    loop {
        if let Some(task) = st.queue.pop_front() {
            if matches!(task, Task::Job(_)) {
                st.jobs -= 1;
            }
            return Next::Task(task);
        }
        if st.closed {
            return Next::Exit;
        }
        let timeout = match next_upkeep {
            Some(due) => {
                let now = Instant::now();
                if now >= due {
                    return Next::Upkeep;
                }
                Some(due - now)
            }
            None => None,
        };
        // Set and cleared under the lock: a job queued after the checks above sees it set, and
        // the wait releases the lock only once the worker is waiting.
        st.idle = true;
        st = match timeout {
            Some(t) => {
                shared
                    .work
                    .wait_timeout(st, t)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared.work.wait(st).unwrap_or_else(PoisonError::into_inner),
        };
        st.idle = false;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap in a test is the test failing.
mod tests;
