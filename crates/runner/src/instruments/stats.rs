//! Summaries of a few repeated measurements (seeds, digits, epochs, bench rounds): their mean
//! and their sample standard deviation, the "mean ± sd" of the report's tables, and their
//! median.

/// The mean of `values` (NaN when there are none).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample standard deviation of `values` (divided by n − 1, as NumPy's `std(ddof=1)`);
/// 0 for fewer than two values.
pub fn sample_sd(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// The median of the finite `values` (the mean of the middle two for an even count); `None`
/// if there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn mean_and_sample_sd_by_hand() {
        // 2, 4, 6: mean 4, squared deviations 4 + 0 + 4 over n − 1 = 2: sd 2.
        assert_eq!(mean(&[2.0, 4.0, 6.0]), 4.0);
        assert_eq!(sample_sd(&[2.0, 4.0, 6.0]), 2.0);
        assert_eq!(sample_sd(&[3.0]), 0.0);
        assert!(mean(&[]).is_nan());
    }
}
