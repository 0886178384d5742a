//! How a kernel may use threads, and how to keep the pool ready for them.
//!
//! Kernels split their *outputs* across threads; a reduction is split only into fixed chunks
//! that depend on the shapes, whose partial results are combined in order, so the result is
//! the same bit for bit whatever the thread count. Tests check that by running a kernel inside rayon
//! pools of 1 and 2 threads; `Sequential` exists for callers that already run in parallel
//! (one image per task, say) and for students stepping through a kernel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a kernel may spread its work over rayon's current thread pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Run on the calling thread only.
    Sequential,
    /// Split the output over the threads of the current rayon pool.
    #[default]
    Rayon,
}

/// Idle rounds a spinner spins (a few microseconds) before it starts yielding its core.
const IDLE_SPINS: u32 = 2_000;
/// A spinner that finds no work for this long stops (the region then runs cold): far longer
/// than any gap between a training step's kernels.
const MAX_IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Whether a warm region is running (see [`with_warm_pool`]).
static WARM_REGION: AtomicBool = AtomicBool::new(false);

/// Runs `f` while the pool's other threads wait for work by spinning instead of sleeping.
///
/// A training step is a chain of a few dozen parallel kernels with short sequential stretches
/// between them (the tape's bookkeeping, small ops). A rayon worker that finds no work goes
/// to sleep within microseconds, and waking it for the next kernel costs tens of
/// microseconds on a VM: on the conv autoencoder, a step spent more time on those wake-ups
/// than on its sequential parts. OpenMP's runtimes (and so PyTorch) spin idle threads for
/// the same reason. Here the other workers run a loop that takes any pending rayon job the
/// moment it appears ([`rayon::yield_now`]), until `f` returns (or panics); after a few
/// microseconds without work they yield their core to the OS scheduler on every round, so a
/// machine shared with other processes (tests run side by side) loses nothing to them.
///
/// Called from outside the pool, one worker fewer spins, so that the caller keeps a core.
/// Nothing computed changes: only who waits, and how.
pub fn with_warm_pool<R>(f: impl FnOnce() -> R) -> R {
    /// On drop (even if `f` panics): tells the spinners to stop, and frees the region.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
            WARM_REGION.store(false, Ordering::Release);
        }
    }
    // `TP_NO_WARM` turns it off, to measure the CPU time of the work alone.
    if rayon::current_num_threads() < 2 || std::env::var_os("TP_NO_WARM").is_some() {
        return f();
    }
    // One warm region at a time: a second one (another thread training, or a region inside
    // a task of this pool) would stack its spinners on top of the first's, and each region's
    // caller could end up waiting under the other's spinner. It simply runs cold.
    if WARM_REGION.swap(true, Ordering::AcqRel) {
        return f();
    }
    let stop = Stop(Arc::new(AtomicBool::new(false)));
    let done = Arc::clone(&stop.0);
    let caller = rayon::current_thread_index();
    rayon::spawn_broadcast(move |ctx| {
        let keeps_a_core_free = match caller {
            Some(index) => ctx.index() == index,
            None => ctx.index() + 1 == ctx.num_threads(),
        };
        if keeps_a_core_free {
            return;
        }
        let mut idle_rounds = 0u32;
        let mut last_work = std::time::Instant::now();
        while !done.load(Ordering::Acquire) {
            if rayon::yield_now() == Some(rayon::Yield::Executed) {
                idle_rounds = 0;
                last_work = std::time::Instant::now();
            } else if last_work.elapsed() > MAX_IDLE {
                // Nothing to do for a long while: give the thread back to rayon (a worker that
                // took this job while waiting on other work resumes it).
                return;
            } else if idle_rounds < IDLE_SPINS {
                idle_rounds += 1;
                std::hint::spin_loop();
            } else {
                // Long idle (the caller is in a sequential stretch, or other processes share
                // the cores): offer the core to the scheduler on each round, so spinning never
                // takes it from a thread that has work; on an idle machine this returns at once.
                std::thread::yield_now();
            }
        }
    });
    let result = f();
    drop(stop);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::in_pool;
    use rayon::prelude::*;

    #[test]
    fn work_inside_a_warm_pool_gives_the_cold_results_and_frees_the_region() {
        for threads in [1, 2, 3] {
            let sum = in_pool(threads, || {
                with_warm_pool(|| (0..10_000u64).into_par_iter().map(|x| x * x).sum::<u64>())
            });
            assert_eq!(sum, (0..10_000u64).map(|x| x * x).sum::<u64>());
            // The region is free again afterwards, even when `f` panicked.
            assert!(!WARM_REGION.load(Ordering::Acquire));
            let panicked =
                std::panic::catch_unwind(|| in_pool(threads, || with_warm_pool(|| panic!("f"))));
            assert!(panicked.is_err());
            assert!(
                !WARM_REGION.load(Ordering::Acquire),
                "a panic left the region taken"
            );
        }
        // From outside any pool (the global pool's workers spin).
        let n = with_warm_pool(|| (0..1000u32).into_par_iter().filter(|x| x % 7 == 0).count());
        assert_eq!(n, 143);
    }
}
