//! Inpainting: a square hole (black) punched in every input at a random place, the full
//! image as the target; the error inside the holes and outside reported apart, against
//! filling each hole with the mean training image.

use models::ModelKind;
use serde::{Deserialize, Serialize};
use tensor::rng;

use super::{Experiment, Lab, LabInfo, Section, Timing};
use crate::data::corrupt::{hole_positions, in_hole, punch_holes};
use crate::figures::grid::Frame;
use crate::report::markdown::{count, table};
use crate::train::TrainError;
use crate::train::autoencoder::TEST_HOLE_SEED;

/// Inpainting.
pub struct Inpainting;

/// What inpainting measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The side of the square hole, in pixels.
    pub hole: usize,
    /// The holed inputs themselves (black in the hole).
    pub masked: Regions,
    /// The baseline: the input outside the hole, the mean training image inside it.
    pub mean_filled: Regions,
    /// The inpainting autoencoder's outputs.
    pub model: Regions,
    /// The test MSE of the same architecture trained on clean images (exercise 2's strided
    /// conv model), when this process trained it before.
    pub plain: Option<f64>,
    /// The inpainting run's row of the timings table.
    pub timing: Timing,
    /// The grid of holed inputs, outputs and originals.
    pub figure: String,
}

/// The error of some images against the originals, inside the holes and outside them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// MSE per pixel inside the holes.
    pub inside: f64,
    /// MSE per pixel outside them; `None` when the hole covers the whole image.
    pub outside: Option<f64>,
}

/// Mean squared error between `a` and `b` over the pixels of each image inside (`inside`
/// true) or outside its hole.
pub fn region_mse(
    a: &[f32],
    b: &[f32],
    positions: &[(usize, usize)],
    size: usize,
    inside: bool,
) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for ((x, y), &at) in a.chunks_exact(784).zip(b.chunks_exact(784)).zip(positions) {
        for p in 0..784 {
            if in_hole(p, at, size) == inside {
                sum += (x[p] as f64 - y[p] as f64).powi(2);
                n += 1;
            }
        }
    }
    // No pixel on that side (a hole the size of the image): nothing to measure.
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

