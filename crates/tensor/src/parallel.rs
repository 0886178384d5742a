//! How a kernel may use threads.
//!
//! Kernels split their *outputs* across threads, never a reduction, so the result is the same
//! bit for bit whatever the thread count. Tests check that by running a kernel inside rayon
//! pools of 1 and 2 threads; `Sequential` exists for callers that already run in parallel
//! (one image per task, say) and for students stepping through a kernel.

/// Whether a kernel may spread its work over rayon's current thread pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Run on the calling thread only.
    Sequential,
    /// Split the output over the threads of the current rayon pool.
    #[default]
    Rayon,
}
