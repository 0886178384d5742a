//! How a kernel may use threads, and how to keep the pool ready for them.
//!
//! Kernels split their *outputs* across threads; a reduction is split only into fixed chunks
//! that depend on the shapes, whose partial results are combined in order, so the result is
//! the same bit for bit whatever the thread count. Tests check that by running a kernel inside rayon
//! pools of 1 and 2 threads; `Sequential` exists for callers that already run in parallel
//! (one image per task, say) and for students stepping through a kernel.

#[cfg(feature = "threads")]
use std::sync::Arc;
#[cfg(feature = "threads")]
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
#[cfg(feature = "threads")]
const IDLE_SPINS: u32 = 2_000;
/// A spinner that finds no work for this long stops (the region then runs cold): far longer
/// than any gap between a training step's kernels.
#[cfg(feature = "threads")]
const MAX_IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Whether a warm region is running (see [`with_warm_pool`]).
#[cfg(feature = "threads")]
static WARM_REGION: AtomicBool = AtomicBool::new(false);

/// One thread (no `threads` feature): no pool to keep warm, `f` runs as it is.
#[cfg(not(feature = "threads"))]
pub fn with_warm_pool<R>(f: impl FnOnce() -> R) -> R {
    f()
}

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
#[cfg(feature = "threads")]
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

/// Makes this thread's `f32` arithmetic treat subnormal numbers as zero: a result smaller
/// than `f32::MIN_POSITIVE` (1.2e-38) becomes 0 (flush-to-zero, FTZ), and a subnormal
/// operand is read as 0 (denormals-are-zero, DAZ). Call it on every thread that runs kernels
/// before it runs any: the runner calls it on its main thread and in its pool's
/// `start_handler`, so each worker sets it as it starts.
///
/// Why: x86 cores compute with subnormals in a slow path. Intel's take a microcode assist
/// of about a hundred cycles per operation; the AMD EPYC this was written on runs a
/// vectorized Adam update 1.6× slower on them. Training makes them: Adam's moment
/// `m ← 0.9·m` of a parameter whose gradient is exactly zero (the weights of a dead ReLU
/// unit, or of a pixel that stays blank for a while) falls under 1.2e-38 about 750 steps
/// later, and then sticks at a few times the smallest subnormal `2⁻¹⁴⁹`, since `0.9·k·2⁻¹⁴⁹`
/// rounds back to `k·2⁻¹⁴⁹` for k < 5. After 12 epochs of the dense 784-128-64-128-784
/// model, 8.6% of its optimizer's values were subnormal, and on an Intel Xeon every model
/// with dead units trained 1.7 to 5 times slower per epoch from step 700 on. No value this
/// small changes a result that matters (the weight it moves moves by less than 1e-35), and
/// TensorFlow, XLA and oneDNN set the same two bits on their threads.
///
/// Why here and not in the optimizer (zeroing its moments once they fall under
/// `f32::MIN_POSITIVE`): the flags keep subnormals out of every kernel, the activations and
/// gradients included, with no test in any loop, at the cost of setting them on every thread.
/// Results stay the same for any thread count as long as every thread of the pool has them
/// (a thread without them would compute some chunks of a kernel the IEEE way), which is why
/// the pool sets them in its start handler and not on first use.
///
/// Only `x86_64` needs and gets it (the MXCSR register's FTZ and DAZ bits); elsewhere
/// (aarch64, whose cores handle subnormals at full speed, or wasm32, which has no such mode)
/// it does nothing, and results there keep their subnormals.
///
/// ```
/// use std::hint::black_box;
/// // On a fresh thread, so the test harness's threads keep the IEEE default.
/// std::thread::spawn(|| {
///     let tiny = black_box(f32::MIN_POSITIVE);
///     assert!(black_box(tiny * 0.5) > 0.0); // a subnormal, 5.9e-39
///     tensor::parallel::flush_subnormals();
///     if cfg!(target_arch = "x86_64") {
///         assert_eq!(black_box(tiny * 0.5), 0.0);
///     }
/// })
/// .join()
/// .unwrap();
/// ```
pub fn flush_subnormals() {
    #[cfg(target_arch = "x86_64")]
    {
        /// MXCSR bit 15: results that would be subnormal are written as ±0.
        const FLUSH_TO_ZERO: u32 = 1 << 15;
        /// MXCSR bit 6: subnormal operands are read as ±0.
        const DENORMALS_ARE_ZERO: u32 = 1 << 6;
        let mut mxcsr = 0u32;
        // SAFETY: `stmxcsr` stores the 4-byte MXCSR at the address given, a live local u32,
        // and `ldmxcsr` loads it back with two control bits set (neither pushes nor touches
        // EFLAGS). Every x86-64 CPU has both bits (GCC's crtfastmath.c sets them unchecked
        // there: "All 64-bit targets have SSE and DAZ"), so the load cannot fault. What it
        // changes is how this thread's SSE/AVX arithmetic treats tiny values, and Rust and
        // LLVM assume the IEEE default (the standard library's `_mm_setcsr` docs call
        // changing it undefined behaviour): an expression the compiler folds at build time
        // may keep a subnormal that the same expression at run time flushes to zero. No code
        // of this workspace relies on subnormal results, for memory safety or otherwise;
        // every kernel computes what it would with the tiny values replaced by zeros.
        unsafe {
            std::arch::asm!(
                "stmxcsr [{}]",
                in(reg) &raw mut mxcsr,
                options(nostack, preserves_flags)
            );
            mxcsr |= FLUSH_TO_ZERO | DENORMALS_ARE_ZERO;
            std::arch::asm!(
                "ldmxcsr [{}]",
                in(reg) &raw const mxcsr,
                options(nostack, preserves_flags, readonly)
            );
        }
    }
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
