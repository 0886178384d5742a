//! Shapes, strides and NumPy broadcasting.
//!
//! A tensor is contiguous and row-major, so its strides follow from its shape: the last axis
//! has stride 1, and each earlier axis steps over everything after it.

/// Number of elements of a tensor of this shape (1 for a scalar, shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of a contiguous tensor: `strides([2, 3, 4]) == [12, 4, 1]`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

/// The shape two operands broadcast to under NumPy's rules: align the shapes on the right;
/// each pair of sizes must be equal or contain a 1, and the result takes the larger.
///
/// Panics naming `op` and both shapes when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize], op: &str) -> Vec<usize> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, size) in out.iter_mut().enumerate() {
        let da = dim_from_right(a, rank - 1 - i);
        let db = dim_from_right(b, rank - 1 - i);
        *size = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!("{op}: shapes {a:?} and {b:?} do not broadcast"),
        };
    }
    out
}

/// Size of the axis `from_right` places from the end, 1 past the front (how broadcasting
/// pads a shorter shape).
fn dim_from_right(shape: &[usize], from_right: usize) -> usize {
    if from_right < shape.len() {
        shape[shape.len() - 1 - from_right]
    } else {
        1
    }
}

/// Strides that read a tensor of shape `shape` as if it had the (larger) shape `target`:
/// axes that are broadcast (size 1, or missing on the left) get stride 0.
pub fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<usize> {
    assert!(
        shape.len() <= target.len(),
        "broadcast: shape {shape:?} has more axes than {target:?}"
    );
    let own = strides(shape);
    let offset = target.len() - shape.len();
    (0..target.len())
        .map(|axis| {
            if axis < offset || shape[axis - offset] == 1 {
                0
            } else {
                assert_eq!(
                    shape[axis - offset],
                    target[axis],
                    "broadcast: shape {shape:?} does not broadcast to {target:?}"
                );
                own[axis - offset]
            }
        })
        .collect()
}

/// Calls `f(i, ia, ib)` for every element `i` (row-major) of a tensor of shape `out`, with
/// `ia`, `ib` the offsets given by the strides `sa`, `sb` (from [`broadcast_strides`]).
///
/// The innermost axis runs as a plain loop, so the common cases (a bias along the last
/// axis, a scalar) cost one multiply-add per element.
pub fn for_each_broadcast(
    out: &[usize],
    sa: &[usize],
    sb: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let n = numel(out);
    if n == 0 {
        return;
    }
    if out.is_empty() {
        f(0, 0, 0);
        return;
    }
    let last = out.len() - 1;
    let (inner, ia_step, ib_step) = (out[last], sa[last], sb[last]);
    let mut index = vec![0usize; out.len()];
    let (mut ia, mut ib) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        for j in 0..inner {
            f(i + j, ia + j * ia_step, ib + j * ib_step);
        }
        i += inner;
        // Odometer over the outer axes: bump the last outer axis, carry leftwards.
        let mut axis = last;
        while axis > 0 {
            axis -= 1;
            index[axis] += 1;
            ia += sa[axis];
            ib += sb[axis];
            if index[axis] < out[axis] {
                break;
            }
            ia -= sa[axis] * out[axis];
            ib -= sb[axis] * out[axis];
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[4, 1, 3], &[5, 1], "t"), vec![4, 5, 3]);
        assert_eq!(broadcast_shapes(&[], &[2, 2], "t"), vec![2, 2]);
        assert_eq!(broadcast_strides(&[5, 1], &[4, 5, 3]), vec![0, 1, 0]);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [4] do not broadcast")]
    fn mismatch_names_op_and_shapes() {
        broadcast_shapes(&[2, 3], &[4], "add");
    }

    #[test]
    fn odometer_visits_every_pair() {
        let out = [2, 3];
        let sa = broadcast_strides(&[2, 1], &out);
        let sb = broadcast_strides(&[3], &out);
        let mut seen = vec![];
        for_each_broadcast(&out, &sa, &sb, |i, a, b| seen.push((i, a, b)));
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, 0, 1),
                (2, 0, 2),
                (3, 1, 0),
                (4, 1, 1),
                (5, 1, 2)
            ]
        );
    }
}
