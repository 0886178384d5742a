//! Recycled `f32` buffers, so a training step allocates (and page-faults) nothing.
//!
//! A training step builds the same tensors every time: the same activations, the same
//! gradients, the same im2col matrices. Freed with the tape, each of them goes back to the
//! operating system (glibc returns large blocks with `munmap`, and trims the heaps of worker
//! threads), and the next step asks for it again, paying a page fault and a zeroing of every
//! 4 KiB page it touches. Measured on the conv autoencoder before this pool: 39% of the time
//! in the kernel, most of it page faults.
//!
//! So a [`Tensor`](crate::Tensor) hands its buffer back here when it is dropped, and new
//! tensors take one of exactly their length if there is one. The free lists are per thread
//! (no locks; the tape runs on one thread) and bounded ([`MAX_POOLED_BYTES`]), so the pool
//! holds at most about one step's worth of buffers. Small buffers are left to the allocator,
//! which serves them from its own free lists without system calls.
//!
//! Nothing here changes a value: [`take`] returns a buffer whose old contents the caller
//! overwrites entirely, [`zeroed`] one filled with zeros.

use std::cell::RefCell;
use std::collections::HashMap;

/// Buffers shorter than this are not pooled: the allocator serves them without page faults.
pub const MIN_POOLED_LEN: usize = 1024;
/// At most this many bytes wait in one thread's pool; a buffer beyond it is freed.
pub const MAX_POOLED_BYTES: usize = 64 << 20;
/// At most this many buffers of one length wait: a step of the lab's models holds at most
/// about eight tensors of one shape at once (activations, their gradients), and buffers made
/// outside the pool but dropped into it must not pile up until the byte bound.
pub const MAX_PER_LENGTH: usize = 16;

/// One thread's free buffers, by length, and counters for tests and benchmarks.
#[derive(Default)]
struct Pool {
    free: HashMap<usize, Vec<Vec<f32>>>,
    bytes: usize,
    stats: PoolStats,
}

/// What a thread's pool has done since it started (or since [`reset_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Requests served from the pool.
    pub hits: usize,
    /// Requests of a poolable length that had to allocate.
    pub misses: usize,
    /// Buffers of a poolable length filled with one value ([`zeroed`], [`filled`]): each a
    /// pass over memory, which the ops that overwrite their outputs avoid.
    pub fills: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// A buffer of `len` values with unspecified (but initialised) contents, which the caller
/// must overwrite entirely: a recycled one if this thread has one of that length.
pub fn take(len: usize) -> Vec<f32> {
    if len < MIN_POOLED_LEN {
        return vec![0.0; len];
    }
    let reused = POOL.with_borrow_mut(|pool| {
        let found = pool.free.get_mut(&len).and_then(Vec::pop);
        match &found {
            Some(_) => {
                pool.bytes -= len * size_of::<f32>();
                pool.stats.hits += 1;
            }
            None => pool.stats.misses += 1,
        }
        found
    });
    reused.unwrap_or_else(|| vec![0.0; len])
}

/// A buffer of `len` zeros (recycled when possible, so no page fault; still one pass of
/// stores).
pub fn zeroed(len: usize) -> Vec<f32> {
    filled(len, 0.0)
}

/// A buffer of `len` copies of `value` (recycled when possible). Large ones are filled by
/// all threads: a gradient's zeros are a pass over megabytes, once per layer per step.
pub fn filled(len: usize, value: f32) -> Vec<f32> {
    if len >= MIN_POOLED_LEN {
        POOL.with_borrow_mut(|pool| pool.stats.fills += 1);
    }
    let mut buf = take(len);
    crate::kernels::elementwise::in_place_chunks(&mut buf, |chunk| chunk.fill(value));
    buf
}

/// A copy of `values` in a recycled buffer when there is one (large ones copied by all
/// threads).
pub fn copy_of(values: &[f32]) -> Vec<f32> {
    use crate::par::prelude::*;
    let mut buf = take(values.len());
    if values.len() < crate::kernels::elementwise::PARALLEL_THRESHOLD {
        buf.copy_from_slice(values);
    } else {
        buf.par_chunks_mut(COPY_CHUNK)
            .zip(values.par_chunks(COPY_CHUNK))
            .for_each(|(dst, src)| dst.copy_from_slice(src));
    }
    buf
}

/// Values per task when a large copy is split over threads.
const COPY_CHUNK: usize = 1 << 14;

/// Gives a buffer back for a later [`take`] of the same length on this thread.
///
/// Buffers that are short, not full to capacity, or beyond the pool's bounds are freed.
pub fn recycle(buf: Vec<f32>) {
    let len = buf.len();
    if len < MIN_POOLED_LEN || len != buf.capacity() {
        return;
    }
    // `try_with`: a tensor dropped while its thread shuts down frees its buffer normally.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let bytes = len * size_of::<f32>();
        if pool.bytes + bytes <= MAX_POOLED_BYTES {
            let same_length = pool.free.entry(len).or_default();
            if same_length.len() < MAX_PER_LENGTH {
                same_length.push(buf);
                pool.bytes += bytes;
            }
        }
    });
}

/// This thread's counters.
pub fn stats() -> PoolStats {
    POOL.with_borrow(|pool| pool.stats)
}

/// Sets this thread's counters back to zero (the buffers stay).
pub fn reset_stats() {
    POOL.with_borrow_mut(|pool| pool.stats = PoolStats::default());
}

/// Bytes waiting in this thread's pool.
pub fn pooled_bytes() -> usize {
    POOL.with_borrow(|pool| pool.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_is_taken_again_and_zeroed_on_request() {
        std::thread::spawn(|| {
            let len = 4 * MIN_POOLED_LEN;
            let mut first = take(len);
            first.fill(7.0);
            let address = first.as_ptr();
            recycle(first);
            assert_eq!(pooled_bytes(), len * 4);
            let again = zeroed(len);
            assert_eq!(again.as_ptr(), address, "the same buffer comes back");
            assert!(again.iter().all(|&x| x == 0.0), "zeroed means zeros");
            let counted = |hits, misses, fills| PoolStats {
                hits,
                misses,
                fills,
            };
            assert_eq!(stats(), counted(1, 1, 1), "one take, one zeroed");
            // Another length misses; short buffers are not counted at all.
            let _ = take(len + 1);
            let _ = take(3);
            let _ = zeroed(3);
            assert_eq!(stats(), counted(1, 2, 1));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_pool_is_bounded_and_ignores_short_or_partial_buffers() {
        std::thread::spawn(|| {
            recycle(vec![1.0; MIN_POOLED_LEN - 1]);
            let mut partial = Vec::with_capacity(2 * MIN_POOLED_LEN);
            partial.resize(MIN_POOLED_LEN, 1.0);
            recycle(partial);
            assert_eq!(pooled_bytes(), 0);
            let big = MAX_POOLED_BYTES / 4 / 3 + 1;
            for _ in 0..3 {
                recycle(vec![0.0; big]);
            }
            assert_eq!(
                pooled_bytes(),
                2 * big * 4,
                "the third would exceed the bound"
            );
        })
        .join()
        .unwrap();
    }
}
