//! The background worker: one thread, a bounded queue, and flush that waits at most its timeout.

use super::stats::Stats;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Progress {
    /// (jobs accepted, jobs finished)
    counts: Mutex<(u64, u64)>,
    changed: Condvar,
}

/// A thread that runs jobs from a bounded queue. When the queue is full, `submit` hands the job
/// back at once: the caller never waits.
#[derive(Debug)]
pub(crate) struct Worker<J: Send + 'static> {
    tx: Mutex<Option<SyncSender<J>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    progress: Arc<Progress>,
    stats: Arc<Stats>,
}

impl<J: Send + 'static> Worker<J> {
    /// Starts the thread. `run` is called for each job, in order.
    pub(crate) fn spawn(
        name: &str,
        capacity: usize,
        stats: Arc<Stats>,
        mut run: impl FnMut(J) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<J>(capacity);
        let progress = Arc::new(Progress::default());
        let handle = std::thread::Builder::new().name(name.to_owned()).spawn({
            let progress = progress.clone();
            let stats = stats.clone();
            move || {
                for job in rx {
                    stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    // A panic in a job must not kill the worker (and silently stop delivery).
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(job)));
                    let mut c = progress.counts.lock().unwrap_or_else(PoisonError::into_inner);
                    c.1 += 1;
                    progress.changed.notify_all();
                }
            }
        })?;
        Ok(Worker { tx: Mutex::new(Some(tx)), handle: Mutex::new(Some(handle)), progress, stats })
    }

    /// Queues a job, or returns it when the queue is full or the worker has stopped.
    pub(crate) fn submit(&self, job: J) -> Result<(), J> {
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = tx.as_ref() else { return Err(job) };
        // Count first so a flush that races with this submit waits for the job.
        self.progress.counts.lock().unwrap_or_else(PoisonError::into_inner).0 += 1;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                let mut c = self.progress.counts.lock().unwrap_or_else(PoisonError::into_inner);
                c.0 -= 1;
                self.progress.changed.notify_all();
                Err(job)
            }
        }
    }

    /// Waits until every job queued before the call has run, at most `timeout`.
    /// Returns true when they all ran.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut c = self.progress.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let target = c.0;
        while c.1 < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            c = self.progress.changed.wait_timeout(c, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// Stops taking jobs, lets the queue drain for at most `timeout`, and joins the thread only if
    /// it finished by then (a stuck send never hangs shutdown). Returns true when drained.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let drained = self.flush(timeout);
        self.tx.lock().unwrap_or_else(PoisonError::into_inner).take();
        if drained {
            if let Some(h) = self.handle.lock().unwrap_or_else(PoisonError::into_inner).take() {
                // The queue is empty and the sender gone: the thread is ending now.
                let _ = h.join();
            }
        }
        drained
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn full_queue_hands_the_job_back() {
        let (gate_tx, gate_rx) = channel::<()>();
        let gate = Mutex::new(gate_rx);
        let w = Worker::spawn("t", 2, Arc::default(), move |_: u32| {
            let _ = gate.lock().unwrap().recv();
        })
        .unwrap();
        // One job is taken by the thread (blocked), two fill the queue.
        let mut rejected = 0;
        for i in 0..10 {
            if w.submit(i).is_err() {
                rejected += 1;
            }
        }
        assert!(rejected >= 7, "rejected {rejected}");
        assert!(!w.flush(Duration::from_millis(50)));
        for _ in 0..10 {
            let _ = gate_tx.send(());
        }
        assert!(w.flush(Duration::from_secs(5)));
        assert!(w.shutdown(Duration::from_secs(1)));
        assert!(w.submit(99).is_err());
    }

    #[test]
    fn shutdown_does_not_hang_on_a_stuck_job() {
        let w = Worker::spawn("t", 4, Arc::default(), |_: ()| std::thread::sleep(Duration::from_secs(3))).unwrap();
        w.submit(()).unwrap();
        let start = Instant::now();
        assert!(!w.shutdown(Duration::from_millis(100)));
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
