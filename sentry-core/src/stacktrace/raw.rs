//! Walking the stack on the caller's thread: instruction pointers only, no symbols.
//!
//! Very deep stacks (runaway recursion) keep their two ends, as Sentry asks: the innermost
//! [`KEEP_INNER`] frames (where it happened) and the outermost [`KEEP_OUTER`] (how the thread got
//! there). The walk allocates one `Vec` of [`MAX_FRAMES`] and nothing else.

/// Most instruction pointers kept per stack.
pub(crate) const MAX_FRAMES: usize = 128;
/// Of those, how many are kept from the outermost end when the stack is deeper.
pub(crate) const KEEP_OUTER: usize = 28;
/// Of those, how many are kept from the innermost end when the stack is deeper.
pub(crate) const KEEP_INNER: usize = MAX_FRAMES - KEEP_OUTER;

/// Instruction pointers, innermost (the walker itself) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ips {
    /// The kept addresses, innermost first.
    pub(crate) ips: Vec<usize>,
    /// How many frames between the two kept ends were left out.
    pub(crate) omitted: usize,
}

/// Walks the current thread's stack. Not inlined, so its own frame is a known `watchpost` one.
///
/// It never waits for the worker: symbol resolution that falls back to `backtrace::resolve` (on
/// the worker) holds the `backtrace` crate's global lock, for 100 ms or more while it loads the
/// binary's debug info, and `backtrace::trace` takes the same lock. On Unix the walk is made
/// without that lock (see [`walk`]).
#[inline(never)]
pub(crate) fn capture_ips() -> Ips {
    let mut stack = DeepStack::new();
    walk(&mut |ip| stack.push(ip));
    stack.finish()
}

/// Calls `push` with each frame's instruction pointer, innermost first.
#[cfg(unix)]
#[inline(always)]
#[allow(unsafe_code)] // The one unsafe call in the crate; see the SAFETY note.
fn walk(push: &mut dyn FnMut(usize)) {
    // SAFETY: `trace_unsynchronized` is unsafe only because it skips the crate's global lock.
    // On Unix targets `backtrace` walks with the system unwinder (`_Unwind_Backtrace`, in
    // `backtrace/src/backtrace/libunwind.rs`), which is thread-safe and touches none of the
    // crate's shared state; the lock exists for Windows' dbghelp and for the symbol cache,
    // which this walk does not use. The callback only stores integers.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            push(frame.ip().addr());
            true
        });
    }
}

/// Calls `push` with each frame's instruction pointer, innermost first (with the crate's lock:
/// dbghelp on Windows is not thread-safe).
#[cfg(not(unix))]
#[inline(always)]
fn walk(push: &mut dyn FnMut(usize)) {
    backtrace::trace(|frame| {
        push(frame.ip().addr());
        true
    });
}

/// Collects addresses innermost first, keeping both ends of a stack deeper than [`MAX_FRAMES`]:
/// past [`KEEP_INNER`] frames the last [`KEEP_OUTER`] slots become a ring buffer.
#[derive(Debug)]
pub(crate) struct DeepStack {
    ips: Vec<usize>,
    seen: usize,
}

impl DeepStack {
    /// An empty collector with room for [`MAX_FRAMES`].
    pub(crate) fn new() -> Self {
        DeepStack {
            ips: Vec::with_capacity(MAX_FRAMES),
            seen: 0,
        }
    }

    /// Adds the next (one level further out) address; null addresses end some unwinders' walks
    /// and are skipped.
    pub(crate) fn push(&mut self, ip: usize) {
        if ip == 0 {
            return;
        }
        if self.ips.len() < MAX_FRAMES {
            self.ips.push(ip);
        } else {
            let slot = KEEP_INNER + (self.seen - KEEP_INNER) % KEEP_OUTER;
            self.ips[slot] = ip;
        }
        self.seen += 1;
    }

    /// The kept addresses in walk order, and how many were left out.
    pub(crate) fn finish(mut self) -> Ips {
        let omitted = self.seen.saturating_sub(MAX_FRAMES);
        if omitted > 0 {
            // The ring's oldest entry (the innermost of the kept outer frames) sits where the
            // next write would have gone.
            let next = (self.seen - KEEP_INNER) % KEEP_OUTER;
            self.ips[KEEP_INNER..].rotate_left(next);
        }
        Ips {
            ips: self.ips,
            omitted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(depth: usize) -> Ips {
        let mut stack = DeepStack::new();
        (1..=depth).for_each(|ip| stack.push(ip));
        stack.finish()
    }

    #[test]
    fn shallow_stacks_are_kept_whole() {
        let ips = collect(40);
        assert_eq!(ips.ips, (1..=40).collect::<Vec<_>>());
        assert_eq!(ips.omitted, 0);
        assert_eq!(collect(MAX_FRAMES).omitted, 0);
    }

    #[test]
    fn deep_stacks_keep_both_ends() {
        for depth in [MAX_FRAMES + 1, MAX_FRAMES + KEEP_OUTER, 1000, 1013] {
            let ips = collect(depth);
            let mut expected: Vec<usize> = (1..=KEEP_INNER).collect();
            expected.extend(depth - KEEP_OUTER + 1..=depth);
            assert_eq!(ips.ips, expected, "depth {depth}");
            assert_eq!(ips.omitted, depth - MAX_FRAMES);
        }
    }

    #[test]
    fn null_addresses_are_skipped() {
        let mut stack = DeepStack::new();
        [5, 0, 6].into_iter().for_each(|ip| stack.push(ip));
        assert_eq!(stack.finish().ips, vec![5, 6]);
    }

    #[inline(never)]
    fn recurse(depth: usize) -> Ips {
        if depth == 0 {
            return capture_ips();
        }
        std::hint::black_box(recurse(std::hint::black_box(depth - 1)))
    }

    #[test]
    fn a_real_deep_stack_is_truncated() {
        let shallow = recurse(0);
        let deep = recurse(300);
        assert_eq!(deep.ips.len(), MAX_FRAMES);
        assert!(deep.omitted >= 300 + shallow.ips.len() - MAX_FRAMES);
        // Outermost frames (the test harness's thread start) are the same as in a shallow stack.
        assert_eq!(deep.ips.last(), shallow.ips.last());
    }
}
