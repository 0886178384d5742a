//! `metrics.csv`: one line per epoch, `epoch`, the run kind's named columns, `seconds`.

use std::fmt::Debug;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// The figures of one epoch of one kind of run: its columns of `metrics.csv`.
pub trait Figures: Clone + Debug + PartialEq + Serialize + DeserializeOwned {
    /// The column names, in order.
    const COLUMNS: &'static [&'static str];

    /// The values, in [`Figures::COLUMNS`] order.
    fn values(&self) -> Vec<f64>;

    /// The epoch's line on the console (`train MSE 0.01234, test MSE 0.01301`).
    fn line(&self) -> String;
}

/// One epoch's figures and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Figures")]
pub struct EpochRecord<F> {
    /// 1-based epoch number.
    pub epoch: usize,
    /// What the run kind measures.
    #[serde(flatten)]
    pub figures: F,
    /// Wall seconds of the epoch's training steps.
    pub seconds: f64,
}

/// Reads a figure that JSON wrote as `null` (its spelling of NaN, e.g. the discriminator's
/// loss of a run without one) back as NaN: `#[serde(deserialize_with = "nan_if_null")]`.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`nan_if_null`] for a list of figures.
pub fn nans_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let values = Vec::<Option<f64>>::deserialize(d)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// The text of `metrics.csv` for `history`.
pub fn csv<F: Figures>(history: &[EpochRecord<F>]) -> String {
    let mut csv = format!("epoch,{},seconds\n", F::COLUMNS.join(","));
    for r in history {
        csv += &r.epoch.to_string();
        for v in r.figures.values() {
            csv += &format!(",{v:.8}");
        }
        csv += &format!(",{:.3}\n", r.seconds);
    }
    csv
}

/// Writes `<dir>/metrics.csv`.
pub fn write<F: Figures>(dir: &Path, history: &[EpochRecord<F>]) -> Result<(), String> {
    write_atomic(&dir.join("metrics.csv"), csv(history).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Two {
        a: f64,
        b: f64,
    }

    impl Figures for Two {
        const COLUMNS: &'static [&'static str] = &["a", "b"];
        fn values(&self) -> Vec<f64> {
            vec![self.a, self.b]
        }
        fn line(&self) -> String {
            String::new()
        }
    }

    #[test]
    fn the_header_names_every_column_and_each_line_has_one_value_per_column() {
        let r = EpochRecord {
            epoch: 3,
            figures: Two { a: 0.5, b: 0.25 },
            seconds: 1.5,
        };
        assert_eq!(
            csv(std::slice::from_ref(&r)),
            "epoch,a,b,seconds\n3,0.50000000,0.25000000,1.500\n"
        );
        // The record flattens into one JSON object, as a checkpoint stores it.
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"epoch":3,"a":0.5,"b":0.25,"seconds":1.5}"#);
        assert_eq!(serde_json::from_str::<EpochRecord<Two>>(&json).unwrap(), r);
    }
}