impl Experiment for Inpainting {
    const NAME: &'static str = "inpaint";
    const ABOUT: &'static str = "Inpainting: square holes filled in, against the mean image";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let size = lab.settings.hole;
        let mut config = lab.config(ModelKind::Conv, lab.settings.latent);
        config.model.corruption.hole = Some(size);
        let n = lab.splits.test.len();
        let clean = lab.splits.test.all_images();
        // The same holes as the run's test inputs (`test_inputs_for`).
        let positions = hole_positions(n, size, &mut rng(TEST_HOLE_SEED));
        let masked = punch_holes(&clean, &positions, size).into_data();
        let clean = clean.into_data();
        let run = lab.ensure_config(Self::NAME, "inpaint_conv", config)?;
        let timing = Timing::of(run);
        let out = run.reconstruct(&masked);
        // The baseline: the input outside the hole, the mean training image inside it.
        let train_n = lab.splits.train.len();
        let mean = lab
            .splits
            .train
            .all_images()
            .reshape(&[train_n, 784])
            .mean_axes(&[0], false);
        let mut filled = masked.clone();
        for (image, &at) in filled.chunks_exact_mut(784).zip(&positions) {
            for (p, v) in image.iter_mut().enumerate() {
                if in_hole(p, at, size) {
                    *v = mean.data()[p];
                }
            }
        }
        let regions = |images: &[f32]| {
            let outside = region_mse(images, &clean, &positions, size, false);
            Regions {
                inside: region_mse(images, &clean, &positions, size, true),
                outside: (!outside.is_nan()).then_some(outside),
            }
        };
        let (masked_r, mean_filled, model) = (regions(&masked), regions(&filled), regions(&out));
        let rows = [
            lab.pick_samples(&masked),
            lab.pick_samples(&out),
            lab.pick_samples(&clean),
        ];
        // The holes framed in the input row: black on a black background, they would not
        // show.
        let mut grid = lab.grid(&rows);
        for (column, &i) in lab.samples.iter().enumerate() {
            grid.frame(Frame {
                row: 0,
                column,
                at: positions[i],
                size: (size, size),
            });
        }
        let figure = lab.save_image_grid(Self::NAME, "inpainting.png", &grid)?;
        // Exercise 2's model on clean images, when it ran here: what reconstruction alone
        // costs.
        let plain = lab.find("tp2", ModelKind::Conv.id()).map(|r| r.test_mse());
        Ok(Results {
            hole: size,
            masked: masked_r,
            mean_filled,
            model,
            plain,
            timing,
            figure,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let size = r.hole;
        let mut body = String::from("## Inpainting\n\n");
        body += &format!(
            "> Random square holes (size flag) in the input, the full image as target; error \
             inside the holes and outside reported separately, against filling the hole with \
             the mean image.\n\n\
             One {size}×{size} hole per image (`--hole`), at a uniform position inside the \
             image, set to black; a fresh position for every training image from the run's \
             generator, fixed positions for the test set (seed {TEST_HOLE_SEED}). Model: the \
             lab's strided convolutional autoencoder, trained {} on holed inputs against the \
             full images with the MSE.\n\n",
            count(lab.epochs, "epoch"),
        );
        let rows = [
            ("the masked input (black hole)", &r.masked),
            ("mean training image in the hole", &r.mean_filled),
            ("the inpainting autoencoder", &r.model),
        ];
        body += &table(
            &["test images", "MSE inside the holes", "MSE outside"],
            &rows
                .iter()
                .map(|(w, m)| {
                    vec![
                        w.to_string(),
                        format!("{:.5}", m.inside),
                        format!("{:.5}", m.outside.unwrap_or(f64::NAN)),
                    ]
                })
                .collect::<Vec<_>>(),
        );
        let (mean_in, model_in) = (r.mean_filled.inside, r.model.inside);
        body += &format!(
            "\nInside the holes the autoencoder's error is {:.2} times the mean image's \
             ({model_in:.5} against {mean_in:.5}){}.{}\n\n",
            model_in / mean_in,
            if model_in < mean_in {
                format!(
                    ": it fills the hole better than the average {} does",
                    lab.dataset.noun
                )
            } else {
                format!(
                    ": after these epochs it fills the hole no better than the average {}",
                    lab.dataset.noun
                )
            },
            match r.model.outside {
                None => String::new(),
                Some(model_out) =>
                    format!(
                        " Outside them it pays {model_out:.5}, where the baseline copies the input \
                     and pays none{}",
                        match r.plain {
                            Some(p) => format!(
                                " (the same architecture trained on clean images has a test MSE \
                             of {p:.5})"
                            ),
                            None => String::new(),
                        }
                    ) + ".",
            }
        );
        body += &format!("![masked, inpainted, original]({})\n\n", r.figure);
        body += "*Rows: the holed input (the hole framed in orange: black on black, it would \
                 not show), the autoencoder's output, the original.*\n\n";
        Section {
            body,
            timings: vec![r.timing.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_inside_and_outside_the_hole_by_hand() {
        // A hole as large as the image leaves nothing outside it.
        assert!(region_mse(&[0.0; 784], &[0.0; 784], &[(0, 0)], 28, false).is_nan());
        // One image, a 1×1 hole at (0, 0): inside, pixel 0 differs by 1; outside, one pixel
        // of 783 differs by 2.
        let mut a = vec![0.0f32; 784];
        let b = vec![0.0f32; 784];
        a[0] = 1.0;
        a[5] = 2.0;
        assert_eq!(region_mse(&a, &b, &[(0, 0)], 1, true), 1.0);
        assert!((region_mse(&a, &b, &[(0, 0)], 1, false) - 4.0 / 783.0).abs() < 1e-12);
    }

    fn results(model_in: f64, outside: Option<f64>, plain: Option<f64>) -> Results {
        let regions = |inside, outside| Regions { inside, outside };
        Results {
            hole: 8,
            masked: regions(0.2, outside.map(|_| 0.0)),
            mean_filled: regions(0.1, outside.map(|_| 0.0)),
            model: regions(model_in, outside),
            plain,
            timing: crate::experiments::tp1::tests::card("inpaint", &[0.01]).timing,
            figure: "inpaint/inpainting.png".into(),
        }
    }

    #[test]
    fn the_verdicts_follow_the_numbers() {
        let lab = crate::experiments::tp1::tests::lab();
        let body = Inpainting::render(&results(0.06, Some(0.009), Some(0.006)), &lab).body;
        assert!(body.contains("0.60 times the mean image's"), "{body}");
        assert!(
            body.contains("better than the average digit does"),
            "{body}"
        );
        assert!(body.contains("Outside them it pays 0.00900"), "{body}");
        assert!(body.contains("has a test MSE of 0.00600)."), "{body}");
        assert!(body.contains("One 8×8 hole") && body.contains("trained 10 epochs"));
        // Flipped: worse than the mean image; exercise 2's model not trained here.
        let body = Inpainting::render(&results(0.12, Some(0.009), None), &lab).body;
        assert!(body.contains("no better than the average digit."), "{body}");
        assert!(body.contains("pays none."), "{body}");
        assert!(!body.contains("clean images"), "{body}");
        // A hole as large as the image: nothing outside to speak of.
        let body = Inpainting::render(&results(0.06, None, Some(0.006)), &lab).body;
        assert!(!body.contains("Outside them"), "{body}");
        assert!(body.contains("| NaN |"), "{body}");
    }
}
