//! The booster: a second consumer of the worker's queue, at the priority of the thread that
//! started the client, that works only while the queue is deep.
//!
//! The worker runs below the application's priority so that a capturing thread is never
//! preempted by it. While the application keeps every CPU busy, that worker gets almost no CPU
//! and events wait. When [`BOOST_DEPTH`] events are waiting, the capturing thread wakes the
//! booster (one `unpark`, never a lock); it takes jobs from the same queue at the application's
//! priority until the queue is empty, then parks again. A steady trickle of events never wakes
//! it, so the capture latency keeps the lowered worker's advantage; a backlog is delivered at
//! the rate an ordinary thread of the application would get.

use super::{Shared, Upkeep};
use crate::transport::Job;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Waiting events that wake the booster.
pub(crate) const BOOST_DEPTH: usize = 64;

impl<J: Job> Shared<J> {
    /// Wakes the booster if there is one and it is parked. Called after a push that left at
    /// least [`BOOST_DEPTH`] jobs queued.
    pub(super) fn wake_booster(&self) {
        // Pairs with the fence in `run_booster`: either the booster sees the queue deep, or
        // this sees it idle and unparks it.
        fence(Ordering::SeqCst);
        if self.booster_idle.load(Ordering::SeqCst) {
            if let Some(t) = self.booster.get() {
                t.unpark();
            }
        }
    }

    /// Wakes the booster for good: called once the queue is closed, so that it exits.
    pub(super) fn release_booster(&self) {
        if let Some(t) = self.booster.get() {
            t.unpark();
        }
    }
}

/// Starts the booster thread for `shared`, at the calling thread's priority.
pub(super) fn spawn<J: Job>(
    name: &str,
    shared: &Arc<Shared<J>>,
    upkeep: Option<Upkeep>,
) -> std::io::Result<JoinHandle<()>> {
    let handle = crate::thread_priority::spawn(name, false, {
        let shared = shared.clone();
        move || run_booster(&shared, upkeep.as_ref())
    })?;
    let _ = shared.booster.set(handle.thread().clone());
    // It may have parked before its handle was known: wake it to look again.
    handle.thread().unpark();
    Ok(handle)
}

/// Parks until the queue is deep, then drains it; exits once the queue is closed.
fn run_booster<J: Job>(shared: &Shared<J>, upkeep: Option<&Upkeep>) {
    loop {
        shared.booster_idle.store(true, Ordering::SeqCst);
        // Pairs with the fence in `wake_booster`.
        fence(Ordering::SeqCst);
        // A loop: `park` may return without an `unpark`, and the worker may have taken the
        // backlog meanwhile.
        while shared.jobs.load(Ordering::SeqCst) < BOOST_DEPTH
            && !shared.closed.load(Ordering::SeqCst)
        {
            std::thread::park();
        }
        shared.booster_idle.store(false, Ordering::SeqCst);
        while !shared.closed.load(Ordering::SeqCst) {
            match shared.take() {
                Some(task) => shared.perform(task, upkeep),
                None => break,
            }
        }
        if shared.closed.load(Ordering::SeqCst) {
            return;
        }
    }
}
