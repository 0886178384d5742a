//! Inpainting: a square hole (black) punched in every input at a random place, the full
//! image as the target; the error inside the holes and outside reported apart, against
//! filling each hole with the mean training image.

use tensor::rng;

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing};
use crate::data::corrupt::{hole_positions, in_hole, punch_holes};
use crate::train::{TEST_HOLE_SEED, TrainConfig, TrainError};
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "inpaint";

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

/// Trains the inpainting model, returns the section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let size = lab.settings.hole;
    let config = TrainConfig {
        hole: Some(size),
        ..lab.config(ModelKind::Conv, lab.settings.latent)
    };
    let n = lab.splits.test.len();
    let clean = lab.splits.test.all_images();
    // The same holes as the run's test inputs (`train::test_inputs_for`).
    let positions = hole_positions(n, size, &mut rng(TEST_HOLE_SEED));
    let masked = punch_holes(&clean, &positions, size).into_data();
    let clean = clean.into_data();
    let run = lab.ensure_config(NAME, "inpaint_conv", config)?;
    let timings = vec![Timing::of(run)];
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
    let results = [
        ("the masked input (black hole)", &masked),
        ("mean training image in the hole", &filled),
        ("the inpainting autoencoder", &out),
    ]
    .map(|(what, images)| {
        (
            what,
            region_mse(images, &clean, &positions, size, true),
            region_mse(images, &clean, &positions, size, false),
        )
    });
    let rows = [
        lab.pick_samples(&masked),
        lab.pick_samples(&out),
        lab.pick_samples(&clean),
    ];
    let figure = lab.save_grid(NAME, "inpainting.png", &rows)?;

    let mut body = String::from("## Inpainting\n\n");
    body += &format!(
        "> Random square holes (size flag) in the input, the full image as target; error \
         inside the holes and outside reported separately, against filling the hole with the \
         mean image.\n\n\
         One {size}×{size} hole per image (`--hole`), at a uniform position inside the image, \
         set to black; a fresh position for every training image from the run's generator, \
         fixed positions for the test set (seed {TEST_HOLE_SEED}). Model: the lab's strided \
         convolutional autoencoder, trained {} on holed inputs against the full images with \
         the MSE.\n\n",
        count(lab.settings.epochs, "epoch"),
    );
    body += &table(
        &["test images", "MSE inside the holes", "MSE outside"],
        &results
            .iter()
            .map(|(w, i, o)| vec![w.to_string(), format!("{i:.5}"), format!("{o:.5}")])
            .collect::<Vec<_>>(),
    );
    let (mean_in, model_in, model_out) = (results[1].1, results[2].1, results[2].2);
    // Exercise 2's model on clean images, when it ran here: what reconstruction alone costs.
    let plain = lab
        .find(super::tp2::NAME, ModelKind::Conv.id())
        .map(|r| r.test_mse());
    body += &format!(
        "\nInside the holes the autoencoder's error is {:.2} times the mean image's ({model_in:.5} \
         against {mean_in:.5}){}.{}\n\n",
        model_in / mean_in,
        if model_in < mean_in {
            ": it fills the hole better than the average digit does"
        } else {
            ": after these epochs it fills the hole no better than the average digit"
        },
        if model_out.is_nan() {
            String::new()
        } else {
            format!(
                " Outside them it pays {model_out:.5}, where the baseline copies the input and \
                 pays none{}",
                match plain {
                    Some(p) => format!(
                        " (the same architecture trained on clean images has a test MSE of \
                         {p:.5})"
                    ),
                    None => String::new(),
                }
            ) + "."
        }
    );
    body += &format!("![masked, inpainted, original]({figure})\n\n");
    body += "*Rows: the holed input, the autoencoder's output, the original.*\n\n";
    Ok(Section { body, timings })
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
}
