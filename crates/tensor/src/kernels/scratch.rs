//! Buffers a thread's kernels reuse from call to call, so a call per image or per chunk does
//! not allocate.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Runs `f` with the value in this thread's `cell`, taken out of it for the call and put back
/// after. A task that re-enters (rayon may run another chunk on this thread while a GEMM
/// waits) finds an empty value there and grows its own instead of aliasing this one.
pub(crate) fn with_taken<T: Default, R>(
    cell: &'static LocalKey<RefCell<T>>,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    let mut value = cell.with(RefCell::take);
    let result = f(&mut value);
    cell.with(|c| c.replace(value));
    result
}

/// Grows `buf` to at least `len` values (buffers only grow) and returns its first `len`.
pub(crate) fn grow(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn a_nested_use_gets_its_own_buffer_and_the_outer_one_comes_back() {
        with_taken(&BUF, |outer| {
            grow(outer, 4).fill(1.0);
            with_taken(&BUF, |inner| {
                assert!(inner.is_empty(), "the outer buffer is out")
            });
        });
        BUF.with(|b| assert_eq!(*b.borrow(), vec![1.0; 4]));
        with_taken(&BUF, |buf| assert_eq!(grow(buf, 2), &[1.0, 1.0]));
    }
}
