//! Property tests: the IDX reader never panics and never accepts an inconsistent file,
//! whatever the bytes (random streams, and valid files with mutated headers or bodies).

use proptest::prelude::*;
use tp_runner::data::idx::parse;

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(a) = parse(&bytes) {
            prop_assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
        }
    }

    #[test]
    fn a_file_is_accepted_exactly_when_its_header_matches_its_body(
        dims in proptest::collection::vec(prop_oneof![0u32..5, any::<u32>()], 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = idx_bytes(&dims, &body);
        // The file is valid exactly when it has 1 to 4 dimensions whose product is the
        // body's length (no product that large fits the 64-byte bodies drawn here).
        let product = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let valid = (1..=4).contains(&dims.len()) && product == Some(body.len() as u64);
        match parse(&bytes) {
            Ok(a) => {
                prop_assert!(valid, "accepted {:?} with {} bytes", dims, body.len());
                prop_assert_eq!(a.dims.iter().map(|&d| d as u32).collect::<Vec<_>>(), dims);
                prop_assert_eq!(a.data, body);
            }
            Err(e) => prop_assert!(!valid, "refused a valid file: {}", e),
        }
    }

    #[test]
    fn a_mutated_valid_file_is_read_exactly_or_refused(
        n in 1u32..5, h in 1u32..5, w in 1u32..5,
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
        cut in 0usize..3,
    ) {
        let body: Vec<u8> = (0..n * h * w).map(|i| i as u8).collect();
        let mut bytes = idx_bytes(&[n, h, w], &body);
        let at = position.index(bytes.len());
        bytes[at] = value;
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        if let Ok(a) = parse(&bytes) {
            prop_assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
            prop_assert_eq!(bytes.len(), 4 + 4 * a.dims.len() + a.data.len());
        }
    }
}
