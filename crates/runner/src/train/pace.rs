//! Whether an epoch ran slow: the epoch lines of a run say so when one took more than half
//! again the run's median, so a noisy machine, or a regression such as the subnormal slowdown
//! of issue 20 (epochs of `dense2_relu` going 0.09 → 0.52 s after step 700), shows in the log
//! instead of hiding in the figures.

use crate::instruments::stats::median;

/// The fewest earlier epochs whose median a new one is compared with: a run's first epochs
/// also warm caches and page in buffers.
pub const MIN_EPOCHS: usize = 3;

/// How many times the median an epoch may take before it is called slow.
pub const SLOW_FACTOR: f64 = 1.5;

/// The note an epoch line gets when `seconds` is more than [`SLOW_FACTOR`] times the median
/// of the run's `earlier` epochs (at least [`MIN_EPOCHS`] finite ones), else `None`. The
/// earlier epochs are the run's recorded ones: a resumed run's include those timed before
/// it stopped, perhaps on another machine.
///
/// ```
/// # use tp_runner::train::pace::slow_epoch_note;
/// assert_eq!(slow_epoch_note(&[0.09, 0.09, 0.10], 0.12), None);
/// assert_eq!(
///     slow_epoch_note(&[0.09, 0.09, 0.10], 0.19).unwrap(),
///     "slow: 2.1× this run's median epoch (0.09 s), a busy machine or a regression"
/// );
/// ```
pub fn slow_epoch_note(earlier: &[f64], seconds: f64) -> Option<String> {
    if earlier.iter().filter(|s| s.is_finite()).count() < MIN_EPOCHS {
        return None;
    }
    let median = median(earlier)?;
    (median > 0.0 && seconds > SLOW_FACTOR * median).then(|| {
        format!(
            "slow: {:.1}× this run's median epoch ({median:.2} s), a busy machine or a regression",
            seconds / median
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_epoch_over_half_again_the_median_is_slow() {
        // The log of issue 20: dense2_relu's epochs before and after the subnormal slowdown.
        let run = [0.09, 0.09, 0.09, 0.10];
        assert!(slow_epoch_note(&run, 0.135).is_none(), "1.5× is not over");
        assert!(slow_epoch_note(&run, 0.136).is_some());
        assert!(slow_epoch_note(&run, 0.52).unwrap().contains("5.8×"));
        // Too few epochs to have a median worth the name (a NaN is no epoch time).
        assert!(slow_epoch_note(&[0.09, 0.09], 0.52).is_none());
        assert!(slow_epoch_note(&[0.09, f64::NAN, 0.09], 0.52).is_none());
        // A slow spell in the middle does not move the median much.
        let noisy = [0.09, 0.52, 0.09, 0.10, 0.09];
        assert!(slow_epoch_note(&noisy, 0.10).is_none());
        assert!(slow_epoch_note(&noisy, 0.30).is_some());
    }
}
