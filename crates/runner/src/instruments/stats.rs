//! Summaries of a few repeated measurements (seeds, digits): their mean and their sample
//! standard deviation, the "mean ± sd" of the report's tables.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd_by_hand() {
        // 2, 4, 6: mean 4, squared deviations 4 + 0 + 4 over n − 1 = 2: sd 2.
        assert_eq!(mean(&[2.0, 4.0, 6.0]), 4.0);
        assert_eq!(sample_sd(&[2.0, 4.0, 6.0]), 2.0);
        assert_eq!(sample_sd(&[3.0]), 0.0);
        assert!(mean(&[]).is_nan());
    }
}
