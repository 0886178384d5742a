//! Data parallelism behind the `threads` feature (on by default): with it, rayon's parallel
//! iterators and pool queries; without it (the WebAssembly build of the browser page), the
//! same calls on the calling thread, one chunk after the other. Kernels split their work the
//! same way for any number of threads, so both give the same bits.

#[cfg(feature = "threads")]
pub use rayon::{current_num_threads, current_thread_index, prelude};

/// The serial stand-ins for the parallel iterators the kernels use.
#[cfg(not(feature = "threads"))]
pub mod prelude {
    /// `par_chunks` on a slice: its chunks, in order.
    pub trait ParallelSlice<T> {
        /// The slice's `size`-long chunks (the last may be shorter).
        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T>;
    }

    impl<T> ParallelSlice<T> for [T] {
        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T> {
            self.chunks(size)
        }
    }

    /// `par_chunks_mut` and `par_iter_mut` on a slice: its chunks or elements, in order.
    pub trait ParallelSliceMut<T> {
        /// The slice's `size`-long chunks (the last may be shorter), mutable.
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T>;
        /// The slice's elements, mutable.
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T>;
    }

    impl<T> ParallelSliceMut<T> for [T] {
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T> {
            self.chunks_mut(size)
        }
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
            self.iter_mut()
        }
    }

    /// `into_par_iter` on anything iterable: its plain iterator.
    pub trait IntoParallelIterator: IntoIterator + Sized {
        /// The items, in order.
        fn into_par_iter(self) -> Self::IntoIter {
            self.into_iter()
        }
    }

    impl<I: IntoIterator> IntoParallelIterator for I {}

    /// An iterator of known length (what rayon calls indexed).
    pub trait IndexedParallelIterator: ExactSizeIterator {}

    impl<I: ExactSizeIterator> IndexedParallelIterator for I {}
}

/// One thread: the caller's.
#[cfg(not(feature = "threads"))]
pub fn current_num_threads() -> usize {
    1
}

/// Not a pool's worker.
#[cfg(not(feature = "threads"))]
pub fn current_thread_index() -> Option<usize> {
    None
}
