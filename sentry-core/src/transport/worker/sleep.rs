//! How the worker waits for work: short naps while events keep coming, a deep sleep once they
//! stop.
//!
//! Waking a parked thread is a system call on the capturing thread. While events keep coming,
//! the worker naps instead: it parks for at most [`NAP`] and then looks at the queue by itself,
//! so a capture does not wake it unless [`WAKE_DEPTH`] events are waiting (or a flush asks). A
//! worker that found nothing to do for [`STAY_NAPPING`] sleeps until it is woken (or its
//! upkeep is due), and the first capture after that wakes it. Delivery waits at most one nap.

use super::Shared;
use crate::transport::Job;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

/// The longest a napping worker leaves queued events waiting.
pub(super) const NAP: Duration = Duration::from_millis(10);
/// How long after its last job the worker keeps napping rather than sleeping, by default.
pub(crate) const STAY_NAPPING: Duration = Duration::from_secs(1);
/// Queued events that wake a napping worker at once.
pub(super) const WAKE_DEPTH: usize = 16;

/// The worker runs, or is about to look at the queue again.
pub(super) const AWAKE: u8 = 0;
/// The worker parks for at most [`NAP`].
pub(super) const NAPPING: u8 = 1;
/// The worker parks until it is woken or its upkeep is due.
pub(super) const ASLEEP: u8 = 2;

impl<J: Job> Shared<J> {
    /// Called after queuing a task: wakes a sleeping worker, and a napping one when `urgent`
    /// (a flush, or a queue [`WAKE_DEPTH`] deep). Takes no lock; `unpark` never blocks.
    pub(super) fn wake_worker(&self, urgent: bool) {
        // Pairs with the fence in `park_worker`: either the worker sees the new task, or this
        // sees it parking and decides whether to unpark it.
        fence(Ordering::SeqCst);
        let wake = match self.sleep.load(Ordering::SeqCst) {
            ASLEEP => true,
            NAPPING => urgent,
            _ => false,
        };
        if wake {
            if let Some(t) = self.worker.get() {
                #[cfg(test)]
                self.unparks.fetch_add(1, Ordering::Relaxed);
                t.unpark();
            }
        }
    }
}

/// Parks the worker until a task is queued, shutdown starts, the upkeep is due, or (within
/// the worker's nap time of `last_job`, [`STAY_NAPPING`] by default) one [`NAP`] has passed.
pub(super) fn park_worker<J: Job>(
    shared: &Shared<J>,
    next_upkeep: Option<Instant>,
    last_job: Option<Instant>,
) {
    let napping = last_job.is_some_and(|t| t.elapsed() < shared.nap_for);
    shared
        .sleep
        .store(if napping { NAPPING } else { ASLEEP }, Ordering::SeqCst);
    // Pairs with the fence in `wake_worker`.
    fence(Ordering::SeqCst);
    if shared.queue.is_empty() && !shared.closed.load(Ordering::SeqCst) {
        let now = Instant::now();
        let until_upkeep = next_upkeep.map(|due| due.saturating_duration_since(now));
        let wait = match (napping, until_upkeep) {
            (true, Some(u)) => Some(u.min(NAP)),
            (true, None) => Some(NAP),
            (false, u) => u,
        };
        match wait {
            Some(d) if d.is_zero() => {}
            Some(d) => std::thread::park_timeout(d),
            None => std::thread::park(),
        }
    }
    shared.sleep.store(AWAKE, Ordering::SeqCst);
}
